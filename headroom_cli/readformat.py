"""Claude Code's Read tool numbers every line (`N<TAB>line`). Engines see the plain text; kept lines
get their numbers back afterwards, so the model still reads the file's own line numbers."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from headroom_cli.markers import MARKER_RE, original_lines

_NUMBERED = re.compile(r"( *(\d+)(?:\t|\u2192))(.*)", re.DOTALL)
_BARE_NUMBER = re.compile(r" *(\d+)")  # a last empty line whose tab the client trimmed away
# What Claude Code may append to a tool result: reminders for the model, after a blank line.
_REMINDER_TAIL = re.compile(r"\n\s*<system-reminder>.*</system-reminder>\s*\Z", re.DOTALL)


@dataclass(frozen=True)
class Numbered:
    """A Read output taken apart: the file's text, each line's number prefix, and what the client
    appended after the numbered lines (kept as it is)."""

    plain: str
    prefixes: list[str]
    tail: str = ""


def unwrap(text: str) -> Numbered | None:
    """The Read output without its line-number prefixes, or None when it is not in Read format.

    Every line must be numbered, consecutively from any start, for the text to count as Read output;
    only a trailing ``<system-reminder>`` block the client appended may follow (its last numbered line
    may then have lost its tab, as an empty line trimmed at its end).
    """
    if _NUMBERED.match(text) is None:  # the first line is not numbered (most parts): nothing else read
        return None
    return _numbered(text)


def _numbered(text: str) -> Numbered | None:
    """unwrap's reading, line by line (the first line's number not checked beforehand)."""
    tail = _REMINDER_TAIL.search(text)
    body, rest = (text[:tail.start() + 1], text[tail.start() + 1:]) if tail else (text, "")
    lines = original_lines(body)
    if len(lines) < 2:
        return None
    prefixes, plain = [], []
    expected = None
    for index, line in enumerate(lines):
        match = _NUMBERED.match(line)
        if not match and rest and index == len(lines) - 1 and (bare := _BARE_NUMBER.fullmatch(line.rstrip("\n"))):
            match = bare if expected is None or int(bare.group(1)) == expected else None
            if match:
                prefixes.append(line.rstrip("\n"))
                plain.append(line[len(line.rstrip("\n")):])
                break
        if not match:
            return None
        number = int(match.group(2))
        if expected is not None and number != expected:
            return None
        expected = number + 1
        prefixes.append(match.group(1))
        plain.append(match.group(3))
    return Numbered("".join(plain), prefixes, rest)


def first_number(prefixes: list[str]) -> int:
    """The line number the first prefix shows: where in its file a Read window starts."""
    match = _NUMBERED.match(prefixes[0]) if prefixes else None
    return int(match.group(2)) if match else 1


def rewrap(compressed: str, numbered: Numbered) -> str:
    """Give each kept line its number back: output lines that are original lines, in order, get that
    line's prefix; anything else (markers, re-rendered text, blank lines) stays as it is. What the
    client appended comes after, as it was."""
    return _renumber(compressed, numbered.plain, numbered.prefixes) + numbered.tail


def _renumber(compressed: str, plain: str, prefixes: list[str]) -> str:
    where: dict[str, list[int]] = {}
    for index, original in enumerate(original_lines(plain)):
        where.setdefault(original.rstrip("\r\n"), []).append(index)
    out = []
    i = 0  # original lines before i are used up
    for line in original_lines(compressed):
        # A blank line carries no information worth a number, and re-rendered output has many.
        places = where.get(line.rstrip("\r\n")) if line.strip() else None
        k = bisect_left(places, i) if places else 0
        if places and k < len(places):
            j = places[k]
            out.append(prefixes[j] + line)
            i = j + 1
        else:
            out.append(line)
            # Lines a marker stands for are used up: a `}` after an elided body is the body's own,
            # not one of the same text inside it.
            for marker in MARKER_RE.finditer(line):
                if marker["b"] and int(marker["a"]) - 1 >= i:  # a gap in order, just after what was kept
                    i = int(marker["b"])
    return "".join(out)


def name_file_lines(text: str, original: str, part_id: str) -> str:
    """In Read output the model reads the file's own line numbers, but ``--lines`` counts the lines of
    the part as the client sent it, and the two differ after an offset Read or a cut made by the
    client (`... [N characters truncated] ...`). Such a marker also names the file lines it held, so
    that neither number misleads: ``[headroom: 91 lines omitted, file lines 505-595 · retrieve … --lines 6-96]``."""
    if part_id not in text or ("\t" not in original and "\u2192" not in original):
        return text  # no marker of this part, or no line that shows a number the way Read does
    return _name_lines(text, original, part_id)


def _name_lines(text: str, original: str, part_id: str) -> str:
    """name_file_lines, each marker of the part looked at (whether a line can show a number not checked first)."""
    lines = None

    def named(match: re.Match[str]) -> str:
        nonlocal lines
        if match["id"] != part_id or match["a"] is None:
            return match.group(0)
        lines = lines if lines is not None else original_lines(original)
        a, b = int(match["a"]), int(match["b"])
        first, last = _number_of(lines, a), _number_of(lines, b)
        if first is None or last is None or (first, last) == (a, b) or last - first != b - a:
            return match.group(0)
        return match.group(0).replace(" · retrieve ", f", file lines {first}-{last} · retrieve ", 1)

    return MARKER_RE.sub(named, text)


def _number_of(lines: list[str], n: int) -> int | None:
    """The Read line number shown on the part's line n (1-based), if it has one."""
    match = _NUMBERED.match(lines[n - 1]) if 1 <= n <= len(lines) else None
    return int(match.group(2)) if match else None
