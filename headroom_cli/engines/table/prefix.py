"""Claude Code's Read format (``N<TAB>line``): a table is read after the number; its lines are copied with it."""

from __future__ import annotations

import re

# cat -n's shape: the line number right-aligned in six columns, then a tab (or the arrow some clients draw)
_READ_PREFIX = re.compile(r"(?: {5}\d| {4}\d\d| {3}\d{3}|  \d{4}| \d{5}|\d{6,})(?:\t|\u2192)")
SAMPLE = 200


def contents(lines: list[str]) -> list[str]:
    """The lines as the table reader sees them: without the ``N<TAB>`` prefix, where every line has one
    and the numbers count up, and without CRs."""
    sample = [ln for ln in lines[:SAMPLE] if ln]
    plain = [ln.rstrip("\r") for ln in lines] if any("\r" in ln for ln in sample) else lines
    if not sample or sum(1 for ln in sample if _READ_PREFIX.match(ln)) < 0.9 * len(sample):
        return plain
    numbers = [int(m.group()[:-1]) for ln in sample[:20] if (m := _READ_PREFIX.match(ln))]
    if any(b != a + 1 for a, b in zip(numbers, numbers[1:])):
        return plain  # not consecutive line numbers: a column of the data
    return [ln[m.end():] if (m := _READ_PREFIX.match(ln)) else ln for ln in plain]
