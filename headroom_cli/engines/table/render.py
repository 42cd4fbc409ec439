"""A table's output: its lines before the first row (title, header, rules) as they are, then each kept
row as its original line(s), padding and all, and each run of rows left out as one marker line that
names the original lines it replaces (``headroom retrieve ID --lines A-B`` gives them back)."""

from __future__ import annotations

from headroom_cli.engines.table.labels import Labeller
from headroom_cli.engines.table.select import Rows
from headroom_cli.markers import omission_marker


def render(rows: Rows, lines: list[str], part_id: str, out: list[str]) -> int:
    """Append the table's lines to out; return how many original lines its markers stand for."""
    t = rows.table
    n = len(t.cells)
    keep = rows.keep
    labeller = Labeller(rows)
    omitted = 0
    out.extend(lines[t.start:t.firsts[0] if n else t.end])
    r = 0
    while r < n:
        s = r + 1
        if not keep[r]:
            while s < n and not keep[s]:
                s += 1
        a, b = t.firsts[r], t.lasts[s - 1]
        marker = omission_marker(part_id, s - r, "rows", labeller.counts(r, s), (a + 1, b + 1)) if s - r >= 2 else ""
        if marker and len(marker) < _size(lines, a, b, len(marker)):
            out.append(marker)
            omitted += b - a + 1
        else:
            out.extend(lines[a:b + 1])
        if s < n and t.firsts[s] > b + 1:
            out.extend(lines[b + 1:t.firsts[s]])  # a rule between rows
        r = s
    if n:
        out.extend(lines[t.lasts[-1] + 1:t.end])
    return omitted


def _size(lines: list[str], a: int, b: int, enough: int) -> int:
    """The characters lines a..b take (newlines but one counted), counted only until they pass ``enough``."""
    size = -1
    for x in range(a, b + 1):
        size += len(lines[x]) + 1
        if size > enough:
            break
    return size
