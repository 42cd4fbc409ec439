"""Which lines stay verbatim: the log's head and tail, the first line of every template, every line
of a rare template (the anomalies an agent looks for), the error and warning records (with the stack
trace under an error), and any gap too short to be worth its marker."""

from __future__ import annotations

import re
from collections.abc import Sequence

from headroom_cli.engines.logs.mine import Template
from headroom_cli.engines.logs.shapes import ERROR, WARN

HEAD = 5  # first lines of a part, always kept
TAIL = 5  # last lines of a part, always kept
RARE = 3  # a template seen this often or less is an anomaly: all its lines stay
# Error and warning records stay verbatim, up to this many of one template (then its last one):
# a message repeated hundreds of times is one event, counted in its marker.
ERROR_KEEP = 50
WARN_KEEP = 50
TRACE_LIMIT = 40  # lines of a stack trace (or other continuation) kept under an error record
MIN_RUN = 3  # a shorter run of foldable lines stays: its marker would cost about as much

# A line that continues the record above it rather than starting one: indented, a Java/Python frame.
_CONTINUATION = re.compile(r"[ \t]|at |Caused by|\.\.\. \d+ more|Traceback |[A-Za-z_.]+(?:Error|Exception)\b")


def keep_flags(lines: list[str], line_template: list[int], templates: list[Template],
               wanted: Sequence[int] = ()) -> bytearray:
    """1 for each line that stays verbatim, 0 for a line a marker may stand for. ``wanted``: lines
    kept besides (those that name what the agent asks about)."""
    n = len(lines)
    keep = bytearray(n)
    keep[:HEAD] = b"\x01" * min(HEAD, n)
    keep[max(0, n - TAIL):] = b"\x01" * min(TAIL, n)
    last = {index: number for number, index in enumerate(line_template)}
    seen = [0] * len(templates)
    for number, index in enumerate(line_template):
        template = templates[index]
        seen[index] += 1
        if template.count <= RARE or seen[index] == 1:
            keep[number] = 1
        elif template.level >= WARN and (seen[index] <= (ERROR_KEEP if template.level == ERROR else WARN_KEEP)
                                         or last[index] == number):
            keep[number] = 1
        if keep[number] and template.level == ERROR:
            _keep_trace(lines, keep, number)
    for number in wanted:
        keep[number] = 1
    _keep_short_gaps(keep)
    return keep


def _keep_trace(lines: list[str], keep: bytearray, number: int) -> None:
    for after in range(number + 1, min(len(lines), number + 1 + TRACE_LIMIT)):
        if not _CONTINUATION.match(lines[after]):
            return
        keep[after] = 1


def _keep_short_gaps(keep: bytearray) -> None:
    for gap in _GAP.finditer(keep):
        if gap.end() - gap.start() < MIN_RUN:
            keep[gap.start():gap.end()] = b"\x01" * (gap.end() - gap.start())


_GAP = re.compile(b"\x00+")
