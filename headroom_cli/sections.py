"""Split a part into sections that are compressed on their own.

Two things make sections:
- A client may already have cut a tool output (Claude Code drops the middle of a failing command's
  output over 10,000 characters; Codex cuts inline). The notice it leaves is kept verbatim, so the
  model never takes the rest for the whole, and the text on each side is routed on its own.
- Mixed content: a multi-line JSON document inside other output (a log that dumps a response body,
  a command that prints a banner and then JSON) is routed on its own, and so is the text around it.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from itertools import accumulate

from headroom_cli.engines.base import ANSI, Result
from headroom_cli.markers import MARKER_RE, marker, original_lines

# Notices that the client itself cut the output: Claude Code's and Codex's wording.
CLIENT_CUT = re.compile(
    r"\.\.\. \[\d[\d,]* characters truncated\] \.\.\."
    r"|…\s*\d[\d,]* (?:chars|characters|tokens|lines) truncated\s*…"
    r"|^Warning: truncated output\b"
    r"|^Total output lines: \d+$"
)


@dataclass(frozen=True)
class Section:
    first_line: int  # 0-based index of its first line in the part
    text: str
    protected: bool  # kept verbatim


# Every notice holds one of these (a literal scan first: the pattern's search costs milliseconds on 200 KB).
_CUT_WORDS = ("truncated", "Total output lines: ")


def _may_cut(text: str) -> bool:
    return any(word in text for word in _CUT_WORDS)


MIN_JSON_LINES = 15  # a smaller embedded JSON value stays with the text around it
_JSON_START = re.compile(r"[ \t]*[\[{]\s*$|[ \t]*[\[{]\s*[\"\[{]")  # a line that opens a JSON array or object
_OPENING = re.compile(r"\n[ \t]*[\[{]")  # where _JSON_START may match (a literal first: a fast scan)
_decoder = json.JSONDecoder()


def split(text: str) -> list[Section] | None:
    """The part's sections, or None when it is all one section (the usual case)."""
    cut = _may_cut(text) and CLIENT_CUT.search(text) is not None
    if not cut and _OPENING.search("\n" + text) is None:
        return None  # no line opens a JSON value (where _json_blocks looks) and no notice: not split into lines
    return _sections(text, cut)


def _sections(text: str, cut: bool) -> list[Section] | None:
    """split's reading, line by line (whether a line opens a JSON value not checked beforehand)."""
    lines = original_lines(text)
    bounds = _json_blocks(lines)  # (first, end) line ranges of embedded JSON documents
    if not bounds and not cut:
        return None
    sections: list[Section] = []
    start = 0

    def flush(end: int) -> None:
        if start < end:
            sections.append(Section(start, "".join(lines[start:end]), False))

    blocks = dict(bounds)
    i = 0
    while i < len(lines):
        if i in blocks:
            flush(i)
            sections.append(Section(i, "".join(lines[i:blocks[i]]), False))
            start = i = blocks[i]
            continue
        if cut and CLIENT_CUT.search(lines[i]):
            flush(i)
            sections.append(Section(i, lines[i], True))
            start = i + 1
        i += 1
    flush(len(lines))
    return sections if len(sections) > 1 else None


def _json_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Multi-line JSON values that start at the beginning of a line, inside text that is not all JSON."""
    found: list[tuple[int, int]] = []
    text = "".join(lines)
    starts = list(accumulate(map(len, lines), initial=0))
    # the lines that open with a bracket, found in one pass over the text (a loop over every line of
    # a 50K-token part cost milliseconds)
    opening = sorted({bisect_right(starts, m.start()) - 1 for m in _OPENING.finditer("\n" + text)})
    free = 0  # the first line not inside a JSON value found already
    for i in opening:
        if i < free or not _JSON_START.match(lines[i]):
            continue
        at = starts[i] + len(lines[i]) - len(lines[i].lstrip(" \t"))
        try:
            _, end = _decoder.raw_decode(text, at)
        except ValueError:
            continue
        span = text.count("\n", at, end) + 1
        if span >= MIN_JSON_LINES:
            found.append((i, i + span))
            free = i + span
    if found == [(0, len(lines))] or (len(found) == 1 and found[0][0] == 0 and found[0][1] >= len(lines) - 1):
        return []  # the whole part is one JSON document: not mixed content
    return found


def shift_markers(text: str, part_id: str, offset: int) -> str:
    """Markers an engine wrote for a section count its lines from 1; make them count the part's."""
    if not offset:
        return text

    def shifted(match: re.Match[str]) -> str:
        if match.group("id") != part_id or match.group("a") is None:
            return match.group(0)
        a, b = int(match.group("a")) + offset, int(match.group("b")) + offset
        return f"[headroom: {match.group('what')} · retrieve {part_id} --lines {a}-{b}]"

    return MARKER_RE.sub(shifted, text)


def lines_kept(text: str, original: str) -> bool:
    """Whether text is original with lines left out: every line of it that is not a marker line is
    a line of original, in order, byte for byte or as a terminal shows it (colour escapes gone, a
    line redrawn with carriage returns shown as its redraws): what the model can quote and grep."""
    lines = original.split("\n")
    i = 0
    for line in text.split("\n"):
        if MARKER_RE.fullmatch(line):
            continue
        while i < len(lines) and lines[i] != line and line not in _shown(lines[i]):
            i += 1
        if i == len(lines):
            return False
        if lines[i] == line:
            i += 1  # a redrawn line may show as several: stay on it
    return True


def _shown(line: str) -> tuple[str, ...]:
    """What a terminal shows of a line: without colour escapes, and each carriage-return redraw."""
    plain = ANSI.sub("", line)
    if "\r" not in plain:
        return (plain,) if plain != line else ()
    return tuple(seg for seg in plain.split("\r") if seg) + (plain.rstrip("\r"),)


def rewritten(result: Result, part_id: str, original: str) -> Result:
    """A result that rewrote lines (re-rendered JSON, a table drawn again) made lossy-with-ID: a marker
    line after it says so, and counting the section's lines as omitted makes the pipeline store the
    original under part_id, so ``retrieve`` gives back what no kept line shows verbatim any more."""
    n = len(original_lines(original))
    what = f"the {n:,} lines above, re-rendered (not verbatim); the original"
    text = result.text if result.text.endswith("\n") or not result.text else result.text + "\n"
    tail = "\n" if original.endswith("\n") else ""
    return replace(result, text=text + marker(part_id, what) + tail, omitted=n)
