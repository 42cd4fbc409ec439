"""The output: kept lines verbatim (very long ones cut to a window around the match), each dropped run
as one line marker saying what it held. ``rg --json`` is written compactly: each kept match or context
event as ``N:text`` / ``N-text``, end events dropped, and one marker before the summary for what that
compact form left out."""

from __future__ import annotations

from dataclasses import dataclass

from headroom_cli.engines.search.parsed import C, E, H, M, O, Parsed
from headroom_cli.engines.search.ranking import LONG_LINE
from headroom_cli.markers import line_marker, marker, omission_marker

WINDOW = 240  # characters of a long line kept around its match
_SMALL_RUN = 100  # a dropped run of at most this many characters is kept
_MEDIUM_RUN = 220  # ... and one of at most this many, unless its marker is much shorter
_MARKER_WEIGHT = 1.4  # a marker costs more tokens per character than code does


def gap_counts(p: Parsed, a: int, b: int) -> dict[str, int]:
    """What lines a..b (inclusive) hold, for their marker."""
    kind, fid = p.kind, p.fid
    matches = context = headers = other = ends = 0
    files = set()
    for i in range(a, b + 1):
        k = kind[i]
        if k == M:
            matches += 1
            files.add(fid[i])
        elif k == C:
            context += 1
        elif k == H:
            headers += 1
        elif k == O:
            other += 1
        elif k == E:
            ends += 1
    unit = {"files": "paths", "count": "per-file counts"}.get(p.mode, "matches")
    if matches == 1:
        unit = unit[:-2] if unit.endswith("ches") else unit[:-1]
    if len(files) > 1 and p.mode not in ("files", "count"):
        unit = f"matches in {len(files):,} files"
    counts = {unit: matches, "context lines": context, "other lines": other}
    if p.mode == "json":
        counts["end events"] = ends
    elif headers and p.mode == "heading":
        counts["file headings"] = headers
    return counts


def _keep_short_runs(p: Parsed, raw: list[str], keep: bytearray, part_id: str) -> None:
    """Keep a dropped run whose marker would be longer than its lines."""
    render = p.render
    n = len(keep)
    i = 0
    while i < n:
        if keep[i]:
            i += 1
            continue
        j = i
        size = 0
        while j < n and not keep[j]:
            size += len(render[j] if j in render else raw[j]) + 1
            j += 1
        if size <= _SMALL_RUN or (size <= _MEDIUM_RUN and size <= _MARKER_WEIGHT * len(
                line_marker(part_id, i + 1, j, gap_counts(p, i, j - 1)))):
            keep[i:j] = b"\x01" * (j - i)
        i = j


def shorten(line: str, start: int, terms: tuple[str, ...], part_id: str, number: int) -> str:
    """A window of a long line around the first query or pattern word (else its start), with a marker."""
    low = line.lower()
    at = -1
    for t in terms:
        k = low.find(t, start)
        if k >= 0 and (at < 0 or k < at):
            at = k
    lo = start if at < 0 else max(start, at - WINDOW // 3)
    hi = min(len(line), lo + WINDOW)
    if hi - lo >= len(line) - start - 20:
        return line
    cut = len(line) - start - (hi - lo)
    note = marker(part_id, f"line shortened, {cut:,} of {len(line) - start:,} characters left out", (number, number))
    head = line[:start] + ("…" if lo > start else "")
    return head + line[lo:hi] + ("…" if hi < len(line) else "") + " " + note


@dataclass
class _Output:
    lines: list[str]
    omitted: int
    compact: str | None  # json mode: the marker for the compact rendering, until it is written


def _json_marker(p: Parsed, keep: bytearray, part_id: str) -> tuple[str | None, int]:
    """The one marker for what the compact rendering of rg --json leaves out, and how many lines that is."""
    rendered = sum(1 for i in p.render if keep[i])
    ends = p.kind.count(E)
    if not rendered and not ends:
        return None, 0
    counts = {"rendered as N:text lines": rendered, "per-file end events": ends}
    return omission_marker(part_id, rendered + ends, "JSON event lines", counts), rendered + ends


def _kept_line(p: Parsed, raw: list[str], i: int, terms: tuple[str, ...], part_id: str, out: _Output) -> None:
    """Line i as it is written out (json: the compact marker before the summary; end events left out)."""
    k = p.kind[i]
    if p.mode == "json":
        if k == E:
            return
        if i == p.summary and out.compact:
            out.lines.append(out.compact)
            out.compact = None
    line = p.render.get(i, raw[i])
    if len(line) > LONG_LINE and k in (M, C):
        short = shorten(line, p.tstart[i], terms + p.pattern, part_id, i + 1)
        if short is not line and i not in p.render:
            out.omitted += 1
        line = short
    out.lines.append(line)


def render(p: Parsed, raw: list[str], keep: bytearray, terms: tuple[str, ...], part_id: str) -> tuple[list[str], int]:
    """(the output lines, how many lines it leaves out)."""
    json_mode = p.mode == "json"
    if json_mode:
        for i in range(len(p.kind)):
            if p.kind[i] == E:
                keep[i] = 1  # dropped below, covered by the one marker
    _keep_short_runs(p, raw, keep, part_id)
    out = _Output([], 0, None)
    if json_mode:
        out.compact, out.omitted = _json_marker(p, keep, part_id)
    n = len(raw)
    i = 0
    while i < n:
        if keep[i]:
            _kept_line(p, raw, i, terms, part_id, out)
            i += 1
            continue
        j = keep.find(1, i)
        j = n if j < 0 else j
        out.lines.append(line_marker(part_id, i + 1, j, gap_counts(p, i, j - 1)))
        out.omitted += j - i
        i = j
    if out.compact:
        out.lines.append(out.compact)
    return out.lines, out.omitted
