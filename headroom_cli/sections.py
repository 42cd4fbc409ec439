"""Split a part into sections that are compressed on their own.

A client may already have cut a tool output (Claude Code drops the middle of a failing command's
output over 10,000 characters; Codex cuts inline). The notice it leaves is kept verbatim, so the
model never takes the rest for the whole, and the text on each side is routed on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom_cli.markers import MARKER_RE, original_lines

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


def split(text: str) -> list[Section] | None:
    """The part's sections, or None when it is all one section (the usual case)."""
    if not CLIENT_CUT.search(text):
        return None
    lines = original_lines(text)
    sections: list[Section] = []
    start = 0
    for i, line in enumerate(lines):
        if CLIENT_CUT.search(line):
            if start < i:
                sections.append(Section(start, "".join(lines[start:i]), False))
            sections.append(Section(i, line, True))
            start = i + 1
    if start < len(lines):
        sections.append(Section(start, "".join(lines[start:]), False))
    return sections


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
