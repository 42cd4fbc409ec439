"""``N:text`` matches and ``N-text`` context lines, under path headings (``rg --heading``, ``ag --group``)
or from a search of one file (``grep -n PATTERN FILE``)."""

from __future__ import annotations

import re

from headroom_cli.engines.search.parsed import B, C, H, M, O, Parsed, S

LINE = re.compile(r"(\d+)([:-])")
CLOCK = re.compile(r"\d{1,2}:\d\d(?::\d\d)?\b|\d{4}-\d\d-\d\d")  # a log's clock or date, not a line number


def numbered(ln: str) -> re.Match[str] | None:
    """The ``N:`` or ``N-`` a line starts with, None when it has none (or a clock)."""
    if not ln or not "0" <= ln[0] <= "9":
        return None
    m = LINE.match(ln)
    return m if m and not CLOCK.match(ln) else None


def parse(lines: list[str]) -> Parsed:
    p = Parsed(lines, "heading")
    kind, fid, tstart = p.kind, p.fid, p.tstart
    cur = -1
    n = len(lines)
    for i, ln in enumerate(lines):
        if not ln:
            kind[i] = B
            continue
        if ln == "--":
            kind[i] = S
            continue
        m = numbered(ln)
        if m:
            kind[i] = M if m.group(2) == ":" else C
            if cur < 0:
                cur = p.file("")
            fid[i] = cur
            p.lnum[i] = int(m.group(1))
            tstart[i] = m.end()
        elif i + 1 < n and lines[i + 1] and "0" <= lines[i + 1][0] <= "9" and LINE.match(lines[i + 1]) \
                and not ln[0].isspace():
            kind[i] = H
            cur = fid[i] = p.file(ln)
        else:
            kind[i] = O
    return p.done()
