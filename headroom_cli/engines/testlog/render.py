"""The output: kept lines copied as they came (prefixes, padding and CRs included), every other run
of at least MIN_RUN lines replaced by one marker line that names the original lines it stands for
and what they were, so that expanding the markers gives back the original exactly."""

from __future__ import annotations

from collections import Counter

from headroom_cli.markers import line_marker

MIN_RUN = 3  # a shorter run of droppable lines is kept as it is: its marker would save nothing


def render(raw: list[str], keep: bytearray, label: list[str], part_id: str, ends_nl: bool) -> tuple[str, int]:
    """(the output text, how many lines its markers stand for)."""
    out: list[str] = []
    omitted = 0
    n = len(raw)
    i = 0
    while i < n:
        if keep[i]:
            j = _next(keep, 0, i, n)
            out.extend(raw[i:j])
            i = j
            continue
        j = _next(keep, 1, i, n)
        if j - i >= MIN_RUN:
            marker = line_marker(part_id, i + 1, j, Counter(label[i:j]))
            size = sum(map(len, raw[i:j])) + (j - i - 1)
            if size > len(marker):  # a run of short lines may be shorter than its marker
                out.append(marker)
                omitted += j - i
                i = j
                continue
        out.extend(raw[i:j])
        i = j
    return "\n".join(out) + ("\n" if ends_nl else ""), omitted


def _next(keep: bytearray, value: int, start: int, n: int) -> int:
    """The first line from ``start`` whose keep flag is ``value``, or n."""
    j = keep.find(value, start)
    return n if j < 0 else j
