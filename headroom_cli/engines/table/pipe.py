"""Pipe tables without outer borders: psql's ``a | b`` over ``---+---``, markdown's over ``--- | ---``."""

from __future__ import annotations

import re

from headroom_cli.engines.table.model import Table

SEPARATOR = re.compile(r"\s*:?-{2,}:?\s*(?:[+|]\s*:?-{2,}:?\s*)+$")


def is_separator(line: str) -> bool:
    return SEPARATOR.match(line) is not None and ("+" in line or "|" in line)


def pipe_table(c: list[str], sep: int, taken: bytearray) -> Table | None:
    """The table whose header is the line above the separator line ``sep``: the rows that follow with at
    least as many bars as the header, up to a blank line or a line of another table."""
    head = sep - 1
    bars = c[head].count("|")
    if bars < 1 or c[head].strip()[:1] in ("|", ""):
        return None
    j = sep + 1
    while j < len(c) and not taken[j] and c[j].count("|") >= bars and c[j].strip():
        j += 1
    if j - sep - 1 < 2:
        return None
    header = [x.strip() for x in c[head].split("|")]
    if len(header) < 2:
        return None
    rows = list(range(sep + 1, j))
    cells = [[x.strip() for x in c[r].split("|")] for r in rows]
    return Table("pipe", head, j, header, [head], rows, list(rows), cells)
