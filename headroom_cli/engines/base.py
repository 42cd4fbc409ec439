"""What an engine is: a pure function of (text, context) that may shorten a part."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Part:
    """One compressible piece of a request: a tool output's text and where it came from."""

    text: str
    kind_hint: str | None = None  # e.g. "tests", "logs" when the caller knows (--kind)
    tool_name: str | None = None  # e.g. "Bash", "Read" when the adapter can tell
    query: str | None = None


@dataclass(frozen=True)
class Context:
    part_id: str  # the CCR ID of the original part, for markers
    deadline: float  # time.perf_counter() value after which an engine should give up


@dataclass(frozen=True)
class Result:
    text: str
    kind: str  # what the engine judged the content to be, e.g. "tests", "logs"
    omitted_lines: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


class EngineTimeout(Exception):
    """Raised by an engine that passed its deadline; the pipeline then keeps the original."""


class Engine(Protocol):
    name: str

    def detect(self, part: Part) -> float:
        """0.0 (not mine) .. 1.0 (certainly mine). Must be cheap."""

    def compress(self, part: Part, ctx: Context) -> Result | None:
        """A shorter rendering that keeps what matters, or None to leave the part alone."""
