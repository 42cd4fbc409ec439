"""What bench_gateway's clients send: the request bodies of its two workloads.

``conversation`` (the default) is what coding agents send: each client is one agent conversation, and
every request re-sends that conversation's whole history (earlier tool calls and their outputs: test
runs and service logs, compressible) plus one new turn whose tool output (a few KB) is new. Headroom
compresses a part once and replays that decision when it is re-sent (the pipeline's memo in a worker,
the frozen decisions in the shared store), so most of each request costs a lookup. A conversation
starts with HISTORY_TURNS earlier turns (about 75 KB: as if resumed) and runs NEW_TURNS requests, so
bodies go from about 80 to 110 KB (about 95 KB on average); then the client starts a new conversation,
whose first request is all new text. Conversations are distinct per client and per level, and all
streamed, as Claude Code's are.

``unique`` is the worst case: a different ~95 KB ``pytest -v`` log every request, every other request
streamed, so neither the memo nor the frozen decisions ever answer and every request compresses
95 KB from scratch. Real traffic sits between the two, much nearer the first.
"""

from __future__ import annotations

import json
import random
from collections import deque

from bench_proxy import claude_code_body, pytest_log, system_blocks

PASSING = 1030  # PASSED lines for a body of about 95 KB (the unique workload)
HISTORY_TURNS = 15
NEW_TURNS = 8
MODEL = "claude-sonnet-4-5-20250929"
_MODULES = ["orders", "cart", "users", "payments", "search", "inventory", "shipping", "auth", "billing",
            "catalog", "reviews", "returns"]
_LEVELS = ["INFO"] * 12 + ["DEBUG"] * 5 + ["WARN"] * 2 + ["ERROR"]
_EVENTS = ["request handled", "cache miss", "cache hit", "order placed", "payment authorised", "stock reserved",
           "session refreshed", "webhook delivered", "retrying upstream call", "slow query"]


class Unique:
    """A different pytest log every request (one of a few made ahead, numbered), half streamed."""

    name = "unique"

    def __init__(self, variants: int = 16):
        self._logs = [pytest_log(PASSING, seed) for seed in range(variants)]

    def client(self, number: int) -> "UniqueClient":
        return UniqueClient(self)

    def body(self, n: int) -> bytes:
        log = self._logs[n % len(self._logs)]
        log = f"run {n} · seed {n * 7919 % 1000003}\n" + log  # unique: no memo or frozen decision answers it
        return claude_code_body([], log, stream=n % 2 == 1)


class UniqueClient:
    def __init__(self, workload: Unique):
        self.workload = workload

    def prepare(self, requests: int) -> None:
        """Nothing to make ahead: a body is one of a few logs made at the start, numbered."""

    def next_body(self, n: int) -> bytes:
        return self.workload.body(n)


class Conversations:
    """Agent conversations: ``client(number)`` gives a client its own stream of them."""

    name = "conversation"

    def __init__(self) -> None:
        self._next = 0

    def client(self, number: int) -> "ConversationClient":
        return ConversationClient(self, number)

    def new_seed(self) -> int:
        self._next += 1
        return self._next

    def body(self, n: int) -> bytes:  # a representative body, for the size in the header
        conversation = Conversation(0)
        for _ in range(NEW_TURNS // 2):
            conversation.next_body()
        return conversation.next_body()


class ConversationClient:
    """One agent: a conversation after another. Client ``number``'s first one is cut short by
    ``number % NEW_TURNS`` requests, so the clients' conversations do not all start new at the same
    request: agents are not in step, and a paced run (bench_gateway --rate) would otherwise keep every
    client's all-new first request in the same instant, every NEW_TURNS requests, for the whole run."""

    def __init__(self, workload: Conversations, number: int = 0):
        self.workload = workload
        self.conversation = Conversation(workload.new_seed())
        self.conversation.turns_sent = number % NEW_TURNS
        self._ready: deque[Conversation] = deque()

    def prepare(self, requests: int) -> None:
        """Make the next ``requests`` bodies' conversations now (see Conversation.build): a paced load knows
        how many each client sends, and then making them costs its measured window nothing."""
        left = requests - self.conversation.build()
        while left > 0:
            conversation = Conversation(self.workload.new_seed())
            left -= conversation.build()
            self._ready.append(conversation)

    def next_body(self, n: int) -> bytes:
        if self.conversation.turns_sent >= NEW_TURNS:
            self.conversation = self._ready.popleft() if self._ready else Conversation(self.workload.new_seed())
        return self.conversation.next_body()


class Conversation:
    """One agent's conversation: its history, and a new tool round per request."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.turns_sent = 0
        self.messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": task(self.rng, seed)}]}]
        # Each message's JSON, written once: the clients share the bench's process with its event loop, so
        # a body is joined from these rather than the whole history serialised again every request.
        self._written: list[bytes] = [_dumps(self.messages[0])]
        body = {"model": MODEL, "max_tokens": 32000, "system": system_blocks(), "messages": [],
                "metadata": {"user_id": f"user_bench__session_{seed:08d}"}, "stream": True}
        self._head, self._tail = _dumps(body).split(b'"messages":[]')
        self._built: deque[tuple[int, bytes]] = deque()  # build()'s requests: (newest's index, its marked JSON)
        for turn in range(HISTORY_TURNS):
            self._add_turn(turn)

    def build(self) -> int:
        """Make every turn still to be sent now, in the order next_body() would (so the same bytes), and
        drop the messages' dicts: a request then only joins bytes (the tool outputs' random text and their
        JSON took ~0.5 ms a request, 7% of a core at 150 requests/s). The number of requests left."""
        for turn in range(self.turns_sent + len(self._built), NEW_TURNS):
            self._add_turn(HISTORY_TURNS + turn)
            self._built.append((len(self._written) - 1, _marked(self.messages[-1])))
        self.messages = self.messages[-1:]
        return len(self._built)

    def next_body(self) -> bytes:
        """The body ``json.dumps`` writes (compact, UTF-8) for the history with the newest message marked."""
        if self._built:
            newest_at, newest = self._built.popleft()
        else:
            self._add_turn(HISTORY_TURNS + self.turns_sent)
            newest_at, newest = len(self._written) - 1, _marked(self.messages[-1])
        self.turns_sent += 1
        return b"".join((self._head, b'"messages":[', b",".join(self._written[:newest_at]), b",", newest, b"]",
                         self._tail))

    def _add_turn(self, turn: int) -> None:
        tool_id = f"toolu_{self.seed:06d}{turn:04d}"
        if turn % 3 == 2:
            command, output = "tail -n 40 logs/app.log", service_log(self.rng, 40)
        else:
            command, output = "python -m pytest -v tests/", pytest_run(self.rng, 30 + self.rng.randrange(30))
        for message in ({"role": "assistant", "content": [
                            {"type": "text", "text": f"Step {turn}: let me check with `{command}`."},
                            {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": command}}]},
                        {"role": "user", "content": [
                            {"type": "tool_result", "tool_use_id": tool_id, "content": output}]}):
            self.messages.append(message)
            self._written.append(_dumps(message))


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def task(rng: random.Random, seed: int) -> str:
    """The user's first message: in words, as each agent's task differs (Headroom tells conversations apart
    by it with numbers masked, so "Conversation 7" and "Conversation 8" would read as one conversation)."""
    broken, changed = rng.sample(_MODULES, 2)
    codename = "".join("abcdefghij"[int(digit)] for digit in str(seed))  # one per conversation, in letters
    return (f"The {broken} tests fail in CI since the {changed} change on branch fix-{codename}. "
            f"Find out why ({rng.choice(_EVENTS)} looks involved) and fix it.")


def _marked(message: dict) -> bytes:
    return _dumps(_with_cache_breakpoint(message))


def _with_cache_breakpoint(message: dict) -> dict:
    """Claude Code marks the newest tool_result for the prompt cache: the breakpoint moves every turn."""
    blocks = [dict(block) for block in message["content"]]
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    return dict(message, content=blocks)


def pytest_run(rng: random.Random, passing: int) -> str:
    """A short ``pytest -v`` run of a few KB with one failure, its names drawn from ``rng``."""
    total, fail_at = passing + 1, rng.randrange(passing)
    base = rng.randrange(100_000)
    lines = ["============================= test session starts ==============================",
             f"platform linux -- Python 3.11.7, pytest-8.3.4 -- seed {rng.randrange(1 << 32)}",
             f"collected {total} items", ""]
    failed = ""
    for i in range(total):
        module = rng.choice(_MODULES)
        name = f"tests/test_{module}.py::test_{module}_case_{base + i:06d}"
        verdict = "FAILED" if i == fail_at else "PASSED"
        failed = name if i == fail_at else failed
        lines.append(f"{name} {verdict}".ljust(72) + f"[{i * 100 // total:3d}%]")
    lines += ["", "=================================== FAILURES ===================================",
              f"E       AssertionError: expected {rng.randrange(10)} got {rng.randrange(10, 20)}",
              f"FAILED {failed} - AssertionError",
              f"================== 1 failed, {passing} passed in {rng.uniform(2, 60):.2f}s =================="]
    return "\n".join(lines) + "\n"


def service_log(rng: random.Random, count: int) -> str:
    """``count`` lines of a web service's log, timestamps rising, a few warnings and one error."""
    second = rng.randrange(86_400)
    lines = []
    for _ in range(count):
        second += rng.randrange(3)
        stamp = f"2026-03-14T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{rng.randrange(1000):03d}Z"
        lines.append(f"{stamp} {rng.choice(_LEVELS):<5} [{rng.choice(_MODULES)}] {rng.choice(_EVENTS)} "
                     f"request_id={rng.randrange(1 << 48):012x} duration_ms={rng.randrange(1, 900)}")
    return "\n".join(lines) + "\n"


WORKLOADS = {"conversation": Conversations, "unique": Unique}
