"""Is a part search output? Its shape (the share of lines parsed as matches, context and headings, per
format) with the tool as a hint: a Grep tool or a grep/rg/ag command raises the score, a Read lowers it."""

from __future__ import annotations

import re

from headroom_cli.engines.base import hint_score, Part
from headroom_cli.engines.search.parse import parse
from headroom_cli.engines.search.parsed import B, C, clean, E, H, M, O, Parsed, S
from headroom_cli.engines.search.symbols import pattern_from_command

_HINTS_MINE = frozenset(("search", "grep", "rg"))
_FOUND = re.compile(r"(?:Found [\d,]+ (?:files?|total occurrences?|matches?)\b|No (?:matches|files) found)")
# a compiler's or linter's "path:12: error ..." is a diagnostic, not a search match
_DIAG_TEXT = re.compile(r" (?:fatal error|error|warning|note|remark|in \w|[A-Z]\w*(?:Error|Exception)\b)")
_SAMPLE_CHARS = 20_000
_SAMPLE_LINES = 200
CEILING = 0.97  # the highest score without a kind hint: ripgrep's JSON, or a search the command asked for
PLAIN_CEILING = 0.92  # ... and for any other part


def _prefixed_score(p: Parsed, n_m: int, share: float) -> float:
    kind = p.kind
    diag = sum(1 for i in range(len(kind)) if kind[i] == M and _DIAG_TEXT.match(p.lines[i], p.tstart[i]))
    if diag >= 0.2 * n_m or n_m < 3:
        return 0.05
    if share >= 0.9:
        return 0.92
    return 0.85 if share >= 0.75 else 0.5 if share >= 0.6 else 0.05


def _heading_score(p: Parsed, n_m: int, n_h: int, share: float) -> float:
    if n_h and share >= 0.85:
        return 0.9
    # one file's matches (grep -n FILE): only when the line numbers keep rising
    kind = p.kind
    nums = [p.lnum[i] for i in range(len(kind)) if kind[i] in (M, C)]
    rising = sum(1 for a, b in zip(nums, nums[1:]) if b > a)
    return 0.55 if share >= 0.9 and n_m >= 5 and rising >= 0.9 * (len(nums) - 1) else 0.05


def _found_line(p: Parsed) -> bool:
    """Whether a line besides the paths is a Grep tool's "Found N files" or "No matches found"."""
    return any(_FOUND.match(p.lines[i]) for i in range(len(p.kind)) if p.kind[i] == O)


def shape_score(p: Parsed) -> float:
    kind = p.kind
    n_m, n_c, n_h, n_o = kind.count(M), kind.count(C), kind.count(H), kind.count(O)
    nonblank = len(kind) - kind.count(B) - kind.count(S)
    if not nonblank or not n_m:
        return 0.0
    share = (n_m + n_c + n_h + kind.count(E)) / nonblank
    if p.mode == "json":
        return 0.97 if (n_h or n_m) and share >= 0.5 else 0.2
    if p.mode == "prefixed":
        return _prefixed_score(p, n_m, share)
    if p.mode == "heading":
        return _heading_score(p, n_m, n_h, share)
    if p.mode == "files":
        return 0.9 if n_o <= 3 and _found_line(p) else 0.1
    if p.mode == "count":
        return 0.9 if _found_line(p) else 0.6 if share >= 0.9 else 0.05
    return 0.6 if share >= 0.9 and len(p.paths) * 2 <= n_m else 0.05  # path:text


def score(part: Part) -> float:
    hinted = hint_score(part, _HINTS_MINE)
    if hinted is not None:
        return hinted
    text = part.text[:_SAMPLE_CHARS]
    lines = text.split("\n")
    if len(lines) > 1 and len(part.text) > _SAMPLE_CHARS and len(lines) <= _SAMPLE_LINES:
        lines.pop()  # cut mid-line
    lines = clean(lines[:_SAMPLE_LINES], text)
    tool = (part.tool_name or "").lower()
    searched = _searched(part)
    p = parse(lines)
    if p is None:
        return 0.6 if tool == "grep" and _FOUND.search(text) else 0.0
    result = shape_score(p)
    if p.mode == "files" and searched:
        return 0.92 if tool == "grep" else 0.85
    if searched:
        result = min(0.97, result + 0.15) if result >= 0.3 else result
    elif tool == "read":
        result = min(result, 0.1)
    return result


def ceiling(part: Part) -> float:
    """The highest score() can give the part without a kind hint, cheaply: over PLAIN_CEILING only for
    ripgrep's JSON (its first line starts with "{") or a search the command asked for."""
    return CEILING if "{" in part.text[:_SAMPLE_CHARS] or _searched(part) else PLAIN_CEILING


def _searched(part: Part) -> bool:
    tool = (part.tool_name or "").lower()
    return tool == "grep" or (tool == "bash" and pattern_from_command((part.tool_input or "").strip()) is not None)
