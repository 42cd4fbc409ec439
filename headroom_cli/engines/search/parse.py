"""Which search format the lines are in: the share of non-blank lines each format's pattern explains."""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom_cli.engines.base import EngineTimeout, past
from headroom_cli.engines.search import filelist, heading, prefixed, rgjson
from headroom_cli.engines.search.parsed import C, CHECK_EVERY, may_be_numbered, Parsed, path_ok, S

_MIN = 3  # lines of a format, at least


@dataclass
class Tally:
    nonblank: int = 0
    prefixed: int = 0
    bare: int = 0
    count: int = 0
    path: int = 0
    path_text: int = 0


def _tally_prefixed(lines: list[str], deadline: float | None, t: Tally) -> list[re.Match[str] | None]:
    """Counts the non-blank lines and the ``path:N:`` ones; returns each line's ``path:N:`` match where
    its path is a path (None elsewhere)."""
    pre: list[re.Match[str] | None] = [None] * len(lines)
    path_ok_of: dict[str, bool] = {}  # paths repeat: judge each once
    for i, ln in enumerate(lines):
        if deadline is not None and not i % CHECK_EVERY and past(deadline):
            raise EngineTimeout()
        if not ln or ln == "--":
            continue
        t.nonblank += 1
        m = prefixed.LINE.match(ln) if may_be_numbered(ln) else None
        if m:
            path = m.group(1)
            ok = path_ok_of.get(path)
            if ok is None:
                ok = path_ok_of[path] = path_ok(path)
            if ok:
                pre[i] = m
                t.prefixed += 1
    return pre


def _tally_others(lines: list[str], pre: list[re.Match[str] | None], deadline: float | None, t: Tally) -> None:
    """Counts the lines of the other formats among those that are not ``path:N:`` lines (only needed
    when those do not settle it: the patterns cost more than the lines of a search with context). Each
    line counts for one format at most, and each needs at least half the non-blank lines: once no count can
    get there with the lines left, the rest are not read (parse() finds no format either way)."""
    need, left = 0.5 * t.nonblank, t.nonblank - t.prefixed
    for i, (ln, m) in enumerate(zip(lines, pre)):
        if deadline is not None and not i % CHECK_EVERY and past(deadline):
            raise EngineTimeout()
        if not ln or ln == "--" or m is not None:
            continue
        if left + max(t.bare, t.count, t.path, t.path_text) < need:
            return
        left -= 1
        count_format(ln, t)


def count_format(ln: str, t: Tally) -> None:
    """Counts the line for the first of the other formats it fits (one at most)."""
    if heading.numbered(ln):
        t.bare += 1
    elif filelist.is_count(ln):
        t.count += 1
    elif filelist.may_be_path(ln) and filelist.PATH_LIKE.match(ln):
        t.path += 1
    elif filelist.may_be_path_text(ln) and filelist.PATH_TEXT.match(ln):
        t.path_text += 1


def parse(lines: list[str], deadline: float | None = None) -> Parsed | None:
    """The lines parsed in the format that explains them; None when none does."""
    first = next((ln for ln in lines[:20] if ln.strip()), "")
    if first.startswith(('{"type":', '{"data":')):
        return rgjson.parse(lines, deadline)
    t = Tally()
    pre = _tally_prefixed(lines, deadline, t)
    if not t.nonblank:
        return None
    if t.prefixed >= _MIN:
        p = prefixed.parse(lines, pre)
        if t.prefixed >= 0.3 * t.nonblank or t.prefixed + p.kind.count(C) + p.kind.count(S) >= 0.6 * t.nonblank:
            return p
    _tally_others(lines, pre, deadline, t)
    if t.bare >= _MIN and t.bare >= 0.5 * t.nonblank:
        return heading.parse(lines)
    if t.count >= _MIN and t.count >= 0.6 * t.nonblank:
        return filelist.parse_paths(lines, "count")
    if t.path >= _MIN and t.path >= 0.6 * t.nonblank:
        return filelist.parse_paths(lines, "files")
    if t.path_text >= _MIN and t.path_text >= 0.6 * t.nonblank:
        return filelist.parse_path_text(lines)
    return None
