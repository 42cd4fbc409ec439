"""Which lines stay verbatim: the log's head and tail, the first line of every template, every line
of a rare template (the anomalies an agent looks for), the first records of each error and warning
(with the stack trace or the indented lines under them), and any gap too short to be worth its marker.

Rarity is news in a log of records (stamped or levelled lines), or where rare lines are few against
a background of routine ones. In a tool's output where many lines are printed once (a build's or a
deploy's chatter), rarity says nothing: there a template seen once stays only for its level, and
the others fold (detect.rarity_is_news decides).

A warning or error repeated many times is one event: its first records and its last stay, the
repeats between fold into the markers around them, which name it first (render.py). An error whose
words differ from every error kept so far is a distinct event and stays. A record's trace (the lines
that continue it) is part of it: it stays or folds with the record, and a repeat shows only its top."""

from __future__ import annotations

import re
from collections.abc import Sequence

from headroom_cli.engines.logs.mine import Template
from headroom_cli.engines.logs.shapes import ERROR, WARN

HEAD = 5  # first lines of a part, always kept
TAIL = 5  # last lines of a part, always kept
RARE = 2  # a template seen this often or less is an anomaly: all its lines stay
# Records of one warning or error shape (its words; only variables differ) kept before the repeats
# fold, and shapes of one template kept as distinct events (a warning's variants say less).
WARN_REPEATS = 2
ERROR_REPEATS = 5
WARN_SHAPES = 20
ERROR_SHAPES = 50
TRACE_LIMIT = 40  # lines of a stack trace (or other continuation) kept under an error record
WARN_TRACE = 5  # ... under a warning: its explanation, the top of its trace
REPEAT_TRACE = 1  # ... under a repeat of a record kept before: its exception line (the frames were shown)
MIN_RUN = 3  # a shorter run of foldable lines stays: its marker would cost about as much

# A line that continues the record above it rather than starting one: indented, a Java/Python frame.
_CONTINUATION = re.compile(r"[ \t]|at |Caused by|\.\.\. \d+ more|Traceback |[A-Za-z_.]+(?:Error|Exception)\b")


def keep_flags(lines: list[str], line_template: list[int], templates: list[Template],
               wanted: Sequence[int] = (), shapes: Sequence[str] = (), rare_is_news: bool = True) -> bytearray:
    """1 for each line that stays verbatim, 0 for a line a marker may stand for. ``wanted``: lines
    kept besides (those that name what the agent asks about); ``shapes``: each line's masked text,
    which tells a repeated record from a distinct one (without it, every record is distinct);
    ``rare_is_news``: rare templates are the anomalies (else a tool's output where they are not)."""
    n = len(lines)
    keep = bytearray(n)
    keep[:HEAD] = b"\x01" * min(HEAD, n)
    keep[max(0, n - TAIL):] = b"\x01" * min(TAIL, n)
    last = {index: number for number, index in enumerate(line_template)}
    kept = _Records(shapes, lines)
    seen = [0] * len(templates)
    owner = _owners(lines, line_template, templates)
    for number, index in enumerate(line_template):
        template = templates[index]
        seen[index] += 1
        record = owner[number] < 0  # a trace's line stays with its record (or as news), not as one
        if _news(template, seen[index], rare_is_news):
            keep[number] = 1
            kept.note(number, index, template.level)
        elif record and template.level >= WARN and (kept.new(number, index, template.level) or last[index] == number):
            keep[number] = 1
        if keep[number] and record and template.level >= WARN:
            limit = TRACE_LIMIT if template.level == ERROR else WARN_TRACE
            _keep_trace(lines, keep, number, REPEAT_TRACE if kept.repeated(number, template.level) else limit)
    for number in wanted:
        keep[number] = 1
    _keep_short_gaps(keep)
    return keep


def _news(template: Template, seen: int, rare_is_news: bool) -> bool:
    """A rare template's line, or a template's first line (in a tool's output, of one seen twice or more)."""
    if not rare_is_news and template.count == 1:
        return template.level >= WARN
    return seen == 1 or (rare_is_news and template.count <= RARE)


def _owners(lines: list[str], line_template: list[int], templates: list[Template]) -> list[int]:
    """For each line that continues a warning or error record (its stack trace, the exception under
    a warning), the record's line; -1 for every other line (an exception under an INFO record stays
    a record of its own, as before: its owner says nothing of its trouble). A repeated warning's trace is one event
    with it: it folds with the record, however its exception line reads."""
    owner = [-1] * len(lines)
    record = -1
    for number, line in enumerate(lines):
        if line and _CONTINUATION.match(line):
            owner[number] = record
        else:
            record = number if templates[line_template[number]].level >= WARN else -1
    return owner


class _Records:
    """How many records of each shape, and how many shapes of each template, are kept so far. An
    error's shape is finer than its template's: digits (and hex runs holding them) masked, words kept,
    so errors that differ in a word hidden in a variable (a client's name and version) are distinct."""

    def __init__(self, shapes: Sequence[str], lines: Sequence[str] = ()) -> None:
        self.shapes = shapes
        self.lines = lines
        self.of_shape: dict[str, int] = {}
        self.of_template: dict[int, int] = {}

    def _shape(self, number: int, level: int) -> str | int:
        if level == ERROR and number < len(self.lines):
            return _DIGITS.sub("0", self.lines[number])
        return self.shapes[number] if number < len(self.shapes) else number

    def note(self, number: int, index: int, level: int = ERROR) -> None:
        shape = self._shape(number, level)
        if shape not in self.of_shape:
            self.of_template[index] = self.of_template.get(index, 0) + 1
        self.of_shape[shape] = self.of_shape.get(shape, 0) + 1

    def repeated(self, number: int, level: int) -> bool:
        """Whether records of this line's shape were kept before it."""
        return self.of_shape.get(self._shape(number, level), 0) > 1

    def new(self, number: int, index: int, level: int) -> bool:
        """Whether this warning or error record stays (and, if so, counts it): a shape not seen yet
        while its template has kept fewer than its limit of shapes, or one of a shape's first repeats."""
        shape = self._shape(number, level)
        kept = self.of_shape.get(shape, 0)
        if kept:
            wanted = kept < (ERROR_REPEATS if level == ERROR else WARN_REPEATS)
        else:
            wanted = self.of_template.get(index, 0) < (ERROR_SHAPES if level == ERROR else WARN_SHAPES)
        if wanted:
            self.note(number, index, level)
        return wanted


def _keep_trace(lines: list[str], keep: bytearray, number: int, limit: int) -> None:
    for after in range(number + 1, min(len(lines), number + 1 + limit)):
        if not _CONTINUATION.match(lines[after]):
            return
        keep[after] = 1


def _keep_short_gaps(keep: bytearray) -> None:
    for gap in _GAP.finditer(keep):
        if gap.end() - gap.start() < MIN_RUN:
            keep[gap.start():gap.end()] = b"\x01" * (gap.end() - gap.start())


_GAP = re.compile(b"\x00+")
_DIGITS = re.compile(r"[0-9A-Fa-f]*\d[0-9A-Fa-f]*")
