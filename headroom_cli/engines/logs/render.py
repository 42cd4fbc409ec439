"""The output: kept lines byte for byte, and one marker per folded run that names its exact line range,
how many lines of which templates it holds, and the spread of their variables."""

from __future__ import annotations

import re
from collections import Counter

from headroom_cli.engines.logs import spread
from headroom_cli.engines.logs.mine import Template
from headroom_cli.engines.logs.shapes import display, WARN
from headroom_cli.markers import marker

TEMPLATES_NAMED = 1  # templates a marker names (the biggest); the rest are counted as "other"
LEVELLED_NAMED = 2  # warning or error templates folded in a gap that its marker names before those
SHOWN_CHARS = 60  # of a template's text
# A short fold's marker is short too: the template's first words, no spread. Between kept lines that
# show the times around it, a long description would cost more than the lines it stands for.
SHORT_FOLD = 20  # lines
SHORT_CHARS = 28
_GAP = re.compile(b"\x00+")


def render(lines: list[str], keep: bytearray, line_template: list[int], templates: list[Template],
           part_id: str) -> tuple[list[str], int]:
    """The output lines and how many original lines the markers stand for."""
    out: list[str] = []
    at = omitted = 0
    for gap in _GAP.finditer(keep):
        start, end = gap.start(), gap.end()
        out.extend(lines[at:start])
        out.append(marker(part_id, _what(lines, start, end, line_template, templates), (start + 1, end)))
        omitted += end - start
        at = end
    out.extend(lines[at:])
    return out, omitted


def _what(lines: list[str], start: int, end: int, line_template: list[int], templates: list[Template]) -> str:
    short = end - start < SHORT_FOLD
    requests = "" if short else spread.requests(lines[start:end])
    if requests:  # an access log's hits: one template per client's shape says less than their statuses
        return f"{end - start:,} log lines omitted: requests, {requests}"
    counts = Counter(line_template[start:end])
    named = _named(counts, templates)[: 1 if short else None]  # a short fold's marker names one
    parts = []
    for rank, index in enumerate(named):
        detail = ""
        if rank == 0 and not short:  # the spread of the first template only: a marker must stay short
            detail = spread.describe([lines[n] for n in range(start, end) if line_template[n] == index])
        shown = display(templates[index].text, SHORT_CHARS if short else SHOWN_CHARS)
        parts.append(f'{counts[index]:,}× "{shown}"' + (f" {detail}" if detail else ""))
    other = sum(count for index, count in counts.items() if index not in named)
    if other:
        parts.append(f"{other:,} other")
    n = end - start
    return f"{n:,} log lines omitted: " + "; ".join(parts)


def _named(counts: Counter[int], templates: list[Template]) -> list[int]:
    """The templates a marker names: repeats of a warning or error folded here first (what a reader
    looking for trouble must know was left out), then the biggest template. Blank lines come last:
    a marker that says "9× blank line" says nothing about the gap."""
    ranked = sorted(counts, key=lambda index: (not templates[index].tokens, -counts[index], index))
    levelled = [index for index in ranked if templates[index].level >= WARN][:LEVELLED_NAMED]
    return levelled + [index for index in ranked if index not in levelled][:TEMPLATES_NAMED]
