"""The spread of a folded template's variables, in words a reader can act on:
``times 08:01:02–08:14:55, 37 hosts, 812 ids (blk_…)``. Read from the folded lines themselves."""

from __future__ import annotations

import re
from collections import Counter

from headroom_cli.engines.logs.shapes import VALUE

SHOWN = 2  # variables described per template
_TIME = re.compile(r"(?<!\d)\d\d?:\d\d(?::\d\d)?")  # not inside a year (2026:17:34:18)
_HOST = re.compile(r"/?\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# An access log's request and status ("GET /a HTTP/1.1" 404): its variables are the path and the status,
# which the columns below cannot line up (user agents hold varying numbers of values).
_REQUEST = re.compile(r'"[A-Z]{3,7} (\S+) HTTP/[\d.]+" (\d{3}) ')
STATUSES = 4  # statuses named in a fold of requests, the most frequent first


def describe(lines: list[str]) -> str:
    """The variables that differ between ``lines`` (all of one template), most telling first."""
    hits = requests(lines)
    if hits:
        return hits
    rows = [VALUE.findall(line) for line in lines]
    width = len(rows[0]) if rows else 0
    if width == 0 or any(len(row) != width for row in rows):
        return _times_only(lines)
    facts: list[tuple[int, str]] = []
    time_said = False
    for column in zip(*rows):
        values = dict.fromkeys(column)  # distinct, in order of appearance
        if len(values) == 1:
            continue
        fact = _fact(column, values, time_said)
        if fact is not None:
            time_said = time_said or fact[0] == 0
            facts.append(fact)
    facts.sort(key=lambda fact: fact[0])
    return ", ".join(text for _, text in facts[:SHOWN])


def _fact(column: tuple[str, ...], values: dict[str, None], time_said: bool) -> tuple[int, str] | None:
    first, last = column[0], column[-1]
    if _TIME.fullmatch(first) or _TIME.search(first) and first.count(":") >= 2:
        return None if time_said else (0, f"times {_clock(first)}–{_clock(last)}")
    if _HOST.fullmatch(first):
        return 1, f"{len(values):,} hosts"
    if _NUMBER.fullmatch(first) and all(_NUMBER.fullmatch(v) for v in values):
        numbers = sorted(float(v) for v in values)
        return 3, f"{_number(numbers[0])}–{_number(numbers[-1])}"
    return 2, f"{len(values):,} ids ({_prefix(first)}…)"


def requests(lines: list[str]) -> str:
    """``times 08:01:02–08:14:55, status 500 ×1, 200 ×40, 404 ×13, 25 paths`` for a fold of an access
    log's requests (server errors first, then the most frequent), else ""."""
    found = [match for match in map(_REQUEST.search, lines) if match]
    if not found or len(found) < 0.8 * len(lines):
        return ""
    counted = Counter(match[2] for match in found)
    statuses = sorted(counted.items(), key=lambda item: (item[0][0] != "5", -item[1], item[0]))
    shown = ", ".join(f"{status} ×{count:,}" for status, count in statuses[:STATUSES])
    more = f", {len(statuses) - STATUSES} more" if len(statuses) > STATUSES else ""
    paths = len({match[1].split("?")[0] for match in found})
    facts = (_times_only(lines), f"status {shown}{more}", f"{paths:,} path{'s' if paths > 1 else ''}")
    return ", ".join(fact for fact in facts if fact)


def _times_only(lines: list[str]) -> str:
    first = _TIME.search(lines[0]) if lines else None
    last = _TIME.search(lines[-1]) if lines else None
    if first and last and first.group() != last.group():
        return f"times {first.group()}–{last.group()}"
    return ""


def _clock(value: str) -> str:
    """The time of day in a timestamp (08:01:02 of 2024-06-20T08:01:02.123Z), else the value."""
    match = _TIME.search(value)
    return match.group() if match else value[:26]


def _prefix(value: str) -> str:
    """What ids of one kind share at their start: letters and separators before the digits."""
    match = re.match(r"[^\d]*", value)
    head = match.group() if match else ""
    return (head or value[:6])[:16]


def _number(value: float) -> str:
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"
