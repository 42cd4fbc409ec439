"""CacheAligner: keep what Headroom sends cacheable by the provider's prompt cache.

Three jobs, all deterministic functions of the request (and, for the last two, of the earlier
requests of the same conversation):

* Automatic cache breakpoints for Anthropic requests that carry none (plain SDK apps): a
  ``cache_control`` marker at the end of the tools, of the system prompt and on the last two
  message boundaries of the same role (the newest one, where this request's prefix ends, and the
  one before, where the previous request's ended, so the previous cache entry is hit exactly).
  That is Anthropic's limit of 4. Inserted by splicing: every other byte stays as sent.
* Volatile-prefix detection: timestamps, UUIDs, random IDs and counters in the system prompt or tool
  definitions that change between requests of one conversation make every request a cache miss.
  Reported once per place, with where it is and what kind of value it looks like (never the value:
  a prompt may carry a secret).
* Cache-break detection: when the client re-sent its history unchanged but what Headroom sent for it
  differs from last time (a context fit, a decision made again), the provider must write again what
  it could have read. Reported per request so the ledger can warn.

A conversation is recognised by its first message, its system prompt and its tool names, with
volatile-looking values masked so a timestamp in the system prompt does not make every request a
new conversation.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from headroom_cli import jsonspan
from headroom_cli.bounded import Bounded
from headroom_cli.prompt import without_cache_control
from headroom_cli.providers import by_api

EPHEMERAL = '"cache_control":{"type":"ephemeral"}'
MAX_BREAKPOINTS = 4  # Anthropic's limit per request
# Blocks a cache_control marker may sit on (not thinking blocks, not empty text).
_CACHEABLE_BLOCKS = frozenset(("text", "image", "document", "tool_use", "tool_result", "search_result",
                               "server_tool_use", "web_search_tool_result"))

# What changes between requests without meaning anything: checked in this order, so the most
# specific name wins.
_VOLATILE_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("uuid", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("timestamp", re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")),
    ("timestamp", re.compile(r"\b1[4-9]\d{8}(?:\d{3})?(?:\.\d+)?\b")),  # Unix seconds or milliseconds
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")),
    ("time", re.compile(r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b")),
    ("hex id", re.compile(r"\b[0-9a-fA-F]{12,}\b")),
    ("random id", re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}\b")),
    ("counter", re.compile(r"\d+")),
]
# For recognising a conversation: any word with a digit in it (timestamps, UUIDs, IDs, counters).
# One simple character class, so masking a long system prompt on every request stays cheap.
_MASK = re.compile(r"[0-9A-Za-z_.:+-]*[0-9][0-9A-Za-z_.:+-]*")
SAMPLE_CHARS = 40


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=64)
def mask(text: str) -> str:
    """The text with every volatile-looking value replaced by '#' (cached: re-sent prompts are common)."""
    return _MASK.sub("#", text)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# -- what a request's prefix is made of ------------------------------------------------------------

def _messages_key(api: str) -> str:
    adapter = by_api(api)
    return adapter.items_key if adapter is not None else "messages"


def _tool_name(tool: Any, i: int) -> str:
    if isinstance(tool, dict):
        function = tool.get("function")
        name = tool.get("name") or (function.get("name") if isinstance(function, dict) else None)
        if name:
            return str(name)
    return f"#{i}"


def prefix_texts(body: dict[str, Any], api: str) -> dict[str, str]:
    """The stable-by-intent parts of a request, by where they are: ``system``, ``system[1]``,
    ``tool Bash``, ``instructions``, ``system message 0``. Only what comes before the conversation."""
    found: dict[str, str] = {}
    system = body.get("system")
    if isinstance(system, str):
        found["system"] = system
    elif isinstance(system, list):
        for i, block in enumerate(system):
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                found[f"system[{i}]"] = block["text"]
    if isinstance(body.get("instructions"), str):
        found["instructions"] = body["instructions"]
    items = body.get(_messages_key(api))
    if isinstance(items, list):
        for i, message in enumerate(items):  # leading system/developer messages (OpenAI)
            if not isinstance(message, dict) or message.get("role") not in ("system", "developer"):
                break
            content = message.get("content")
            found[f"{message['role']} message {i}"] = content if isinstance(content, str) else _dumps(content)
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, dict):
                described = {k: v for k, v in tool.items() if k != "cache_control"}
                found[f"tool {_tool_name(tool, i)}"] = _dumps(described)
    return found


def conversation_key(body: dict[str, Any], api: str, texts: dict[str, str] | None = None) -> str:
    """Which conversation a request belongs to: its first message, system prompt and tool names,
    volatile values masked. ``texts``: its prefix_texts, when already at hand."""
    items = body.get(_messages_key(api))
    first: Any = None
    if isinstance(items, list):
        first = next((m for m in items if isinstance(m, dict) and m.get("role") not in ("system", "developer")), None)
    elif isinstance(items, str):
        first = items
    texts = prefix_texts(body, api) if texts is None else texts
    prefix = tuple((k, mask(v)) for k, v in texts.items() if not k.startswith("tool "))
    tools = tuple(sorted(k for k in texts if k.startswith("tool ")))
    first_masked = mask(_dumps(without_cache_control(first)))
    # Keyed by what the shape is made of (mostly the very strings mask's cache gives back, so this holds
    # little): a re-sent conversation's key is not serialised and hashed again with its system prompt.
    def key_of_shape() -> str:
        return _sha(_dumps({"api": api, "prefix": dict(prefix), "tools": list(tools), "first": first_masked}))[:16]

    return _KEYS.remembered((api, prefix, tools, first_masked), key_of_shape)


_KEYS: Bounded[tuple, str] = Bounded(1024, lru=True)  # conversations' keys, by their shapes


# -- automatic cache breakpoints (Anthropic) ----------------------------------------------------------

def has_cache_control(body: dict[str, Any]) -> bool:
    """Whether the client set any cache_control: top level, tools, system or any message block."""
    if "cache_control" in body:
        return True
    for key in ("tools", "system"):
        value = body.get(key)
        if isinstance(value, list) and any(isinstance(b, dict) and "cache_control" in b for b in value):
            return True
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(isinstance(b, dict) and "cache_control" in b for b in content):
            return True
    return False


def _cacheable(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") not in _CACHEABLE_BLOCKS:
        return False
    return not (block.get("type") == "text" and not (block.get("text") or "").strip())


def _message_breakpoint(messages: list[Any], i: int) -> tuple | None:
    """Where a breakpoint goes in message i: its last cacheable block, or its string content."""
    message = messages[i]
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return ("messages", i, "content") if content.strip() else None
    if isinstance(content, list):
        for j in range(len(content) - 1, -1, -1):
            if _cacheable(content[j]):
                return ("messages", i, "content", j)
    return None


def plan_breakpoints(body: dict[str, Any]) -> list[tuple]:
    """Where automatic breakpoints go, as paths into the body, in document order of the prefix."""
    plan: list[tuple] = []
    tools = body.get("tools")
    if isinstance(tools, list):
        for i in range(len(tools) - 1, -1, -1):  # deferred tools are not part of the cached prefix
            if isinstance(tools[i], dict) and not tools[i].get("defer_loading"):
                plan.append(("tools", i))
                break
    system = body.get("system")
    if isinstance(system, str) and system.strip():
        plan.append(("system",))
    elif isinstance(system, list):
        for i in range(len(system) - 1, -1, -1):
            if _cacheable(system[i]):
                plan.append(("system", i))
                break
    messages = body.get("messages")
    if isinstance(messages, list):
        # The newest message that can carry one (a trailing thinking-only turn cannot), and the
        # one before it of the same role: where the previous request of the agent loop ended.
        marked = [(i, _message_breakpoint(messages, i)) for i in range(len(messages) - 1, -1, -1)]
        marked = [(i, path) for i, path in marked if path is not None]
        if marked:
            last, newest = marked[0]
            role = messages[last].get("role")
            previous = next((path for i, path in marked[1:] if messages[i].get("role") == role), None)
            plan.extend(p for p in (previous, newest) if p is not None)
    return plan[:MAX_BREAKPOINTS]


def add_breakpoints(text: str, body: dict[str, Any]) -> tuple[str, int]:
    """The request text with automatic breakpoints spliced in, and how many; (text, 0) when the
    client set its own, when there is nowhere to put one, or when the splice cannot be proven right."""
    if has_cache_control(body):
        return text, 0
    plan = plan_breakpoints(body)
    if not plan:
        return text, 0
    try:
        root = jsonspan.index(text, depth=4)
        edits = []
        for path in plan:
            node = root.get(*path)
            if node is None:
                return text, 0
            if node.kind == "object":
                edits.append(jsonspan.insert_member(text, node, EPHEMERAL))
            elif node.kind == "string":  # a plain string becomes one text block carrying the marker
                edits.append((node.start, node.end,
                              '[{"type":"text","text":' + text[node.start:node.end] + "," + EPHEMERAL + "}]"))
            else:
                return text, 0
        new = jsonspan.splice(text, edits)
        if not jsonspan.same(json.loads(new), _expected(body, plan)):
            return text, 0
    except (jsonspan.SpanError, ValueError):
        return text, 0
    return new, len(plan)


def _expected(body: dict[str, Any], plan: list[tuple]) -> dict[str, Any]:
    expected = json.loads(json.dumps(body))
    for path in plan:
        holder: Any = expected
        for step in path[:-1]:
            holder = holder[step]
        value = holder[path[-1]]
        if isinstance(value, dict):
            value["cache_control"] = {"type": "ephemeral"}
        else:
            holder[path[-1]] = [{"type": "text", "text": value, "cache_control": {"type": "ephemeral"}}]
    return expected


# -- message digests: what the prompt cache sees of each message --------------------------------------

def message_digests(body: dict[str, Any], api: str,
                    known: tuple[dict[str, Any], list[str], list[int]] | None = None,
                    texts: list[bytes | None] | None = None,
                    keys: dict[int, tuple[Any, bytes]] | None = None) -> tuple[list[str], list[int]]:
    """One digest per message (or Responses input item) of what the prompt cache sees of it, and its
    size in characters: cache_control left out (clients move it every turn; providers do not count
    it as content) and a string content the same as one text block (a breakpoint turns one into the other).
    ``known``: another body's (body, digests, sizes); an item that is the very same object there is not
    serialised again (the client's body and the one sent share every message the engines left alone).
    ``texts``: each item's JSON as it came (None where not known): the same JSON reads the same, so a
    message re-sent in the next request is looked up by its bytes instead of serialised again.
    ``keys``: filled with ``id(item) -> (item, SHA-1 of its bytes)`` for each item whose bytes were known
    (they read as exactly that item, key order included: the recorder's memo of message counts)."""
    items = body.get(_messages_key(api))
    if not isinstance(items, list):
        return [], []
    other = known[0].get(_messages_key(api)) if known is not None else None
    other = other if isinstance(other, list) else []
    texts = texts if texts is not None and len(texts) == len(items) else None
    digests, sizes = [], []
    for i, item in enumerate(items):
        if i < len(other) and other[i] is item:
            digest, size = known[1][i], known[2][i]
        elif texts is not None and texts[i] is not None:
            key = hashlib.sha1(texts[i]).digest()
            if keys is not None:
                keys[id(item)] = (item, key)
            digest, size = _SEEN.remembered(key, lambda: _message_digest(item))
        else:
            digest, size = _message_digest(item)
        digests.append(digest)
        sizes.append(size)
    return digests, sizes


def _message_digest(item: Any) -> tuple[str, int]:
    text = _dumps(_normal(item))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest(), len(text)


# A message's JSON bytes (by their SHA-1) -> its digest and size: a conversation re-sends its history
# every turn, so most messages were digested a request ago.
_SEEN: Bounded[bytes, tuple[str, int]] = Bounded(8192, lru=True)


def _normal(message: Any) -> Any:
    message = without_cache_control(message)
    if isinstance(message, dict) and isinstance(message.get("content"), str) and message.get("role") in ("user", "assistant"):
        message = {**message, "content": [{"type": "text", "text": message["content"]}]}
    return message


def common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# -- volatile prefixes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class VolatileFinding:
    """Where a changing value is and what kind it looks like; never the value itself, which may be a
    secret (a rotating `API_TOKEN=…` in a system prompt): this goes to the log and the ledger."""

    location: str  # "system[2]", "tool Bash", "instructions", …
    offset: int  # characters into that text where it first differs
    kind: str  # "timestamp", "uuid", "date", "time", "hex id", "random id", "counter", "text"
    line: int  # the line of that text it is on, 1-based
    before_chars: int  # the value's length in the earlier request
    after_chars: int  # and now

    @property
    def before(self) -> str:
        return f"line {self.line:,}: {self.before_chars}-character value"

    @property
    def after(self) -> str:
        return f"line {self.line:,}: {self.after_chars}-character value"

    def describe(self) -> str:
        return (f"{self.kind} in {self.location} line {self.line:,} (character {self.offset:,}) changes between "
                f"requests ({self.before_chars} characters, now {self.after_chars}; values not recorded): every "
                "request misses the prompt cache from there on")


def _span_at(text: str, offset: int) -> tuple[str, int, int]:
    """The volatile-looking value covering ``offset`` (or starting right there), its kind and span."""
    for kind, pattern in _VOLATILE_KINDS:
        for found in pattern.finditer(text, max(0, offset - 64), min(len(text), offset + 64)):
            if found.start() <= offset < max(found.end(), found.start() + 1):
                return kind, found.start(), found.end()
    end = offset
    while end < len(text) and end - offset < SAMPLE_CHARS and not text[end].isspace():
        end += 1
    return "text", offset, max(end, offset + 1)


def diff_prefix(location: str, old: str, new: str) -> VolatileFinding | None:
    if old == new:
        return None
    at = 0
    for x, y in zip(old, new):
        if x != y:
            break
        at += 1
    kind_new, a_new, b_new = _span_at(new, at)
    kind_old, a_old, b_old = _span_at(old, at)
    kind = kind_new if kind_new == kind_old else ("text" if "text" in (kind_new, kind_old) else kind_new)
    start = min(a_new, a_old)
    return VolatileFinding(location, start, kind, new.count("\n", 0, start) + 1, b_old - start, b_new - start)


# -- per-conversation state ----------------------------------------------------------------------

@dataclass
class _Conversation:
    prefix: dict[str, str] = field(default_factory=dict)
    client: list[str] = field(default_factory=list)  # message digests as the client sent them
    sent: list[str] = field(default_factory=list)  # and as Headroom sent them upstream
    sizes: list[int] = field(default_factory=list)  # characters of each message sent
    reported: set[str] = field(default_factory=set)  # volatile locations already reported


@dataclass
class Observation:
    findings: list[VolatileFinding] = field(default_factory=list)  # new this request
    # Characters of the previous request's messages that Headroom sent differently this time
    # although the client sent them the same: the provider writes again what it could have read.
    broken_chars: int = 0


class ConversationTracker:
    """Remembers, per conversation, the last request's prefix texts and message digests."""

    def __init__(self, capacity: int = 256):
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def observe(self, key: str, prefix: dict[str, str], client: list[str], sent: list[str],
                sizes: list[int]) -> Observation:
        with self._lock:
            state = self._conversations.get(key)
            if state is None:
                state = self._conversations[key] = _Conversation()
                if len(self._conversations) > self._capacity:
                    self._conversations.popitem(last=False)
            self._conversations.move_to_end(key)
            seen = Observation()
            if state.prefix:
                for location in sorted(prefix):
                    if location in state.reported or location not in state.prefix:
                        continue
                    finding = diff_prefix(location, state.prefix[location], prefix[location])
                    if finding is not None:
                        state.reported.add(location)
                        seen.findings.append(finding)
            if state.client and len(client) > len(state.client) and common_prefix(state.client, client) == len(state.client):
                # The client appended to its history: whatever of ours changed before that point broke the cache.
                kept = common_prefix(state.sent, sent)
                seen.broken_chars = sum(state.sizes[kept:])
            state.prefix, state.client, state.sent, state.sizes = prefix, client, sent, sizes
            return seen
