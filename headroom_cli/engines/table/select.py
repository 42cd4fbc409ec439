"""Which rows of a table to keep. A table with few rows keeps them all; a longer one keeps, besides
its header, the rows that ``rules.py`` finds telling. A row repeating the row above it is never kept on
its own account, so a run of duplicates folds into the marker of the rows around it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import isfinite
from operator import eq

from headroom_cli.engines.table import rules
from headroom_cli.engines.table.model import Doc, Table
from headroom_cli.engines.table.values import num, SAMPLE_TYPE

DROP_MIN_ROWS = 12  # a table with fewer data rows keeps them all


@dataclass
class Rows:
    """A table's rows as the rules read them: by column, numbers parsed; ``keep`` is what they decided."""

    table: Table
    ncols: int
    columns: list[tuple[str, ...]]
    numeric: list[list[float | None] | None]  # per column: its values as numbers, None for a column of words
    dup: bytearray  # 1 where a row repeats the row above it
    keep: bytearray


def select(table: Table, terms: tuple[str, ...], doc: Doc) -> Rows:
    """The table's rows with the ones to keep marked."""
    cells = table.cells
    n = len(cells)
    ncols = len(table.header) if table.header else Counter(len(r) for r in cells).most_common(1)[0][0]
    columns = _columns(cells, ncols)
    dup = bytearray(1) + bytearray(map(eq, cells[1:], cells[:-1])) if n else bytearray()
    rows = Rows(table, ncols, columns, [_numeric(col) for col in columns], dup, bytearray(n))
    if n >= DROP_MIN_ROWS:
        rules.apply(rows, terms, doc)
    else:
        rows.keep = bytearray(b"\x01") * n
    for r in range(n):  # a duplicate of the row above is folded into it
        if dup[r]:
            rows.keep[r] = 0
    return rows


def keeps_all(table: Table) -> bool:
    """Whether select() would keep every row without reading them: a short table, no row repeating the
    one above it (a cheap answer for output made of many small tables)."""
    cells = table.cells
    return len(cells) < DROP_MIN_ROWS and not any(map(eq, cells[1:], cells[:-1]))


def _columns(cells: list[list[str]], ncols: int) -> list[tuple[str, ...]]:
    if all(len(r) == ncols for r in cells):
        return list(zip(*cells)) if cells else [()] * ncols
    pad = [""] * ncols
    return list(zip(*[r[:ncols] if len(r) >= ncols else r + pad[:ncols - len(r)] for r in cells]))


def _numeric(col: tuple[str, ...]) -> list[float | None] | None:
    """The column's values as numbers when most of a sample of them are (None for the cells that are not)."""
    sample = [v for v in col[:SAMPLE_TYPE * 3] if v][:SAMPLE_TYPE]
    if len(sample) < 3:
        return None
    if sum(1 for v in sample if num(v) is not None) < 0.8 * len(sample):
        return None
    try:
        vals: list[float | None] = list(map(float, col))
    except ValueError:
        memo = {v: num(v) for v in set(col)}
        return list(map(memo.__getitem__, col))
    if not all(map(isfinite, vals)):  # type: ignore[arg-type]
        return [v if isfinite(v) else None for v in vals]  # type: ignore[arg-type]
    return vals
