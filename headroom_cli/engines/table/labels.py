"""What a marker says about the rows it stands for: counted by the table's most telling categorical
column (a state, a status: ``(2,301 ii, 49 rc)``, ``(12 STAT=S, 3 STAT=R)``), duplicates apart."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headroom_cli.engines.table.select import Rows

MAX_VALUES = 8  # the most distinct values a label column may have
MAX_LABEL = 24  # the longest column name or value a label may show
SAMPLE = 2000
_NOT_IN_MARKER = re.compile(r"[\[\]\n·]")  # a label with these would break the marker's grammar
_STATE_HEADER = re.compile(r"(?i)stat|phase|health|result|level|severity|type|kind|outcome")
_WORD = re.compile(r"\w")


class Labeller:
    """Counts the rows a marker stands for, by the label column's values."""

    def __init__(self, rows: "Rows") -> None:
        self.rows = rows
        self.col = label_column(rows)
        header = rows.table.header
        name = header[self.col] if header and self.col >= 0 else ""
        # a column named by symbols (dpkg's "||/" over "ii") is shown by its values alone
        self.prefix = f"{name}=" if _WORD.search(name) else ""

    def counts(self, r: int, s: int) -> Counter[str]:
        """What rows r..s-1 are, counted."""
        dup = self.rows.dup
        dups = dup.count(1, r, s)
        if self.col < 0:
            counts: Counter[str] = Counter({"rows": s - r - dups} if dups else {})
        else:
            col = self.rows.columns[self.col]
            counts = Counter(f"{self.prefix}{col[x] or '(empty)'}" for x in range(r, s) if not dup[x])
        if dups:
            counts["duplicate rows"] = dups
        return counts


def label_column(rows: "Rows") -> int:
    """The categorical column that best describes rows left out: a state or status column (its name says
    so, or it is named by symbols, as dpkg's ``||/`` over ``ii``, ``rc``) with 1..8 values, even one
    (``STATUS=Running`` says the rows left out all run); else the column with the fewest distinct values
    (2..8). -1 when none fits."""
    header = rows.table.header
    if not header:
        return -1
    best, best_key = -1, (2, 0)
    for ci, col in enumerate(rows.columns):
        name = header[ci]
        if rows.numeric[ci] is not None or not name or len(name) > MAX_LABEL or _NOT_IN_MARKER.search(name):
            continue
        values = set(col[:SAMPLE])
        stated = not _WORD.search(name) or _STATE_HEADER.search(name) is not None
        if not (1 if stated else 2) <= len(values) <= MAX_VALUES:
            continue
        key = (0 if stated else 1, len(values))
        if key < best_key and all(len(v) <= MAX_LABEL and not _NOT_IN_MARKER.search(v) for v in values):
            best, best_key = ci, key
    return best
