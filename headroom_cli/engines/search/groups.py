"""How lines hang together: the units kept or dropped whole, and the match each context line belongs to."""

from __future__ import annotations

from headroom_cli.engines.search.parsed import B, C, E, H, M, Parsed, S

GROUP_MAX = 12  # a context group of at most this many lines is kept or dropped whole
_BREAKS = (S, H, B, E)  # lines that end a context group


def units(p: Parsed) -> list[list[int]]:
    """Match lines grouped into the units kept or dropped whole, in order.

    A match is a unit of its own, except in a context group (the lines between two ``--``) of at
    most ``GROUP_MAX`` lines: its matches go together, so a group is shown whole or not at all.
    """
    kind, fid = p.kind, p.fid
    out: list[list[int]] = []
    group: list[int] = []
    size = 0
    has_ctx = False
    prev_f = -2
    for i in range(len(kind)):
        k = kind[i]
        if k not in (M, C) or fid[i] != prev_f:
            _flush(out, group, has_ctx and size <= GROUP_MAX)
            group, size, has_ctx = [], 0, False
            prev_f = fid[i] if k in (M, C) else -2
            if k not in (M, C):
                continue
        size += 1
        if k == M:
            group.append(i)
        else:
            has_ctx = True
    _flush(out, group, has_ctx and size <= GROUP_MAX)
    return out


def _flush(out: list[list[int]], group: list[int], whole: bool) -> None:
    if whole:
        if group:
            out.append(group)
    else:
        out.extend([i] for i in group)


def anchors(p: Parsed) -> list[int]:
    """For each context line, the nearest match line of its group (-1 when it has none).

    Nearness is by line number where both lines give one (rg --json has no ``--`` between
    groups), else by position; a tie goes to the match above, a git grep function line
    (``path=N=``) always belongs to the match below it.
    """
    kind, fid = p.kind, p.fid
    n = len(kind)
    anchor = [-1] * n
    prev = -1
    for i in range(n):
        k = kind[i]
        if k == M:
            prev = i
        elif k == C:
            anchor[i] = prev if prev >= 0 and fid[prev] == fid[i] else -1
        elif k in _BREAKS:
            prev = -1
    nxt = -1
    for i in range(n - 1, -1, -1):
        k = kind[i]
        if k == M:
            nxt = i
        elif k == C:
            if nxt >= 0 and fid[nxt] == fid[i] and _nearer_below(p, i, anchor[i], nxt):
                anchor[i] = nxt
        elif k in _BREAKS:
            nxt = -1
    return anchor


def _nearer_below(p: Parsed, i: int, above: int, below: int) -> bool:
    """Whether context line i belongs to the match below it rather than the one above."""
    lnum = p.lnum
    if above < 0 or i in p.headers:
        return True
    if lnum[i] and lnum[above] and lnum[below]:
        return lnum[below] - lnum[i] < lnum[i] - lnum[above]
    return below - i < i - above
