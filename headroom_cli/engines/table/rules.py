"""The rules that mark a long table's telling rows:

1. the first and last rows (the shape of the data, and where a sorted table starts and ends);
2. per numeric column: the rows holding the maximum and the minimum (unless many rows share them),
   the few farthest from the median in robust z-score, and negative values where nearly all are positive;
3. per categorical column (few distinct values): the rows with a rare value (a ``Z`` state among
   ``S``, ``CrashLoopBackOff`` among ``Running``, ``rc`` among dpkg's ``ii``);
4. rows with an error word, or a word where a numeric column holds numbers (``timeout``), rows whose
   number of cells differs from the header's, and for process tables (PID + PPID) the parents of every
   kept row (``words.py``);
5. with a question or a focus: rows holding a term few rows hold, and the top rows of a numeric
   column whose name it mentions (``CPU`` -> ``%CPU``)."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING

from headroom_cli.engines.table import words

if TYPE_CHECKING:
    from headroom_cli.engines.table.model import Doc
    from headroom_cli.engines.table.select import Rows

HEAD_ROWS = 3  # first data rows, always kept when rows are dropped
TAIL_ROWS = 2  # last data rows, always kept
EXTREME_KEEP = 3  # rows kept for a column's maximum / minimum value
OUTLIERS_PER_SIDE = 2  # rows kept per column above and below the median by robust z-score
OUTLIER_Z = 8.0  # robust z-score from which a value counts as an outlier
NEGATIVE_KEEP = 5  # rows kept with a negative value in a column of positive numbers
RARE_VALUES = 6  # rare values per categorical column whose rows are kept
RARE_ROWS = 3  # rows kept per rare value
MALFORMED_ROWS = 10  # rows kept whose cell count differs from the header's
QUERY_TOP = 3  # rows kept from the top of a column the question names
CAT_MAX = 12  # the most distinct values a categorical column may have
_DIGITS = re.compile(r"\d+")
# id columns, whose extremes mean nothing
ID_HEADER = re.compile(r"(?i)(?:p?pid|tid|pgid|sid|uid|gid|id|#|no\.?|num|index|idx|row|line|\w*[_ ]id)$")


def apply(rows: "Rows", terms: tuple[str, ...], doc: "Doc") -> None:
    """Mark in rows.keep every row a rule finds telling."""
    t = rows.table
    n = len(t.cells)
    keep = rows.keep
    for r in [*range(min(HEAD_ROWS, n)), *range(max(0, n - TAIL_ROWS), n)]:
        keep[r] = 1
    bad = [r for r in range(n) if len(t.cells[r]) != rows.ncols and any(t.cells[r])]
    for r in bad[:MALFORMED_ROWS]:
        keep[r] = 1
    for ci, col in enumerate(rows.columns):
        vals = rows.numeric[ci]
        if vals is None:
            categorical(col, keep)
        elif not (t.header and ID_HEADER.match(t.header[ci])):
            numeric(vals, col, keep)
    words.error_and_query_rows(rows, terms, doc)
    if terms and t.header:
        _named_columns(rows, terms)
    words.parents(rows)


def _named_columns(rows: "Rows", terms: tuple[str, ...]) -> None:
    """The top rows of each numeric column whose name the question says (``CPU`` -> ``%CPU``)."""
    n = len(rows.table.cells)
    for ci, name in enumerate(rows.table.header or ()):
        low = name.lower()
        vals = rows.numeric[ci]
        if low and vals is not None and any(term in low or low.strip("%_#") == term for term in terms):
            order = sorted((r for r in range(n) if vals[r] is not None), key=lambda r: (-vals[r], r))
            for r in order[:QUERY_TOP]:
                rows.keep[r] = 1


def numeric(vals: list[float | None], col: tuple[str, ...], keep: bytearray) -> None:
    """Extremes, outliers by robust z-score, rare negatives, and rare words among the numbers."""
    n = len(vals)
    if None in vals:  # a word among numbers ("timeout", "N/A"): telling when rare
        odd = [r for r, v in enumerate(vals) if v is None and col[r]]
        if odd and len(odd) <= max(2, n // 50):
            for r in odd[:RARE_ROWS * 2]:
                keep[r] = 1
    present: list[float] = [v for v in vals if v is not None] if None in vals else vals  # type: ignore[misc]
    if len(present) < 3:
        return
    ordered = sorted(present)
    lo, hi = ordered[0], ordered[-1]
    if lo == hi:
        return
    for extreme in (hi, lo):
        count = present.count(extreme)
        if count <= EXTREME_KEEP:
            _keep_rows(vals, extreme, count, keep)
        elif count * 4 <= n:
            keep[vals.index(extreme)] = 1  # shared by several rows: one of them shows the value
    _negatives(vals, ordered, keep)
    _outliers(vals, ordered, keep)


def _negatives(vals: list[float | None], ordered: list[float], keep: bytearray) -> None:
    m = len(ordered)
    negatives = bisect_left(ordered, 0.0)
    if not (negatives and negatives * 50 <= m + 49 and m - negatives >= 10 * negatives):
        return
    left = NEGATIVE_KEEP
    for r, v in enumerate(vals):
        if v is not None and v < 0:
            keep[r] = 1
            left -= 1
            if not left:
                return


def _outliers(vals: list[float | None], ordered: list[float], keep: bytearray) -> None:
    m = len(ordered)
    med = ordered[m // 2]
    step = m // 1000 + 1  # a sorted sample estimates the spread as well as the whole column does
    devs = sorted([abs(v - med) for v in ordered[::step]])
    mad = devs[len(devs) // 2]
    scale = 1.4826 * mad if mad > 0 else 1.2533 * sum(devs) / len(devs)
    if scale <= 0:
        return
    limit = OUTLIER_Z * scale
    high = [v for v in ordered[:-OUTLIERS_PER_SIDE - 1:-1] if v - med >= limit]
    low = [v for v in ordered[:OUTLIERS_PER_SIDE] if med - v >= limit]
    for v in dict.fromkeys(high + low):
        _keep_rows(vals, v, OUTLIERS_PER_SIDE, keep)


def categorical(col: tuple[str, ...], keep: bytearray) -> None:
    """The rows of the rare values of a column with few distinct values (digits masked, if need be)."""
    n = len(col)
    if n > 400 and len(set(col[:200])) > 100:
        return  # names, ids, free text
    counts = Counter(col)
    key_of = None
    if len(counts) > max(2, min(CAT_MAX, n // 4)):
        if len(counts) > n // 2:
            return  # names, ids, free text
        masked: Counter[str] = Counter()
        for v, k in counts.items():
            masked[_DIGITS.sub("#", v)] += k
        if len(masked) > max(2, min(CAT_MAX, n // 4)):
            return
        key_of = {v: _DIGITS.sub("#", v) for v in counts}
        counts = masked
    top = counts.most_common(1)[0][1]
    limit = max(2, n // 50)
    rare = sorted((k, v) for v, k in counts.items() if k <= limit and k * 4 <= top)
    if not rare:
        return
    wanted = {v: RARE_ROWS for _, v in rare[:RARE_VALUES]}
    for r, v in enumerate(col):
        key = key_of[v] if key_of is not None else v
        left = wanted.get(key)
        if left:
            keep[r] = 1
            wanted[key] = left - 1


def _keep_rows(vals: list[float | None], value: float, count: int, keep: bytearray) -> None:
    """Keep the first `count` rows holding value."""
    r = -1
    for _ in range(count):
        try:
            r = vals.index(value, r + 1)
        except ValueError:
            return
        keep[r] = 1
