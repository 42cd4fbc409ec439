"""Delimited text: CSV, TSV, ``;`` or ``|`` separated records, read with the ``csv`` module so that
quoted fields (even multi-line ones) stay one record."""

from __future__ import annotations

import csv
from collections import Counter

from headroom_cli.engines.table.model import Doc, Table
from headroom_cli.engines.table.values import is_number, numeric_columns

DELIMITERS = (",", "\t", ";", "|")
PROBE_LINES = 60
MIN_ROWS = 3
MAX_FIELD_MEDIAN = 30  # longer fields are prose or log messages, not a table's cells


def delimited_table(doc: Doc, i: int, j: int, min_lines: int, skip: int = 2) -> Table | None:
    """Records over lines i..j-1 (a block without blank lines). Up to ``skip`` lines of another shape
    before them (a command, a title) are left out of the table."""
    c = doc.lines
    probe = c[i:min(j, i + PROBE_LINES)]
    if sum(1 for ln in probe if ln[:1] in (" ", "\t")) > 0.2 * len(probe):
        return None  # indented: code, or a listing
    if sum(1 for ln in probe if ln[:1] in ("{", "[", "<", "#", "/")) > 0.2 * len(probe):
        return None  # JSON lines, markup, comments
    for delim in DELIMITERS:
        shape = _shape(probe, delim)
        if shape == "later":  # a line of another shape on top
            return delimited_table(doc, i + 1, j, min_lines, skip - 1) if skip and j - i > min_lines else None
        if shape is not None:
            return _records(doc, i, j, delim, *shape)
    return None


def _shape(probe: list[str], delim: str) -> tuple[int, bool] | str | None:
    """(fields per record, whether the first is a header) when the probe reads as records split by
    delim; "later" when they start after the first line; None when they do not."""
    if sum(1 for ln in probe if delim in ln) < 0.9 * len(probe):
        return None
    try:
        recs = list(csv.reader(probe, delimiter=delim))
    except csv.Error:
        return None
    k, freq = Counter(len(r) for r in recs).most_common(1)[0]
    if k < 2 or freq < 0.9 * len(recs):
        return None
    if len(recs[0]) != k:
        return "later"
    good = [r for r in recs if len(r) == k]
    if not _cell_like(good):
        return None
    first = recs[0]
    has_header = all(x.strip() and not x.lstrip()[0].isdigit() for x in first) and not any(map(is_number, first))
    typed = numeric_columns(good[1:] if has_header else good, k)
    return (k, has_header) if _enough(delim, k, has_header, typed) else None


def _cell_like(good: list[list[str]]) -> bool:
    """Short fields, not lines ending in the separator (code statements)."""
    lengths = sorted(len(x) for r in good for x in r)
    if lengths[len(lengths) // 2] > MAX_FIELD_MEDIAN:
        return False
    return sum(1 for r in good if not r[-1].strip()) <= 0.5 * len(good)


def _enough(delim: str, k: int, has_header: bool, typed: int) -> bool:
    """Enough evidence of a table: two fields need a header and a numeric column; no header needs three
    fields and a numeric column; ``|`` needs three fields."""
    if k == 2 and not (has_header and typed):
        return False
    if not has_header and (k < 3 or not typed):
        return False
    return not (delim == "|" and k < 3)


def _records(doc: Doc, i: int, j: int, delim: str, k: int, has_header: bool) -> Table | None:
    c = doc.lines
    firsts: list[int] = []
    lasts: list[int] = []
    cells: list[list[str]] = []
    if doc.text.find('"', doc.starts[i], doc.starts[j]) < 0:  # no quoting: one record a line
        firsts = list(range(i, j))
        lasts = list(firsts)
        cells = [ln.split(delim) for ln in c[i:j]]
    else:
        reader = csv.reader(c[i:j], delimiter=delim)
        prev = 0
        try:
            for rec in reader:
                firsts.append(i + prev)
                prev = reader.line_num
                lasts.append(i + prev - 1)
                cells.append(rec)
        except csv.Error:
            return None
    if not cells:
        return None
    header = None
    header_lines: list[int] = []
    if has_header:
        header = cells[0]
        header_lines = list(range(firsts[0], lasts[0] + 1))
        firsts, lasts, cells = firsts[1:], lasts[1:], cells[1:]
    if len(cells) < MIN_ROWS or sum(1 for r in cells if len(r) != k) > 0.2 * len(cells):
        return None
    return Table("csv", i, j, header, header_lines, firsts, lasts, cells)
