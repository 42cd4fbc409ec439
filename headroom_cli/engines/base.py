"""What an engine is: a pure function of (text, context) that may shorten a part."""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from headroom_cli.focus import Focus


@dataclass(frozen=True)
class Part:
    """One compressible piece of a request: a tool output's text and where it came from."""

    text: str
    kind_hint: str | None = None  # e.g. "tests", "logs" when the caller knows (--kind)
    tool_name: str | None = None  # e.g. "Bash", "Read" when the adapter can tell
    tool_input: str | None = None  # what the tool was asked: a Bash command, a Read file_path, a grep pattern
    query: str | None = None  # the question the agent has in mind, where known
    first_line: int = 1  # the file's line the text starts at: a Read window's first line number
    focus: "Focus | None" = None  # what the conversation says the agent works on (focus.py)


@dataclass(frozen=True)
class Context:
    part_id: str  # the CCR ID of the original part, for markers
    deadline: float  # a cpu_clock() value (of the thread running the engine) past which it should give up
    # Source files with fewer lines stay verbatim (HEADROOM_CODE_MIN_LINES); None: the environment's or the default.
    code_min_lines: int | None = None


@dataclass(frozen=True)
class Result:
    text: str
    kind: str  # what the engine judged the content to be, e.g. "tests", "logs"
    # How many lines/records/items the output leaves out that it cannot give back by itself. Nonzero
    # means lossy: the pipeline then stores the original under ctx.part_id for its markers to redeem.
    omitted: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


# The one clock every deadline is read on: the CPU time of the calling thread. A part's budget guards
# against pathological input, so it must count the engine's own work only: wall time would also count
# other processes and threads (a busy laptop, ten requests at once) and make the output depend on load.
# A deadline is only meaningful in the thread that set it (the pipeline runs a part in one thread).
cpu_clock = time.thread_time


# A thread's CPU clock is a system call (and a point where a busy machine takes the thread off its core,
# holding the GIL), the wall clock is not; a thread's CPU time grows no faster than the wall clock. So each
# thread keeps its last CPU reading with the wall time it was taken at, and past() answers "not yet"
# without a system call while the wall clock has moved less than half the CPU time left then (less a
# margin far over any clock's tick): the same answer the CPU clock would give.
_ANCHOR = threading.local()
_ANCHOR_MARGIN_S = 0.05


def _read_cpu() -> float:
    cpu = cpu_clock()
    _ANCHOR.at = (cpu, time.perf_counter())
    return cpu


def deadline_after(budget_s: float) -> float:
    """The deadline ``budget_s`` seconds of this thread's CPU time from now."""
    return _read_cpu() + budget_s


def past(deadline: float) -> bool:
    """Whether this thread has used up the CPU time up to ``deadline``."""
    at = getattr(_ANCHOR, "at", None)
    if at is not None and time.perf_counter() - at[1] < (deadline - at[0] - _ANCHOR_MARGIN_S) * 0.5:
        return False
    return _read_cpu() > deadline


def share_at_least(items: list[Any], hit: Callable[[Any], Any], share: float) -> bool:
    """Whether ``hit`` holds for at least ``share`` of ``items``, read only until that is settled either
    way: the same answer as counting them all (past that many hits the rest cannot undo it, past that
    many misses they cannot make up for them)."""
    need, hits, left = share * len(items), 0, len(items)
    for item in items:
        left -= 1
        if hit(item):
            hits += 1
            if hits >= need:
                return True
        elif hits + left < need:
            return False
    return hits >= need


class EngineTimeout(Exception):
    """Raised by an engine that passed its deadline; the pipeline then keeps the original."""


class Engine(Protocol):
    name: str
    # Optional: a fallback engine (plain text) is asked only after every specialised one passed.
    # fallback: bool = False
    # Optional: False for an engine whose compress() never reads part.focus, so that the pipeline need not
    # read the conversation (milliseconds) for it; the pipeline then passes the part without its focus.
    # reads_focus: bool = True
    # Optional: the highest score detect() gives a part without a kind hint (1.0 when not said), a number or a
    # cheap function of the part (search's: ripgrep's JSON and a search command go higher than the rest). The router
    # does not score an engine whose ceiling cannot beat the surest score so far; tests/test_route_ceiling.py
    # holds every ceiling to detect() on real and mixed parts.
    # ceiling: float | Callable[[Part], float] = 1.0
    # Optional: True for an engine that may take long even on a small part (a model's inference): the proxy's
    # event loop then never compresses a request itself (proxy/offload.py).
    # slow: bool = False

    def detect(self, part: Part) -> float:
        """0.0 (not mine) .. 1.0 (certainly mine). Must be cheap."""

    def compress(self, part: Part, ctx: Context) -> Result | None:
        """A shorter rendering that keeps what matters, or None to leave the part alone."""


# Shared by every engine that reads terminal output: colour and cursor escapes.
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def has_ansi(text: str) -> bool:
    """Whether text holds an escape ``ESC [`` (where ANSI can match): its ESC looked for first, one
    character being found many times quicker than two (3.4 us against 0.06 on 4 KB: the router asks it
    of every part, several times)."""
    return "\x1b" in text and "\x1b[" in text


def hint_score(part: Part, mine: frozenset[str]) -> float | None:
    """1.0 when the caller said the part is one of ``mine`` (e.g. --kind tests), 0.0 when it named
    another kind, None when it said nothing and detection must decide."""
    hint = (part.kind_hint or "").strip().lower()
    if not hint:
        return None
    return 1.0 if hint in mine else 0.0


def split_lines(text: str) -> tuple[list[str], bool]:
    """The lines of text without their newlines, and whether the text ended with one, so that
    ``"\n".join(lines) + ("\n" if ended else "")`` gives the text back."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
        return lines, True
    return lines, False


_STOPWORDS = frozenset(
    "a an and any are as at be but by can did do does for from has have how in into is it its of on or "
    "that the their then there these this to was were what when where which who why will with "
    "between about after before does doing done each other than them they those while".split()
)
_TERM = re.compile(r"[A-Za-z_][\w.\-/]*[\w]|\d[\w.\-]*[\w]")


def query_terms(query: str | None) -> tuple[str, ...]:
    """The words of a question worth searching for (lower-cased, no stopwords, 3+ characters)."""
    if not query:
        return ()
    return _query_terms(query)


@functools.lru_cache(maxsize=64)  # every part of a request, and the next requests, ask it of one question
def _query_terms(query: str) -> tuple[str, ...]:
    terms = []
    for match in _TERM.finditer(query):
        word = match.group(0).strip(".-/").lower()
        if len(word) >= 3 and word not in _STOPWORDS and word not in terms:
            terms.append(word)
    return tuple(terms)


def part_terms(part: Part) -> tuple[str, ...]:
    """The words an engine keeps lines with: the question's, then the conversation's focus."""
    terms = query_terms(part.query)
    if part.focus is None or not part.focus.terms:
        return terms
    known = set(terms)  # the same test as "in terms", without reading the tuple for each focus term
    return terms + tuple(t for t in part.focus.terms if t not in known)
