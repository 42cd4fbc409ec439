"""Where the tables of a part are: box-drawn regions first, then pipe tables, then, in each block of
other non-blank lines, delimited records or aligned columns."""

from __future__ import annotations

from headroom_cli.engines.base import EngineTimeout, past
from headroom_cli.engines.table import box, columns, delimited, pipe
from headroom_cli.engines.table.model import Doc, Table

MIN_LINES = 4  # a shorter block holds no table worth reading


def find_tables(doc: Doc, deadline: float | None) -> list[Table]:
    """All tables in the contents, in order and not overlapping."""
    n = len(doc.lines)
    taken = bytearray(n)
    tables = _box_tables(doc, taken)
    _check(deadline)
    tables += _pipe_tables(doc.lines, taken)
    tables += _block_tables(doc, tables, deadline)
    tables.sort(key=lambda t: t.start)
    return tables


def _check(deadline: float | None) -> None:
    if deadline is not None and past(deadline):
        raise EngineTimeout()


def _mark(taken: bytearray, t: Table) -> None:
    taken[t.start:t.end] = b"\x01" * (t.end - t.start)


def _box_tables(doc: Doc, taken: bytearray) -> list[Table]:
    """Runs of rule and row lines that make a box-drawn table."""
    c, text = doc.lines, doc.text
    n = len(c)
    kinds = bytearray(n)
    if not text.isascii() or "|" in text or "+" in text:
        for m in box.LINE_START.finditer(text):
            x = doc.line_at(m.start())
            kinds[x] = box.line_kind(c[x])
    tables = []
    i = 0
    while i < n:
        if not kinds[i]:
            i += 1
            continue
        j = i
        while j < n and kinds[j]:
            j += 1
        t = box.box_table(c, kinds, i, j)
        if t is not None:
            tables.append(t)
            _mark(taken, t)
        i = j
    return tables


def _pipe_tables(c: list[str], taken: bytearray) -> list[Table]:
    """``a | b`` over ``---+---`` or ``--- | ---``, outside the box tables."""
    tables = []
    for i in range(1, len(c) - 1):
        if taken[i] or "-" not in c[i] or "|" not in c[i - 1] or taken[i - 1]:
            continue
        if pipe.is_separator(c[i]):
            t = pipe.pipe_table(c, i, taken)
            if t is not None:
                tables.append(t)
                _mark(taken, t)
    return tables


def _block_tables(doc: Doc, found: list[Table], deadline: float | None) -> list[Table]:
    """In each block of non-blank lines outside the tables found: delimited records, or aligned columns."""
    c = doc.lines
    n = len(c)
    free = bytearray(map(bool, map(str.strip, c)))  # 1: a non-blank line outside the tables found so far
    for t in found:
        free[t.start:t.end] = bytes(t.end - t.start)
    tables = []
    # A block met again (a build's report printed after every rebuild) is read once: what a block holds
    # depends on its lines only. Its first reading's table, and the line it started at.
    read: dict[tuple[str, ...], tuple[Table | None, int]] = {}
    i = 0
    while i < n:
        i = free.find(1, i)
        if i < 0:
            break
        j = free.find(0, i)
        if j < 0:
            j = n
        if j - i >= MIN_LINES - 1:
            key = tuple(c[i:j])
            t, at = read.get(key) or read.setdefault(key, (_block_table(doc, i, j), i))
            if t is not None:
                tables.append(_moved(t, i - at))
        i = j
        _check(deadline)
    return tables


def _block_table(doc: Doc, i: int, j: int) -> Table | None:
    if j - i >= MIN_LINES:
        return delimited.delimited_table(doc, i, j, MIN_LINES) or columns.fixed_table(doc.lines, i, j)
    return columns.fixed_table(doc.lines, i, j)  # a header over two rows: only a program's shouted one


def _moved(t: Table, by: int) -> Table:
    if not by:
        return t
    return Table(t.style, t.start + by, t.end + by, t.header, [x + by for x in t.header_lines],
                 [x + by for x in t.firsts], [x + by for x in t.lasts], t.cells)
