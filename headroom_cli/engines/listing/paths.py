"""One path a line (``find``, ``fd``, ``git ls-files``, a Glob tool): the first and last entries of each
run of paths in one directory (a shallower ancestor where that makes too many small runs), directory
lines, the one file of a rare extension; vendored trees fold to their own line; a few error lines stay."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from headroom_cli.engines.listing.selection import (CHECK_EVERY, is_vendored, PATH_RUN_KEEP, RARE_MIN, Selection,
                                                    VENDORED)

# no quotes, colons or shell punctuation
LINE = re.compile(r"(?:[A-Za-z]:[\\/])?[^\s\"'<>|*?:;,=(){}\[\]#]+(?: [^\s\"'<>|*?:;,=(){}\[\]#]+){0,3}/?$")
_MAX = 4096
_PLAIN = frozenset(" \t\"'<>|*?:;,=(){}[]#")  # a line without these is a path (the common case, checked fast)
_ERROR = re.compile(r"[\w.\-]+: .*(?:Permission denied|No such file|Operation not permitted|cannot )")
_ERRORS_KEPT = 2
_GROUPS_MIN = 24  # path runs: at least this many groups, or twice the square root of the entries


def is_path(s: str) -> bool:
    """One path on the line: no shell punctuation, and a path with spaces must hold a slash."""
    # A colon past a drive's ("C:/") is never in a path: checked first, it turns away most lines of a log
    # or a test run without LINE's backtracking (the same answers).
    return (len(s) < _MAX and s.find(":", 2) < 0 and LINE.match(s) is not None
            and (" " not in s or "/" in s or "\\" in s))


@dataclass
class Paths:
    entries: list[int] = field(default_factory=list)  # lines of paths outside vendored trees
    parents: list[str] = field(default_factory=list)  # each entry's directory
    comps: dict[str, list[str]] = field(default_factory=dict)  # each distinct directory, split once
    vendored: dict[str, int] = field(default_factory=dict)  # directory -> its vendored component's index, or -1


def _norms(lines: list[str]) -> list[str]:
    """Each line as a path: stripped, forward slashes, no trailing slash."""
    norms = [s.strip() for s in lines]
    if "\\" in "\n".join(lines):
        norms = [p.replace("\\", "/") for p in norms]
    return [p.rstrip("/") if p.endswith("/") and len(p) > 1 else p for p in norms]


def _vendored_index(ps: Paths, parent: str) -> int:
    v = ps.vendored.get(parent)
    if v is None:
        parts = ps.comps[parent] = parent.split("/") if parent else []
        v = -1
        if not VENDORED.isdisjoint(parts) or ".egg-info" in parent:
            v = next((k for k, c in enumerate(parts) if is_vendored(c)), -1)
        ps.vendored[parent] = v
    return v


def _classify(sel: Selection, norms: list[str]) -> Paths:
    """Entries, with directory lines (find prints one before its contents) and vendored roots kept;
    lines inside vendored trees folded (but what the question names); other lines kept, and a few errors."""
    keep, label, query = sel.keep, sel.label, sel.query
    n = len(norms)
    ps = Paths()
    errors = 0
    for i, p in enumerate(norms):
        if not i % CHECK_EVERY:
            sel.check()
        if not p:
            label[i] = "blank lines"
            continue
        if not (_PLAIN.isdisjoint(p) and len(p) < _MAX) and not is_path(p):
            if _ERROR.match(p):
                errors += 1
                label[i] = "permission errors" if "ermi" in p else "errors"
                if errors <= _ERRORS_KEPT:
                    keep[i] = 1
            else:
                keep[i] = 1
            continue
        cut = p.rfind("/")
        parent = p[:cut] if cut > 0 else ""
        v = _vendored_index(ps, parent)
        if v >= 0:
            label[i] = f"{ps.comps[parent][v]} entries"
            if query[i]:
                keep[i] = 1
            continue
        base = p[cut + 1:]
        has_children = i + 1 < n and norms[i + 1].startswith(p) and norms[i + 1][len(p):len(p) + 1] == "/"
        if is_vendored(base) and has_children:
            keep[i] = 1  # the vendored directory itself, before what it holds (folded)
            label[i] = "directories"
            continue
        ps.parents.append(parent)
        ps.entries.append(i)
        if has_children:
            keep[i] = 1
            label[i] = "directories"
        else:
            label[i] = sel.ext_label(base)
    return ps


def _group_starts(ps: Paths) -> list[int]:
    """Where each group of entries starts: a run of one directory, or of a shallower ancestor where
    grouping by directory makes too many small groups (paths spread over many directories)."""
    count = len(ps.entries)
    limit = max(_GROUPS_MIN, int(2 * count ** 0.5))
    # a new group starts where the first `split[e]` components of the directory change: the
    # common leading components plus one (never, for the same directory)
    big = 1 << 30
    split = [0] * count
    depth = 0
    parents, comps = ps.parents, ps.comps
    for e in range(1, count):
        if parents[e] == parents[e - 1]:
            split[e] = big
            continue
        a, b = comps[parents[e - 1]], comps[parents[e]]
        k = 0
        m = min(len(a), len(b))
        while k < m and a[k] == b[k]:
            k += 1
        split[e] = k + 1
        depth = max(depth, len(a), len(b))
    hist = Counter(split[1:])
    groups, chosen = 1 + hist.get(0, 0), 0
    for k in range(1, depth + 1):  # groups when keyed by the first k components
        if groups + hist.get(k, 0) > limit:
            break
        groups += hist.get(k, 0)
        chosen = k
    return [e for e in range(count) if e == 0 or split[e] <= chosen]


def select(sel: Selection) -> None:
    ps = _classify(sel, _norms(sel.lines))
    entries, keep, label = ps.entries, sel.keep, sel.label
    if not entries:
        return
    first, last = PATH_RUN_KEEP
    bounds = _group_starts(ps) + [len(entries)]
    for g in range(len(bounds) - 1):
        a, b = bounds[g], bounds[g + 1]
        for e in range(a, min(b, a + first)):
            keep[entries[e]] = 1
        for e in range(max(a + first, b - last), b):
            keep[entries[e]] = 1
    for i in entries:
        if sel.query[i]:
            keep[i] = 1
    if len(entries) >= RARE_MIN:
        exts = Counter(label[i] for i in entries)
        for i in entries:
            if exts[label[i]] == 1 and label[i] != "files":
                keep[i] = 1  # the only .json among the .ts files
