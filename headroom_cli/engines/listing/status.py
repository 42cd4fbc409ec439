"""``git status``, short (``XY path``, ``## branch``) or long (headings, then tab-indented entries): the
first and last entries of each run of one status in one directory, and every entry of a rare status
(a conflict, the one deletion)."""

from __future__ import annotations

import re
from collections import Counter

from headroom_cli.engines.listing.selection import CHECK_EVERY, keep_runs, Selection

SHORT = re.compile(r"([ MTADRCU?!]{2}) (\S.*)$")
LONG = re.compile(r"\t(?:(new file|modified|deleted|renamed|copied|typechange|both modified"
                  r"|both added|both deleted|added by us|added by them|deleted by us|deleted by them"
                  r"|unmerged):\s+)?(\S.*)$")
HEAD = re.compile(r"## \S|On branch |HEAD detached|Your branch |Changes |Untracked files:|Unmerged paths:"
                  r"|nothing to commit|no changes added|  \(use \"git ")
HEAD_STARTS = frozenset("#OHYCUn ")  # every character HEAD can start with
_NAMES = {"??": "untracked", "!!": "ignored", "M": "modified", "T": "type changes", "A": "added",
          "D": "deleted", "R": "renamed", "C": "copied", "U": "unmerged"}
_CONFLICTS = ("U", "both modified", "both added", "both deleted", "unmerged")
_FEW = 3  # a status held by at most this many entries is rare


def _entry(s: str) -> tuple[str, str] | None:
    """(status, path) of an entry line, None for a heading or anything else."""
    m = SHORT.match(s) if not s.startswith("\t") else None
    if m and not s.startswith("##"):
        code, path = m.group(1), m.group(2)
        return "??" if code == "??" else "!!" if code == "!!" else (code.strip()[:1] or "M"), path
    if s.startswith("\t") and (m := LONG.match(s)):
        return m.group(1) or "untracked", m.group(2)
    return None


def select(sel: Selection) -> None:
    keep, label = sel.keep, sel.label
    entries: list[tuple[int, str, str]] = []  # (line, status, directory)
    for i, s in enumerate(sel.lines):
        if not i % CHECK_EVERY:
            sel.check()
        if not s.strip():
            label[i] = "blank lines"
            continue
        found = _entry(s)
        if found is None:
            keep[i] = 1
            continue
        st, path = found
        path = path.split(" -> ")[-1].strip('"')
        entries.append((i, st, path.rstrip("/").rsplit("/", 1)[0] if "/" in path.rstrip("/") else ""))
        label[i] = _NAMES.get(st, st)
    keep_runs(sel, [(i, (st, d)) for i, st, d in entries])
    counts = Counter(st for _, st, _ in entries)
    for i, st, _ in entries:
        if counts[st] <= _FEW or st in _CONFLICTS:
            keep[i] = 1
