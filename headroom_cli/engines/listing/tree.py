"""``tree`` (box drawing or ASCII, ``N directories, M files``; also ``npm ls``): every directory is the
map and stays; vendored directories fold their subtree; runs of leaf siblings keep their head and
tail, the longest run kept whole shrinking until the compacted tree fits a budget.

Kept leaves are also compacted (``compact``): consecutive leaf siblings share one line
(``│   ├── a.ts, b.ts, c.ts``, with the connector of the group's last line), which keeps every name and
drops the box-drawing prefixes that cost more tokens than the names. It is lossless: each name but
the last gets back the ``├──`` connector.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate

from headroom_cli.engines.listing.selection import is_vendored, SECTION_CAP, Selection

# ancestors' bars and blanks, a connector, the entry (ASCII forms from tree --charset=ascii)
LINE = re.compile(r"([│┃|\s]*)([├└┣┗][─━]{1,2}[─━┬┳]?\s|[|`+]--\s)(?=\S)(.*)$")
LINE_STARTS = frozenset("│┃|├└┣┗`+")  # what LINE can start with besides white space
SUMMARY = re.compile(r"\d+ director(?:y|ies)(?:, \d+ files?)?$|\d+ files?$")
_SIZE = re.compile(r"\[[^\]]*\]\s+")  # tree -s / -h / -p: "[ 4096]  name"
RUNS = (64, 32, 16, 8)  # the longest run of leaves kept whole, shrinking with size
BUDGET = 8_000  # ... until the compacted tree is at most this many characters (or the last step)
MARKER_COST = 96  # about the length of a marker line, in characters
_LAST_CONNECTOR = frozenset("└┗`")


@dataclass
class TreeLines:
    """Per line of a tree: whether it is an entry, where its connector and its name start, the name."""

    n: int
    compact: bool = True  # False when the parsed lines differ from the raw ones (colours): only fold
    entry: bytearray = field(init=False)
    pre: list[int] = field(init=False)  # the column of the connector: the depth
    head: list[int] = field(init=False)  # the column of the name
    name: list[str] = field(init=False)
    bare: list[str] = field(init=False)  # the name without tree -s/-p brackets, symlink target or -F suffix
    is_dir: bytearray = field(init=False)
    vendored: bytearray = field(init=False)

    def __post_init__(self) -> None:
        n = self.n
        self.entry, self.is_dir, self.vendored = bytearray(n), bytearray(n), bytearray(n)
        self.pre, self.head = [0] * n, [0] * n
        self.name, self.bare = [""] * n, [""] * n


def parse(sel: Selection) -> TreeLines:
    """Entries and their columns; roots, the summary and error messages are kept. A directory is an
    entry followed by a deeper one (read bottom up, so the next line is known)."""
    lines, keep, label = sel.lines, sel.keep, sel.label
    n = len(lines)
    t = TreeLines(n)
    matches = list(map(LINE.match, lines))
    sel.check()
    entry, pre, head, names, bare, is_dir = t.entry, t.pre, t.head, t.name, t.bare, t.is_dir
    next_pre = -1  # the next line's connector column when it is an entry
    for i in range(n - 1, -1, -1):
        m = matches[i]
        if m is None:
            keep[i] = 1
            if not lines[i].strip():
                label[i] = "blank lines"
            next_pre = -1
            continue
        entry[i] = 1
        at = pre[i] = m.end(1)
        head[i] = m.end(2)
        name = names[i] = m.group(3)
        if name[0] == "[":
            name = _SIZE.sub("", name, 1)
        if " -> " in name:
            name = name.split(" -> ", 1)[0]
        name = bare[i] = name.rstrip("/*=@|")
        if next_pre > at:
            is_dir[i] = 1
            label[i] = "directories"
        else:
            label[i] = sel.ext_label(name)
        next_pre = at
    return t


def _keep_directories(sel: Selection, t: TreeLines) -> None:
    """Directories are the map and stay. A vendored one folds its subtree (but what the question
    names); one the question names keeps its children whole (up to a cap)."""
    keep, label, query = sel.keep, sel.label, sel.query
    entry, pre, n = t.entry, t.pre, t.n
    i = 0
    while i < n:
        if entry[i] and t.is_dir[i]:
            keep[i] = 1
            bare = t.bare[i]
            if is_vendored(bare):
                j = i + 1
                while j < n and entry[j] and pre[j] > pre[i]:
                    label[j] = f"{bare} entries"
                    t.vendored[j] = 1
                    if query[j]:
                        keep[j] = 1
                    j += 1
                i = j
                continue
            if query[i]:
                j = i + 1
                while j < n and entry[j] and pre[j] > pre[i] and j - i <= SECTION_CAP:
                    if pre[j] == pre[i + 1]:
                        keep[j] = 1
                    j += 1
        elif entry[i] and query[i]:
            keep[i] = 1
        i += 1


def _leaf_runs(lines: list[str], t: TreeLines) -> list[tuple[int, int]]:
    """Runs of leaf siblings: consecutive entries with one prefix and no children."""
    entry, pre, is_dir, vendored, n = t.entry, t.pre, t.is_dir, t.vendored, t.n
    runs: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if entry[i] and not is_dir[i] and not vendored[i]:
            j = i + 1
            while (j < n and entry[j] and not is_dir[j] and pre[j] == pre[i]
                   and lines[j][:pre[j]] == lines[i][:pre[i]]):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _split(cap: int) -> tuple[int, int]:
    """How many leaves of a run longer than ``cap`` its head and its tail keep."""
    head = (cap * 2 + 2) // 3
    return head, cap - head


def _run_cap(sel: Selection, t: TreeLines, runs: list[tuple[int, int]]) -> int:
    """The longest run kept whole: the largest step whose rendering fits the budget (sizes estimated
    from the names' lengths: what a compacted line costs)."""
    entry, keep = t.entry, sel.keep
    cost = list(accumulate((len(t.bare[x]) + 2 if entry[x] else 0 for x in range(t.n)), initial=0))
    fixed = sum(cost[x + 1] - cost[x] for x in range(t.n) if keep[x] and entry[x])
    for cap in RUNS:
        head, tail = _split(cap)
        size = fixed
        for a, b in runs:
            if b - a <= cap:
                size += cost[b] - cost[a]
            else:
                size += cost[a + head] - cost[a] + cost[b] - cost[b - tail] + MARKER_COST
        if size <= BUDGET:
            return cap
    return RUNS[-1]


def select(sel: Selection) -> TreeLines:
    t = parse(sel)
    keep, label = sel.keep, sel.label
    _keep_directories(sel, t)
    runs = _leaf_runs(sel.lines, t)
    head, tail = _split(_run_cap(sel, t, runs))
    for a, b in runs:
        if b - a <= head + tail:
            keep[a:b] = b"\x01" * (b - a)
            continue
        keep[a:a + head] = b"\x01" * head
        keep[b - tail:b] = b"\x01" * tail
        exts = Counter(label[a:b])
        for x in range(a, b):
            if exts[label[x]] == 1:
                keep[x] = 1  # the one .json among the .ts files
    leaves = [x for a, b in runs for x in range(a, b)]
    if leaves:
        lengths = [len(t.bare[x]) for x in leaves]
        keep[leaves[lengths.index(max(lengths))]] = 1  # the longest name (the first of them) stands out
    return t


def compact(lines: list[str], a: int, b: int, t: TreeLines, out: list[str]) -> None:
    """Kept tree lines a..b, consecutive leaf siblings joined on one line after the last one's connector.

    A group joins lines with one ancestor prefix and one connector, the last line's connector may
    differ (``└──`` after ``├──``), and no name holds ", ", so the line decodes back unambiguously.
    """
    entry, pre, head, name, is_dir = t.entry, t.pre, t.head, t.name, t.is_dir
    i = a
    while i < b:
        j = i + 1
        if entry[i] and not is_dir[i] and ", " not in name[i] and lines[i][pre[i]] not in _LAST_CONNECTOR:
            first = lines[i]
            conn = first[pre[i]:head[i]]
            while j < b and entry[j] and not is_dir[j] and pre[j] == pre[i] and ", " not in name[j]:
                line = lines[j]
                if line[:pre[j]] != first[:pre[i]]:
                    break
                if line[pre[j]:head[j]] != conn:
                    if line[pre[j]] in _LAST_CONNECTOR and len(line[pre[j]:head[j]]) == len(conn):
                        j += 1  # the last sibling closes the group
                    break
                j += 1
        if j - i == 1:
            out.append(lines[i])
        else:
            last = lines[j - 1]
            out.append(last[:head[j - 1]] + ", ".join(name[i:j]))
        i = j
