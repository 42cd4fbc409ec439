"""IntelligentContext: fit a request that outgrows the model's context window (or ``--budget``).

Instead of letting the upstream reject a request that is too long, Headroom makes it fit, in two
steps, each only as far as needed:

1. older tool outputs are compressed harder (lossy, with markers: head, tail and the lines that
   look like errors are kept; the original is in the store);
2. the lowest-value middle turns are moved into the store behind one marker message.

The system prompt, the first user turn and the recent turns are never touched, and a tool call
is never separated from its result: only whole units (a call with its result) move. Messages are
scored by recency, errors and failures, whether later messages refer to their content, and tool
output versus conversation.

Every decision is frozen per conversation (in memory and in the store), and replayed on the next
turns, so the history stays byte-identical until the conversation outgrows the window again. A
fit aims well below the limit (``FIT_TARGET``) so that does not happen on the very next turn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from headroom_cli import here, jsonspan, markers
from headroom_cli.mcp import is_retrieval
from headroom_cli.pipeline import Outcome, part_hash
from headroom_cli.providers import Adapter
from headroom_cli.providers.base import item_role, user_text
# Model facts live in providers/models.py; re-exported here for the callers that import them from here.
from headroom_cli.providers.models import (CONTEXT_WINDOWS, LONG_CONTEXT_BETA, TOKENIZER_MARGIN,  # noqa: F401
                                           context_window)
from headroom_cli.tokens import count_tokens

log = logging.getLogger("headroom.fit")

FIT_TARGET = 0.75  # a fit aims this far below the limit, so the next turns still fit as they are
RECENT_MESSAGES = 6  # the newest messages are never touched
CHARS_PER_TOKEN_FLOOR = 1.5  # a body shorter than limit × this many characters cannot be over

HARD_HEAD, HARD_TAIL, HARD_IMPORTANT = 10, 10, 12  # lines kept by the harder compression
HARD_LONG_LINE = 1_000  # longer lines are omitted (whole, so markers stay line-exact)
HARD_MIN_CHARS = 2_000
_IMPORTANT = re.compile(r"error|fail|fatal|panic|exception|traceback|warning|denied|not found|exit code|assert",
                        re.IGNORECASE)
_REFERENCE = re.compile(r"[\w./-]*[/.][\w./-]+|[A-Za-z_][A-Za-z0-9_]{5,}")


def limit_for(body: dict[str, Any], budget: int | None, beta: str = "") -> int | None:
    """The most input tokens (cl100k) this request may carry: the user's budget, or the model's
    window less the room asked for the reply and a margin for the provider's tokenizer."""
    limits = [budget] if budget else []
    model = body.get("model") if isinstance(body.get("model"), str) else None
    window = context_window(model, beta)
    if window:
        reply = next((body[k] for k in ("max_tokens", "max_completion_tokens", "max_output_tokens")
                      if isinstance(body.get(k), int) and not isinstance(body.get(k), bool)), 0)
        limits.append(int(max(window - reply, window // 4) / TOKENIZER_MARGIN))
    return min(limits) if limits else None


# -- frozen decisions ----------------------------------------------------------------------------

@dataclass
class Move:
    """Messages moved behind one marker message, as decided on one message list."""

    prefix_digest: str  # digest of the message list up to the last removed one, when decided
    removed: list[int]  # indices into that list
    message: str  # the marker message, exactly as inserted at removed[0]
    part_id: str
    tokens: int  # tokens the removed messages had


@dataclass
class FitState:
    hardened: dict[str, str] = field(default_factory=dict)  # part hash of the original → what it became
    moves: list[Move] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"hardened": self.hardened, "moves": [asdict(m) for m in self.moves]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FitState":
        data = json.loads(text)
        return cls(dict(data.get("hardened") or {}), [Move(**m) for m in data.get("moves") or []])

    @property
    def empty(self) -> bool:
        return not self.hardened and not self.moves


class FitMemory:
    """Frozen fit decisions per conversation: in memory, and in the store's database when there is one.
    With a database, every request reads the conversation's state from it: another proxy sharing it
    may have decided since, and its decision must be replayed here too."""

    def __init__(self, path=None, capacity: int = 256):
        self._states: OrderedDict[str, FitState] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._db = None
        if path is not None:
            from headroom_cli.backends import open_database

            try:
                self._db = open_database(path, "fits")
            except Exception as exc:  # the fit still works, only not across restarts
                log.warning("fit decisions kept in memory only: %s: %s", type(exc).__name__, exc)

    def get(self, conversation: str) -> FitState:
        with here.holding(self._lock):  # held by another thread while it waits on the database
            state = self._states.get(conversation)
            if self._db is not None:
                from headroom_cli.backends.postgres import DatabaseUnavailable

                try:
                    with self._db.use() as conn:
                        row = conn.execute("SELECT state FROM context_fits WHERE conversation = ?",
                                           (conversation,)).fetchone()
                    state = FitState.from_json(row[0]) if row else None
                except DatabaseUnavailable:
                    pass  # said once by the database; this process's latest view is replayed meanwhile
            state = state or FitState()
            self._remember(conversation, state)
            return state

    def put(self, conversation: str, state: FitState) -> None:
        import time

        with here.holding(self._lock):
            if self._db is not None:  # first: a decision the database did not take is not replayed here either
                with self._db.use() as conn, conn:
                    conn.execute("INSERT INTO context_fits (conversation, state, updated) VALUES (?, ?, ?) ON CONFLICT"
                                 " (conversation) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                                 (conversation, state.to_json(), time.time()))
            self._remember(conversation, state)

    def _remember(self, conversation: str, state: FitState) -> None:
        self._states[conversation] = state
        self._states.move_to_end(conversation)
        if len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def close(self) -> None:
        if self._db is not None:
            from headroom_cli.backends import release

            db, self._db = self._db, None
            release(db)


# -- the fit ---------------------------------------------------------------------------------------

@dataclass
class FitResult:
    text: str
    outcomes: list[Outcome] = field(default_factory=list)  # what the fit changed, as engine "fit"
    hardened: int = 0  # parts compressed harder, this request (replayed or new)
    moved: int = 0  # messages moved to the store, this request
    decided: bool = False  # a new decision was made (the cache breaks from its first change)
    tokens: int | None = None  # estimated input tokens after the fit, when counted
    limit: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.outcomes)


class Fitter:
    def __init__(self, memory: FitMemory, keep_original: Callable[[str, str, str], None] | None,
                 has_original: Callable[[str], bool] | None = None):
        """``keep_original(part_id, kind, text)`` stores what a fit marker redeems; without it
        nothing is fitted (a marker must never point at nothing). ``has_original(part_id)``: whether
        it is still stored, so a replayed marker whose original was pruned gets it back."""
        self.memory = memory
        self.keep_original = keep_original
        self.has_original = has_original
        self._tokens: OrderedDict[str, int] = OrderedDict()  # text digest → cl100k tokens
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        """cl100k tokens, cached: re-sent messages are counted once."""
        key = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if key in self._tokens:
                self._tokens.move_to_end(key)
                return self._tokens[key]
        n = count_tokens(text)
        with self._lock:
            self._tokens[key] = n
            if len(self._tokens) > 8192:
                self._tokens.popitem(last=False)
        return n

    def fit(self, text: str, body: dict[str, Any], adapter: Adapter, outcomes: list[Outcome], conversation: str,
            limit: int | None) -> FitResult:
        """``text``/``body``: the request as the engines left it; ``outcomes``: one per adapter slot.

        Frozen decisions are replayed first; a new one is made only when the request is still over
        ``limit``. Decisions are kept in the message indices of this (engine-compressed) request,
        which the client's append-only history keeps stable."""
        result = FitResult(text, limit=limit)
        if self.keep_original is None:
            return result
        state = self.memory.get(conversation)
        if state.empty and (limit is None or len(text) < limit * CHARS_PER_TOKEN_FLOOR):
            return result
        key = adapter.items_key
        items = body.get(key)
        if not isinstance(items, list):
            return result
        nodes = _items(jsonspan.index(text, depth=2), key)
        digests = [_digest(text[n.start:n.end]) for n in nodes]
        if not all(_prefix_digest(digests, m.removed) == m.prefix_digest for m in state.moves):
            # The client rewrote its history (compaction, an edit): those moves no longer apply.
            state = FitState(hardened=dict(state.hardened))
        slots = self._slots(body, adapter, key)
        removed = {i for m in state.moves for i in m.removed}
        hard = {i: state.hardened[part_hash(o.original)] for i, ((slot, index), o) in enumerate(zip(slots, outcomes))
                if index not in removed and part_hash(o.original) in state.hardened}
        for n in hard:  # a replayed marker must still be redeemable (the store may have been pruned)
            self._restore(markers.ccr_id(outcomes[n].original), "text", lambda n=n: outcomes[n].original)
        current = self._render(text, adapter, key, hard, state.moves, result)
        if limit is None or len(current) < limit * CHARS_PER_TOKEN_FLOOR:
            result.text = current
            return result
        total = self._total(current, key)
        result.tokens = total
        if total <= limit:
            result.text = current
            return result
        target = int(limit * FIT_TARGET)
        log.info("request of about %s tokens is over the limit of %s: fitting it to %s",
                 f"{total:,}", f"{limit:,}", f"{target:,}")
        head, tail = _protected(items, adapter)
        scores = _scores(items, adapter)
        # Step 1: older tool outputs, lowest value first, compressed harder until under the target.
        total = self._harden_more(slots, outcomes, range(head, tail), scores, removed, hard, state, total, target)
        hardened_text = self._harden(text, adapter, key, hard)
        # Step 2: whole units of the middle, lowest value first, moved behind one marker message.
        if total > target:
            h_nodes = _items(jsonspan.index(hardened_text, depth=2), key)
            sizes = [self.count(hardened_text[n.start:n.end]) for n in h_nodes]
            units = [u for u in _units(items, adapter, head, tail) if not removed.intersection(u)]
            ranked = sorted(units, key=lambda u: (sum(scores[i] for i in u) / len(u), u[0]))
            chosen: list[int] = []
            freed = 0
            for unit in ranked:
                if total - freed <= target:
                    break
                chosen.extend(unit)
                freed += sum(sizes[i] for i in unit)
            if chosen:
                chosen.sort()
                moved_items = [json.loads(hardened_text[h_nodes[i].start:h_nodes[i].end]) for i in chosen]
                transcript = _transcript(moved_items)
                part_id = markers.ccr_id(transcript)
                self.keep_original(part_id, "conversation", transcript)
                calls = Counter(name for item in moved_items for name in adapter.tool_names(item))
                detail = markers.describe_counts(calls) if calls else "no tool calls"
                what = (f"{len(chosen):,} earlier messages moved out to fit the context window "
                        f"({detail}; {freed:,} tokens)")
                message = _marker_message(f"[headroom: {what} · retrieve {part_id}]", adapter)
                state.moves.append(Move(_prefix_digest(digests, chosen), chosen, message, part_id, freed))
                total = total - freed + self.count(message)
        # Last resort, when the recent turns alone are over the limit: their outputs, oldest first.
        if total > limit:
            total = self._harden_more(slots, outcomes, range(tail, len(items)), None, removed, hard, state, total, limit)
        result.outcomes.clear()
        result.hardened = result.moved = 0
        result.text = self._render(text, adapter, key, hard, state.moves, result)
        result.tokens = self._total(result.text, key)
        result.decided = True
        self.memory.put(conversation, state)
        if result.tokens > limit:
            log.warning("could not fit the request under %s tokens (about %s left): the system prompt, the first "
                        "turn and the recent turns are never moved", f"{limit:,}", f"{result.tokens:,}")
        return result

    def _harden_more(self, slots, outcomes, where: range, scores: list[float] | None, removed: set[int],
                     hard: dict[int, str], state: FitState, total: int, stop_at: int) -> int:
        """Compress tool outputs of messages ``where`` harder, lowest score first (oldest first
        without scores), until the estimate is at ``stop_at``; returns the new estimate."""
        candidates = sorted(
            (scores[index] if scores else 0.0, index, n) for n, ((slot, index), o) in enumerate(zip(slots, outcomes))
            if index in where and index not in removed and n not in hard and len(slot.text) >= HARD_MIN_CHARS
            and not is_retrieval(slot.tool_name, slot.tool_input))
        for _, _, n in candidates:
            if total <= stop_at:
                break
            original = outcomes[n].original
            made = harden(original, markers.ccr_id(original))
            saved = self.count(slots[n][0].text) - self.count(made) if made is not None else 0
            if saved <= 0:
                continue
            self.keep_original(markers.ccr_id(original), "text", original)
            state.hardened[part_hash(original)] = made
            hard[n] = made
            total -= saved
        return total

    def _restore(self, part_id: str, kind: str, original: Callable[[], str]) -> None:
        if self.has_original is not None and self.keep_original is not None and not self.has_original(part_id):
            self.keep_original(part_id, kind, original())

    def _total(self, text: str, key: str) -> int:
        root = jsonspan.index(text, depth=2)
        messages = root.get(key)
        fixed = self.count(text[:messages.start] + text[messages.end:])
        return fixed + sum(self.count(text[n.start:n.end]) for n in _items(root, key))

    def _slots(self, body: dict[str, Any], adapter: Adapter, key: str) -> list[tuple[Any, int]]:
        """(slot, message index) for every adapter slot, in document order."""
        owner: dict[int, int] = {}
        for i, message in enumerate(body.get(key) or []):
            for holder in _dicts(message):
                owner[id(holder)] = i
        return [(slot, owner.get(id(slot.holder), -1)) for slot in adapter.slots(body)]

    def _harden(self, text: str, adapter: Adapter, key: str, hard: dict[int, str]) -> str:
        """The text with slot n's string replaced by hard[n], by splicing."""
        if not hard:
            return text
        from headroom_cli.rewrite import _dumps, _splice

        expected = json.loads(text)
        pairs = []
        for n, (slot, _) in enumerate(self._slots(expected, adapter, key)):
            if n in hard:
                pairs.append((slot.text, hard[n]))
                slot.write(hard[n])
        raw = text.encode("utf-8", "surrogatepass")
        spliced = _splice(raw, pairs, expected)
        return (spliced if spliced is not None else _dumps(expected)).decode("utf-8", "surrogatepass")

    def _render(self, text: str, adapter: Adapter, key: str, hard: dict[int, str], moves: list[Move],
                result: FitResult) -> str:
        """Apply hardening, then every move; note each change as an outcome of engine "fit"."""
        hardened = self._harden(text, adapter, key, hard)
        if hard:
            body = json.loads(text)
            for n, (slot, _) in enumerate(self._slots(body, adapter, key)):
                if n in hard:
                    result.outcomes.append(Outcome(slot.text, hard[n], "fit", "fit", _marker_id(hard[n])))
                    result.hardened += 1
        if not moves:
            return hardened
        nodes = _items(jsonspan.index(hardened, depth=2), key)
        edits: list[tuple[int, int, str]] = []
        expected = json.loads(hardened)
        items = expected[key]
        replaced: dict[int, Any] = {}
        dropped: set[int] = set()
        for move in moves:
            first, rest = move.removed[0], move.removed[1:]
            edits.append((nodes[first].start, nodes[first].end, move.message))
            for i in rest:
                edits.append((nodes[i - 1].end, nodes[i].end, ""))
            replaced[first] = json.loads(move.message)
            dropped.update(rest)
            gone = "".join(hardened[nodes[i].start:nodes[i].end] for i in move.removed)
            self._restore(move.part_id, "conversation", lambda move=move: _transcript(
                [json.loads(hardened[nodes[i].start:nodes[i].end]) for i in move.removed]))
            result.outcomes.append(Outcome(gone, move.message, "fit", "fit", move.part_id))
            result.moved += len(move.removed)
        new = jsonspan.splice(hardened, edits)
        expected[key] = [replaced.get(i, item) for i, item in enumerate(items) if i not in dropped]
        if not jsonspan.same(json.loads(new), expected):
            raise jsonspan.SpanError("moving messages did not give the expected body")
        return new


# -- helpers ---------------------------------------------------------------------------------------

def _dicts(value: Any):
    """Every dict inside ``value``, itself included, depth first. Only containers are descended into:
    most values are strings, and a generator for each cost more than the walk."""
    if isinstance(value, dict):
        yield value
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    for v in children:
        if isinstance(v, (dict, list)):
            yield from _dicts(v)


def _items(root: jsonspan.Node, key: str) -> list[jsonspan.Node]:
    node = root.get(key)
    return node.items if node is not None and node.kind == "array" else []


# A cache_control member and its comma, in a message's JSON text: clients move these every turn.
_CACHE_CONTROL = re.compile(r',\s*"cache_control"\s*:\s*\{[^{}]*\}|"cache_control"\s*:\s*\{[^{}]*\}\s*,?')


def _digest(message_text: str) -> str:
    return hashlib.sha1(_CACHE_CONTROL.sub("", message_text).encode("utf-8", "surrogatepass")).hexdigest()


def _prefix_digest(digests: list[str], removed: list[int]) -> str:
    """What the messages up to the last moved one were, so a replay applies to that history only."""
    last = max(removed)
    if last >= len(digests):
        return ""
    return hashlib.sha256("".join(digests[: last + 1]).encode()).hexdigest()


def _marker_id(text: str) -> str | None:
    found = markers.find_markers(text)
    return found[0].group("id") if found else None


def _role(item: Any) -> str:
    return item_role(item)


def _protected(items: list[Any], wire: Adapter) -> tuple[int, int]:
    """[head, tail): the middle that may be changed. The head runs through the first user turn
    (and any system messages before it); the tail is the newest messages."""
    head = first_user = None
    for i, item in enumerate(items):
        if _role(item) == "user" and wire.is_message(item):
            first_user = i if first_user is None else first_user
            if user_text(item.get("content"), ("text", "input_text")):
                head = i + 1
                break
    head = head if head is not None else (first_user + 1 if first_user is not None else 0)
    return head, max(head, len(items) - RECENT_MESSAGES)


def _units(items: list[Any], wire: Adapter, head: int, tail: int) -> list[list[int]]:
    """The middle's messages in groups that keep every call with its answer: only whole groups
    that may move (no system message, no earlier marker, no call answered outside the middle)."""
    groups: list[list[int]] = []
    owner: dict[str, int] = {}  # call id -> group
    pinned: set[int] = set()
    for i in range(head, tail):
        issued, answered = wire.calls_at(items, i)
        targets = {owner[c] for c in answered if c in owner}
        if targets:  # joins the group of the call it answers, and every group in between
            first = min(targets)
            was_pinned = any(g in pinned for g in range(first, len(groups)))
            merged = [m for group in groups[first:] for m in group] + [i]
            del groups[first:]
            pinned = {g for g in pinned if g < first} | ({first} if was_pinned else set())
            owner = {c: min(g, first) for c, g in owner.items()}
            groups.append(merged)
        else:
            groups.append([i])
        g = len(groups) - 1
        if any(c not in owner for c in answered) or _role(items[i]) in ("system", "developer") or _is_marker(items[i]):
            pinned.add(g)  # answers a call from the head, or must stay
        for c in issued:
            owner[c] = g
    answered_here = {c for i in range(head, tail) for c in wire.calls_at(items, i)[1]}
    for g, group in enumerate(groups):
        if {c for i in group for c in wire.calls_at(items, i)[0]} - answered_here:
            pinned.add(g)  # its answer is in the protected tail
    return [group for g, group in enumerate(groups) if g not in pinned]


def _is_marker(item: Any) -> bool:
    text = _text(item)
    return text.startswith("[headroom: ") and "moved out to fit the context window" in text


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_text(v) for k, v in value.items() if k not in ("id", "tool_use_id", "call_id", "type"))
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return ""


def _scores(items: list[Any], wire: Adapter) -> list[float]:
    """How much each message is worth keeping in the window: recency, errors, later references,
    and conversation (the user's and the model's own words) over tool output."""
    texts = [_text(item) for item in items]
    n = max(1, len(items))
    later_words: list[set[str]] = [set() for _ in items]
    seen: set[str] = set()
    for i in range(len(items) - 1, -1, -1):
        later_words[i] = set(seen)
        if _role(items[i]) != "tool" and not _answers(items[i], wire):  # what the model and user say or call
            seen |= set(_REFERENCE.findall(_calls_and_words(items[i])))
    scores = []
    for i, item in enumerate(items):
        score = i / n
        if _IMPORTANT.search(texts[i]):
            score += 1.0
        mine = set(_REFERENCE.findall(texts[i][:20_000]))
        score += min(1.5, 0.5 * len(mine & later_words[i]))
        if not _answers(item, wire) and not wire.calls(item)[0] and _role(item) in ("user", "assistant", "message"):
            score += 1.5
        scores.append(score)
    return scores


def _answers(item: Any, wire: Adapter) -> bool:
    return bool(wire.calls(item)[1])


def _calls_and_words(item: Any) -> str:
    return _text(item)[:20_000]


def _marker_message(text: str, wire: Adapter) -> str:
    return json.dumps(wire.user_message(text), ensure_ascii=False, separators=(",", ":"))


def _transcript(items: list[Any]) -> str:
    """What the moved messages said, readable: what `headroom retrieve` gives back for the marker."""
    out = []
    for item in items:
        out.append(f"## {_role(item) or 'message'}")
        out.append(_text(item))
    return "\n".join(out) + "\n"


def harden(original: str, part_id: str) -> str | None:
    """A much shorter version of a tool output: its first and last lines and the lines that look
    like errors (with one line either side), every gap a line marker. None when it saves nothing."""
    lines = markers.original_lines(original)
    n = len(lines)
    keep = set(range(min(HARD_HEAD, n))) | set(range(max(0, n - HARD_TAIL), n))
    important = [i for i, line in enumerate(lines) if _IMPORTANT.search(line)][:HARD_IMPORTANT]
    for i in important:
        keep |= {j for j in (i - 1, i, i + 1) if 0 <= j < n}
    keep = {i for i in keep if len(lines[i]) <= HARD_LONG_LINE}
    out: list[str] = []
    i = 0
    while i < n:
        if i in keep:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and j not in keep:
            j += 1
        line = markers.line_marker(part_id, i + 1, j, {})
        out.append(line + ("\n" if j < n or lines[-1].endswith("\n") else ""))
        i = j
    text = "".join(out)
    return text if len(text) < len(original) * 0.8 else None
