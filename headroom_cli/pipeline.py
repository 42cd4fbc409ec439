"""The pipeline: route each part to one engine, and fall back to the original on any trouble.

The one place that decides what runs. Engines are pure; a decision that could differ the next time
(a query-aware choice, a timeout on a busy machine) is made once, on first sight of the part, and
frozen: in memory, and in the store when the pipeline is given one, so re-sent history stays
byte-identical turn after turn and across restarts. The proxy runs parts on several threads at once:
a part that is already being compressed is waited for, not compressed a second time, so concurrent
requests carrying it all get the one outcome that is frozen.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from headroom_cli import engines, here, readformat, sections
from headroom_cli.engines import Context, Engine, EngineTimeout, Part, Result
from headroom_cli.engines.base import cpu_clock, deadline_after
from headroom_cli.config import DEFAULT_PART_BUDGET_MS, part_budget_ms_setting
from headroom_cli.decision_memo import MEMO_SIZE, Memo
from headroom_cli.markers import ccr_id
from headroom_cli.tokens import count_tokens, count_tokens_known, fewer_tokens_by, tokens_reach

if TYPE_CHECKING:
    from headroom_cli.focus import Focus

log = logging.getLogger("headroom.pipeline")

MIN_CHARS = 1_000  # smaller parts pass through: a marker would save next to nothing
MIN_SCORE = 0.5  # an engine must be at least this sure the part is its kind
# A lossy omission must pay for the retrieval round it may cause (the whole context re-read): a part
# under LOSSY_MIN_TOKENS stays whole unless an engine shortens it losslessly, and a lossy result must
# save at least LOSSY_MIN_SAVED tokens. Measured on the session replay and the corpus (README): hiding
# 178 tokens of a 350-token listing cost the paths the task was about.
LOSSY_MIN_TOKENS = 600
LOSSY_MIN_SAVED = 150
REWRITE_MAX_RATIO = 0.85  # a rewrite (lines not kept verbatim) must cut at least 15% of the text
# Engine CPU time per part; past it the engine gives up and the original is kept (see config.py for why so much).
PART_BUDGET_S = DEFAULT_PART_BUDGET_MS / 1000


@dataclass(frozen=True)
class Outcome:
    original: str
    text: str
    engine: str | None = None
    kind: str | None = None
    part_id: str | None = None  # the CCR ID when something was omitted; the original must be stored under it
    stored: str | None = None  # what part_id redeems, when not the original (a whole output behind a note)

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass
class Explanation:
    """Why a part came out as it did: every engine's score, the choice, and what happened."""

    scores: dict[str, float] = field(default_factory=dict)
    chosen: str | None = None
    decision: str = ""
    read_format: bool = False
    elapsed_ms: float = 0.0
    # What each step found, in order: an engine with nothing to remove, a result that did not pay for its
    # marker, a rewrite that saved too little, a timeout ... (the reasons behind ``decision``).
    reasons: list[str] = field(default_factory=list)


class FrozenDecisions(Protocol):
    def recall(self, part_hash: str, original: str) -> Outcome | None: ...

    def freeze(self, part_hash: str, outcome: Outcome) -> None: ...


def part_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Pipeline:
    def __init__(self, *, min_chars: int = MIN_CHARS, part_budget_s: float | None = None, memo_size: int = MEMO_SIZE,
                 frozen: FrozenDecisions | None = None, lossy: bool = True, code_min_lines: int | None = None,
                 engine: str | None = None):
        """``engine``: only that engine runs, whatever the scores (``headroom compress --engine``).
        ``lossy=False``: only lossless results are used (no markers), for when omitted content
        could not be stored, so a marker could never be redeemed. ``code_min_lines``: source files
        shorter than this stay verbatim (None: HEADROOM_CODE_MIN_LINES or its default).
        ``part_budget_s``: engine CPU seconds per part (None: HEADROOM_PART_BUDGET_MS or its default)."""
        self.min_chars = min_chars
        self.code_min_lines = code_min_lines
        self.lossy = lossy
        self.part_budget_s = part_budget_s if part_budget_s is not None else _budget_from_environment()
        self.frozen = frozen
        self.only = engine
        self._memo = Memo(memo_size)
        self._lock = threading.Lock()  # guards the table of parts in flight
        self._flights: dict[str, _Flight] = {}
        self._local = threading.local()  # this thread's open batch (batch())

    def scores(self, part: Part) -> dict[str, float]:
        return {engine.name: engine.detect(part) for engine in engines.registered()}

    def candidates(self, part: Part, seen: dict[tuple[str, str], float] | None = None) -> list[Engine]:
        """Engines sure enough the part is theirs: the specialised ones surest first (ties by name, so
        always the same way), then the fallbacks (plain text)."""
        return self._sure(part, fallback=False, seen=seen) + self._sure(part, fallback=True, seen=seen)

    def _sure(self, part: Part, fallback: bool, seen: dict[tuple[str, str], float] | None = None) -> list[Engine]:
        return list(self._surest_first(part, fallback, seen))

    def _surest_first(self, part: Part, fallback: bool,
                      seen: dict[tuple[str, str], float] | None = None) -> Iterator[Engine]:
        """The engines sure enough, surest first (ties by name), read lazily: each is found without
        scoring an engine whose ceiling cannot beat it, the next only when asked for (the order a full
        sort gives). ``seen``: scores already asked for in this part's run, by (engine, text); within one
        run only a section's text changes, and detect() reads nothing else that does (first_line is for compress)."""
        if self.only is not None:  # forced: asked once, as a specialised engine, whatever it scores
            forced = engines.get(self.only)
            if forced is not None and not fallback:
                yield forced
            return
        seen = {} if seen is None else seen
        tops = _by_ceiling([engine for engine in engines.registered()
                            if getattr(engine, "fallback", False) is fallback], part)
        while (surest := _surest(tops, part, seen)) is not None:
            yield surest
            tops = [top for top in tops if top[1] is not surest]

    def route(self, part: Part, seen: dict[tuple[str, str], float] | None = None) -> Engine | None:
        """The first of candidates(), without scoring what cannot come first."""
        for fallback in (False, True):
            for engine in self._surest_first(part, fallback, seen):
                return engine
        return None

    def run(self, part: Part, focus: Callable[[], Focus | None] | None = None) -> Outcome:
        """``focus``: gives the conversation's focus, asked only when the part is decided now (a part
        seen before replays its frozen decision, and reading a long conversation costs milliseconds)."""
        if len(part.text) < self.min_chars:
            return Outcome(part.text, part.text)
        return self._once(part.text, part.kind_hint, lambda: self._compress(part, focus=focus), len(part.text))

    def run_whole(self, part: Part, whole: str, render: Callable[[str], str], max_chars: int,
                  focus: Callable[[], Focus | None] | None = None) -> Outcome:
        """A part that stands for a larger whole (a client's preview of a saved output): the whole is
        compressed and rendered in the part's place, if that fits in max_chars. Frozen like any part."""

        def compress() -> Outcome:
            inner = self._compress(replace(part, text=whole), focus=focus)
            text = render(inner.text)
            if len(text) <= max_chars and (self.lossy or not inner.part_id):
                return Outcome(part.text, text, inner.engine or "whole", inner.kind, inner.part_id, stored=whole)
            return Outcome(part.text, part.text)

        return self._once(part.text, "whole", compress)

    def run_keyed(self, text: str, compress: Callable[[], Outcome]) -> Outcome:
        """A decision no text engine makes (an image's, images/wire.py): made once per text, memoised and
        frozen like any part's."""
        return self._once(text, "keyed", compress)

    def _once(self, text: str, how: str | None, compress: Callable[[], Outcome], cost: int | None = None) -> Outcome:
        """The outcome for text: decided by a thread that held its flight meanwhile, memoised, frozen, or
        else decided now (compress) and frozen. Keyed by the text's hash: the memo keeps no originals.
        A decision not yet known to be in the store (another request's batch is open) is frozen again.
        ``cost``: the new text deciding it takes, in a here.block() (None: never decided in one)."""
        digest = part_hash(text)
        key = (digest, how)
        outcome, durable = self._memo.lookup(key, text)  # re-sent history: no flight to hold (thread-safe)
        if outcome is not None:
            if not durable and key not in self._made():
                self.frozen.freeze(digest, outcome)
            return outcome
        here.spend(cost, 0)  # a part that could not be decided in a here.block never waits for its flight there
        with self._single_flight(digest) as flight:
            outcome, durable = flight.outcomes.get(key), flight.durable.get(key, False)
            if outcome is None:
                outcome, durable = self._memo.lookup(key, text)
            if outcome is None and self.frozen is not None:
                outcome = self.frozen.recall(digest, text)
                durable = outcome is not None
            if outcome is None:
                here.spend(cost, cost)
                outcome = compress()
            mine = key in self._made()  # written by this request already, not yet committed
            wrote = self.frozen is not None and not durable and not mine
            if wrote:
                self.frozen.freeze(digest, outcome)
            flight.outcomes[key] = outcome
            flight.durable[key] = self._remember(key, outcome, pending=wrote or mine)
        return outcome

    def _made(self) -> dict:
        """This thread's open batch: the decisions it wrote, not yet committed ({} outside one)."""
        return getattr(self._local, "made", None) or {}

    def _remember(self, key: tuple[str, str | None], outcome: Outcome, pending: bool) -> bool:
        """Memoise ``outcome``; whether it is known to be in the store (False while its batch is open)."""
        made = getattr(self._local, "made", None)
        pending = pending and made is not None  # written outside a batch: committed already
        token = self._memo.put(key, outcome, pending)
        if pending:
            made[key] = token
        return not pending

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One request's writes to the store (frozen decisions, originals) in one transaction, committed
        when the block ends. Decisions made meanwhile are memoised as pending (decision_memo.py): a
        concurrent request that uses one writes it too, so none is sent upstream before the store has
        it; they are dropped from the memo when the commit fails (the request then goes losslessly).
        A request that stops at a part it cannot afford in a here.block commits what it decided before
        it, so that the thread that takes the request over replays those instead of deciding them again."""
        opener = getattr(self.frozen, "batch", None)
        if opener is None or getattr(self._local, "made", None) is not None:
            yield
            return
        made: dict[tuple[str, str | None], object] = {}
        self._local.made = made
        stopped: here.Unaffordable | None = None
        try:
            with opener():
                try:
                    yield
                except here.Unaffordable as exc:
                    stopped = exc
        except BaseException:
            for key, token in made.items():
                self._memo.forget(key, token)
            raise
        finally:
            self._local.made = None
        for key, token in made.items():
            self._memo.settle(key, token)
        if stopped is not None:
            raise stopped

    @contextmanager
    def _single_flight(self, digest: str) -> Iterator["_Flight"]:
        """Hold the part's flight: one thread at a time decides a given text, and those that waited find
        its outcome in the flight (or in the memo and the store, which it filled) instead of running
        the engines again. The flight is dropped when no thread holds or waits for it."""
        with self._lock:
            flight = self._flights.get(digest)
            if flight is None:
                flight = self._flights[digest] = _Flight()
            flight.users += 1
        try:
            with flight.lock:
                yield flight
        finally:
            with self._lock:
                flight.users -= 1
                if not flight.users:
                    del self._flights[digest]

    def explain(self, part: Part) -> tuple[Outcome, Explanation]:
        """Run without memo or frozen decisions, and say what each step decided."""
        started = time.perf_counter()
        why = Explanation()
        if len(part.text) < self.min_chars:
            why.decision = f"passed through: under {self.min_chars:,} characters"
            return Outcome(part.text, part.text), why
        unwrapped = readformat.unwrap(part.text)
        why.read_format = unwrapped is not None
        plain = replace(part, text=unwrapped.plain) if unwrapped else part
        why.scores = self.scores(plain)
        tried = [engine.name for engine in self.candidates(plain)]
        outcome = self._compress(part, why.reasons)
        why.chosen = outcome.engine if outcome.changed else (tried[0] if tried else None)
        why.elapsed_ms = (time.perf_counter() - started) * 1000
        if not tried:
            best = min(why.scores.items(), key=lambda item: (-item[1], item[0]), default=None)
            why.decision = (f"passed through: no engine scored {MIN_SCORE} or more"
                            + (f" (the surest, {best[0]}, scored {best[1]:.2f})" if best else ""))
        elif not outcome.changed:
            why.decision = "passed through: " + ("; ".join(dict.fromkeys(why.reasons)) or
                                                 f"{', '.join(tried)} found nothing worth removing")
        else:
            why.decision = f"compressed by {outcome.engine}" + (" (lossy: original stored)" if outcome.part_id else " (lossless)")
        return outcome, why

    def _compress(self, part: Part, trace: list[str] | None = None,
                  focus: Callable[[], Focus | None] | None = None) -> Outcome:
        """The part's outcome; ``trace`` (explain's) gets a line for each step that kept text as it was.
        ``focus``: the conversation's focus, asked for only when an engine that reads it is about to run."""
        unchanged = Outcome(part.text, part.text)
        unwrapped = readformat.unwrap(part.text)
        plain = replace(part, text=unwrapped.plain, first_line=readformat.first_number(unwrapped.prefixes)) \
            if unwrapped else part
        if not self.lossy:
            plain = replace(plain, query=None, focus=None)  # a query only steers what to omit
            focus = None
        lazy = _LazyFocus(focus) if focus is not None else None
        part_id = ccr_id(part.text)  # always the part as the client sent it: that is what gets stored
        deadline = deadline_after(self.part_budget_s)  # this thread's CPU time: the same under any load
        pieces = sections.split(plain.text)
        seen: dict[tuple[str, str], float] = {}
        if pieces is None or (not any(p.protected for p in pieces) and self._is_code(plain, seen)):
            pieces = [sections.Section(0, plain.text, False)]  # a data literal inside code stays code
        texts, omitted, chosen = [], 0, None
        # A section that repeats one before it byte for byte (the same JSON document printed again) has
        # the same outcome: engines are pure functions of the text, and the rest of the part is the same.
        done: dict[str, tuple[Result | None, Engine | None]] = {}
        # only a text that occurs again can be answered from ``done``
        repeated = {text for text, n in Counter(piece.text for piece in pieces).items() if n > 1}
        for piece in pieces:
            if piece.protected or len(piece.text) < self.min_chars:
                texts.append(piece.text)
                continue
            section = replace(plain, text=piece.text, first_line=plain.first_line + piece.first_line)
            result, engine = done.get(piece.text) or self._compress_section(section, part_id, deadline, trace, seen,
                                                                                lazy)
            if piece.text in repeated and self._position_free(section, seen):
                done[piece.text] = (result, engine)
            if result is None:
                texts.append(piece.text)
                continue
            texts.append(sections.shift_markers(result.text, part_id, piece.first_line))
            omitted += result.omitted
            chosen = chosen or (engine, result.kind)
        if chosen is None:
            return unchanged
        text = "".join(texts)
        if unwrapped:
            text = readformat.rewrap(text, unwrapped)
        text = readformat.name_file_lines(text, part.text, part_id)
        if len(text) >= len(part.text) or (omitted and (not self.lossy or not _pays(part.text, text))):
            if trace is not None:
                trace.append(_why_unpaid(part.text, text, self.lossy, chosen[0].name))
            return unchanged
        return Outcome(part.text, text, chosen[0].name, chosen[1], part_id if omitted else None)

    def _position_free(self, section: Part, seen: dict[tuple[str, str], float]) -> bool:
        """Whether no engine that may run on the section reads where it starts (the code engine does:
        a window of a file), so that its outcome holds for a copy of it elsewhere in the part."""
        return not any(getattr(engine, "reads_first_line", False)
                       and (engine.name == self.only if self.only is not None else _score(engine, section, seen) >= MIN_SCORE)
                       for engine in engines.registered())

    def _is_code(self, part: Part, seen: dict[tuple[str, str], float]) -> bool:
        code = engines.get("code")
        if self.only is None and (code is None or _score(code, part, seen) < MIN_SCORE):
            return False  # not sure enough to be routed at all: the other engines need not be asked
        surest = self.route(part, seen)
        return surest is not None and surest.name == "code"

    def _compress_section(self, section: Part, part_id: str, deadline: float, trace: list[str] | None = None,
                          seen: dict[tuple[str, str], float] | None = None,
                          focus: _LazyFocus | None = None) -> tuple[Result | None, Engine | None]:
        """The surest specialised engine's result; when it finds nothing to do, the next one's, and
        last a fallback engine's (which may still clean up what the specialised ones passed over).
        Fallbacks are only asked once no specialised engine has anything to offer. The focus is read
        (milliseconds: the whole conversation) only for an engine that uses it, not for one that does not."""
        engine = None
        try:
            for fallback in (False, True):  # a fallback's detect() is only paid for when needed
                for engine in self._surest_first(section, fallback, seen):
                    if focus is not None and getattr(engine, "reads_focus", True):
                        section = replace(section, focus=focus.get())
                    spent = focus.spent if focus is not None else 0.0  # reading it is not the engine's time
                    result = engine.compress(section, Context(part_id=part_id, deadline=deadline + spent,
                                                              code_min_lines=self.code_min_lines))
                    found = result is not None
                    if result is not None and not result.omitted and not sections.lines_kept(result.text, section.text):
                        # Without a store a rewrite could never be given back: it is not used then.
                        result = _rewrite_worth_it(result, part_id, section.text) if self.lossy else None
                    if result is not None and (self.lossy or not result.omitted):
                        return result, engine
                    if trace is not None:
                        trace.append(f"{engine.name} " + ("found nothing to remove" if not found else
                                     "omitted lines, which a pipeline without a store cannot use" if result else
                                     f"rewrote lines but kept over {REWRITE_MAX_RATIO:.0%} of the text"))
        except EngineTimeout:
            if trace is not None:
                trace.append(f"{engine.name} ran past its {self.part_budget_s * 1000:.0f} ms CPU budget")
            log.warning("engine %s ran past its %.0f ms CPU budget; part kept as it was (HEADROOM_PART_BUDGET_MS "
                        "raises it)", engine.name, self.part_budget_s * 1000)
        except Exception as exc:  # an engine bug must never cost the user a request
            if trace is not None:
                trace.append(f"{getattr(engine, 'name', 'router')} failed ({type(exc).__name__})")
            log.warning("engine %s failed (%s: %s); part kept as it was", getattr(engine, "name", "router"),
                        type(exc).__name__, exc)
        return None, None


def _ceiling(engine: Engine, part: Part) -> float:
    """The highest score the engine's detect() can give the part: its declared ceiling (a number, or a
    function of the part), which holds for a part without a kind hint (a hint may make any engine sure),
    else 1.0."""
    if (part.kind_hint or "").strip():
        return 1.0
    top = getattr(engine, "ceiling", 1.0)
    return top(part) if callable(top) else top


def _by_ceiling(pool: list[Engine], part: Part) -> list[tuple[float, Engine]]:
    """The engines with their ceilings for the part, highest first (ties by name)."""
    return sorted(((_ceiling(engine, part), engine) for engine in pool), key=lambda t: (-t[0], t[1].name))


def _surest(tops: list[tuple[float, Engine]], part: Part, seen: dict[tuple[str, str], float]) -> Engine | None:
    """The engine first by (-score, name) among those scoring MIN_SCORE or more, as a full sort would give,
    scoring engines by falling ceiling (``tops``: _by_ceiling's) and stopping at the first whose ceiling
    cannot beat the surest so far (nor can any after it): detect() is the router's main cost on a new part."""
    best, surest = None, None  # the surest's (-score, name), the sort's key, and the engine
    for top, engine in tops:
        if top < MIN_SCORE or (best is not None and (-top, engine.name) > best):
            break  # it cannot come first, nor can any engine after it (their ceilings are no higher)
        score = _score(engine, part, seen)
        if score >= MIN_SCORE and (best is None or (-score, engine.name) < best):
            best, surest = (-score, engine.name), engine
    return surest


def _score(engine: Engine, part: Part, seen: dict[tuple[str, str], float] | None) -> float:
    if seen is None:
        return engine.detect(part)
    key = (engine.name, part.text)
    if key not in seen:
        seen[key] = engine.detect(part)
    return seen[key]


class _LazyFocus:
    """A part's focus, read on first need and once (a caller's callable may not cache it), and the CPU
    time that took: the engines' budget does not pay for it, as when the focus was read before it began."""

    def __init__(self, read: Callable[[], Focus | None]):
        self._read = read
        self._asked = False
        self._focus: Focus | None = None
        self.spent = 0.0

    def get(self) -> Focus | None:
        if not self._asked:
            started = cpu_clock()
            self._focus, self._asked = self._read(), True
            self.spent = cpu_clock() - started
        return self._focus


def _why_unpaid(original: str, text: str, lossy: bool, engine: str) -> str:
    """Why an engine's output was not used after all (explain's words for what _compress checks)."""
    if len(text) >= len(original):
        return f"{engine}'s output was not shorter than the input"
    if not lossy:
        return f"{engine} omitted lines, which a pipeline without a store cannot use"
    before = count_tokens(original)
    if before < LOSSY_MIN_TOKENS:
        return (f"{engine} would omit lines, but a part of {before:,} tokens stays whole "
                f"(a marker pays only from {LOSSY_MIN_TOKENS:,} tokens)")
    return (f"{engine} would omit lines but save only {before - count_tokens(text):,} tokens "
            f"(a marker must save {LOSSY_MIN_SAVED:,})")


def _pays(original: str, text: str) -> bool:
    """Whether a lossy result is worth its marker: a big enough part, and enough taken out of it."""
    if len(original) < LOSSY_MIN_TOKENS * 2:  # fewer characters than that cannot hold enough tokens
        return False
    # the same as counting both (before >= LOSSY_MIN_TOKENS, before - after >= LOSSY_MIN_SAVED), cheaper
    # An output over a quarter of its input mostly repeats its lines: only the lines that differ are counted
    # (measured on the corpus's 50K-token parts: from there it is the cheaper way, 2-3 times on long ones).
    if len(text) * 4 >= len(original):
        return fewer_tokens_by(original, text, LOSSY_MIN_SAVED) and tokens_reach(original, LOSSY_MIN_TOKENS)
    # a short output: counted whole, the input only as far as needed
    return tokens_reach(original, max(LOSSY_MIN_TOKENS, count_tokens_known(text) + LOSSY_MIN_SAVED))


def _rewrite_worth_it(result: Result, part_id: str, original: str) -> Result | None:
    """A result that rewrote lines rather than leaving some out: none of its lines can be quoted or
    grepped any more, so it must save enough to pay for that, and it carries a way back to the original."""
    if _squeezed(result.text) > REWRITE_MAX_RATIO * _squeezed(original):
        return None
    return sections.rewritten(result, part_id, original)


def _squeezed(text: str) -> int:
    """Length with each run of white space counted once: about what a tokenizer charges (indentation
    is cheap), so that a rewrite which only drops indentation does not look like a saving."""
    return len(_WHITE_RUNS.sub(" ", text))


_WHITE_RUNS = re.compile(r"\s+")


@dataclass
class _Flight:
    """The threads deciding or waiting for one part's text, and the outcomes decided while they did."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    outcomes: dict[tuple[str, str | None], Outcome] = field(default_factory=dict)
    durable: dict[tuple[str, str | None], bool] = field(default_factory=dict)  # known to be in the store


def _budget_from_environment() -> float:
    try:
        return part_budget_ms_setting() / 1000
    except ValueError as exc:  # a library caller or the MCP server: say so, and go on with the default
        log.warning("%s; using the default %d ms", exc, DEFAULT_PART_BUDGET_MS)
        return PART_BUDGET_S
