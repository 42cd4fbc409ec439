"""Box-drawn tables: Unicode boxes (``sqlite3 -box``, rich, polars: ``┌─┬─┐`` / ``│``) and ASCII ones
(``+---+`` over ``| a | b |``: MySQL, ``sqlite3 -table``, tabulate's grid, markdown with outer pipes).

Lines are classified as rules (BORDER) or rows of cells between bars (ROW); a run of them is one table,
its header the rows above the first rule that has rows below it."""

from __future__ import annotations

import re
from collections import Counter

from headroom_cli.engines.table.model import Table

_BOX = "".join(chr(c) for c in range(0x2500, 0x2580))
_BORDER_CHARS = _BOX + "+-=|:. \t\r"
_HORIZ = "─━═-=┄┅┈┉╌╍"
_UNI_VBARS = "│┃║┆┇┊┋╎╏"
VBARS = _UNI_VBARS + "|"
_TO_VBAR = str.maketrans({c: "│" for c in _UNI_VBARS})
LINE_START = re.compile("^[ \t]*[" + re.escape(VBARS + _BOX + "+") + "]", re.M)  # lines worth classifying
BORDER, ROW = 1, 2
MAX_HEADER_ROWS = 3


def line_kind(line: str) -> int:
    """BORDER for a rule of a box-drawn table, ROW for a line of cells between vertical bars, else 0."""
    s = line.strip()
    if len(s) < 3:
        return 0
    c0 = s[0]
    if c0 in VBARS and s[-1] in VBARS:
        if not s.strip(_BORDER_CHARS) and sum(s.count(h) for h in _HORIZ) >= 3:
            return BORDER
        return ROW
    if c0 in _BORDER_CHARS and c0 not in " \t.:" and not s.strip(_BORDER_CHARS):
        if sum(s.count(h) for h in _HORIZ) >= 3 and (c0 in _BOX or c0 == "+" or "+" in s):
            return BORDER
    return 0


def box_table(c: list[str], kinds: bytearray, i: int, j: int) -> Table | None:
    """The table drawn on lines i..j-1 (all classified as rules or rows), or None if it is not one."""
    rows = [x for x in range(i, j) if kinds[x] == ROW]
    if len(rows) < 2:
        return None
    bar = c[rows[-1]].strip()[0]  # the bar of the body (rich draws its header with another)
    if len(rows) == j - i and not _one_shape(c, rows, bar):  # bars only, no rules: one shape throughout
        return None
    header_rows = _header_rows(kinds, i, j)
    split = _split_rows(c, kinds, rows, bar, i, j)
    header = None
    if header_rows:
        parts = [split[x] for x in header_rows]
        if len({len(p) for p in parts}) == 1:
            header = [" ".join(filter(None, col)) for col in zip(*parts)]
        else:
            header = parts[0]
    data = rows[len(header_rows):]
    if not data:
        return None
    return Table("box", i, j, header, header_rows, data, list(data), [split[x] for x in data])


def _one_shape(c: list[str], rows: list[int], bar: str) -> bool:
    if len(rows) < 3:
        return False
    counts = {c[x].translate(_TO_VBAR).count("│" if bar != "|" else "|") for x in rows}
    return len(counts) == 1 and counts.pop() >= 3


def _header_rows(kinds: bytearray, i: int, j: int) -> list[int]:
    """The rows above the first rule that has rows below it (none when there is no such rule)."""
    header_rows: list[int] = []
    for x in range(i, j):
        if kinds[x] == BORDER and header_rows and any(kinds[y] == ROW for y in range(x + 1, j)):
            return header_rows if len(header_rows) <= MAX_HEADER_ROWS else []
        if kinds[x] == ROW:
            header_rows.append(x)
    return []


def _split_rows(c: list[str], kinds: bytearray, rows: list[int], bar: str, i: int, j: int) -> dict[int, list[str]]:
    """Each row line's cells. A row with another number of cells than most holds a bar inside a cell:
    it is split where the rule lines put the column bars."""
    joined = "".join([c[x] for x in rows])
    others = "".join(ch for ch in _UNI_VBARS if ch in joined and ch != "│") if bar != "|" else ""
    split = {x: _cells(c[x], bar, others) for x in rows}
    width = Counter(len(v) for v in split.values()).most_common(1)[0][0]
    odd = [x for x in rows if len(split[x]) != width]
    junctions = _junctions(c, kinds, i, j) if odd else None
    if junctions:
        for x in odd:
            line = c[x].rstrip()
            if len(line) == junctions[-1] + 1 and all(line[p] in VBARS for p in junctions):
                split[x] = [line[a + 1:b].strip() for a, b in zip(junctions, junctions[1:])]
    return split


def _junctions(c: list[str], kinds: bytearray, i: int, j: int) -> tuple[int, ...] | None:
    """Where the column bars sit, read off a rule line (``+----+---+``), for tables whose cells hold bars."""
    for x in range(i, j):
        if kinds[x] == BORDER:
            line = c[x].rstrip()
            pos = tuple(p for p, ch in enumerate(line) if ch not in _HORIZ and ch not in " \t:")
            return pos if len(pos) >= 2 else None
    return None


def _cells(line: str, bar: str, others: str) -> list[str]:
    """The cells of a row line; ``others``: the other bar characters the table uses (rich's ┃, polars' ┆)."""
    inner = line.strip()[1:-1]
    if bar == "|":
        return [x.strip() for x in inner.split("|")]
    for ch in others:
        inner = inner.replace(ch, "│")
    return [x.strip() for x in inner.split("│")]
