"""Cuts the conversation's focus forbids: the code around a traceback's frame, a compiler error's
line, the line an Edit is about to replace. The function to fix stays whole in a whole-file Read."""

from __future__ import annotations

from headroom_cli.engines.code.fold import Aim
from headroom_cli.engines.code.outline import Cut
from headroom_cli.focus import Focus

AMBIGUOUS_ROWS = 2  # a focus line found on more rows than this does not say where the focus is


def uncut(cuts: list[Cut], rows: list[str], focus: Focus, path: str | None, row_to_line: int) -> list[Cut]:
    """The cuts that hide none of the focus's lines or locations in this file. ``row_to_line``: the
    file's line number of row 0 (a Read window's first line, less any made-up frame's rows)."""
    lines = [line for line in focus.lines if line]
    numbers = _lines_here(focus, path)
    if not lines and not numbers:
        return cuts
    kept = []
    for cut in cuts:
        if any(cut.first <= n - row_to_line <= cut.last for n in numbers):
            continue
        if lines and any(line in row for row in rows[cut.first:cut.last + 1] for line in lines):
            continue
        kept.append(cut)
    return kept


def _lines_here(focus: Focus, path: str | None) -> set[int]:
    """The focus's line numbers in the file this part shows (paths match by their trailing components)."""
    if not path or not focus.locations:
        return set()
    mine = "/" + path.replace("\\", "/").lstrip("./")
    found = set()
    for where, line in focus.locations:
        theirs = "/" + where.replace("\\", "/").lstrip("./")
        if mine.endswith(theirs) or theirs.endswith(mine):
            found.add(line)
    return found


def aim(focus: Focus, rows: list[str], path: str | None, row_to_line: int, wanted: frozenset[str]) -> Aim:
    """Where in this file the focus points: the rows of its locations and lines, and the names it wants."""
    hits = {n - row_to_line for n in _lines_here(focus, path) if 0 <= n - row_to_line < len(rows)}
    lines = [line for line in focus.lines if line]
    for line in lines:
        found = [i for i, row in enumerate(rows) if line in row]
        if len(found) <= AMBIGUOUS_ROWS:  # `assert out == (` in forty tests points at none of them
            hits.update(found)
    return Aim(frozenset(hits), wanted)
