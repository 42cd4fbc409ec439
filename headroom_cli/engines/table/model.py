"""What the table engine reads a part into: its lines joined once (Doc), and the tables found in it."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate


@dataclass
class Table:
    """One table found in a part: its line range, header and rows (cells, and the lines they came from)."""

    style: str  # "box", "pipe", "csv", "fixed"
    start: int  # first line of the table (0-based, into the part's lines), its title or header included
    end: int  # one past its last line
    header: list[str] | None
    header_lines: list[int]
    firsts: list[int]  # per row: its first line
    lasts: list[int]  # per row: its last line (a CSV record may span lines)
    cells: list[list[str]]


class Doc:
    """The contents of a part's lines, joined once, with where each line starts (for str.find over all)."""

    __slots__ = ("lines", "text", "starts", "_low", "_low_starts")

    def __init__(self, contents: list[str]) -> None:
        self.lines = contents
        self.text = "\n".join(contents)
        self.starts = _starts(contents)
        self._low: str | None = None
        self._low_starts: list[int] | None = None

    def line_at(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def lowered(self) -> tuple[str, list[int]]:
        """The lower-cased text and its line starts (different only where lower-casing changes a length)."""
        if self._low is None:
            low = self.text.lower()
            if len(low) == len(self.text):
                self._low, self._low_starts = low, self.starts
            else:
                parts = [ln.lower() for ln in self.lines]
                self._low = "\n".join(parts)
                self._low_starts = _starts(parts)
        return self._low, self._low_starts  # type: ignore[return-value]


def _starts(lines: list[str]) -> list[int]:
    return list(accumulate(map((1).__add__, map(len, lines)), initial=0))
