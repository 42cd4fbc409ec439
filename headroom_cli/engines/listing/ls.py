"""``ls -l`` and ``ls -laR`` (``dir:`` headers, ``total N``; also ``eza -l``, ``tar -tv``) and Windows
``dir``: the largest files, each directory's first and last entries and its subdirectories, entries
with a rare mode or owner, symlinks; vendored directories fold to their first header."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from headroom_cli.engines.listing.selection import (CHECK_EVERY, RARE_MIN, RARE_SHARE, SECTION_CAP,
                                                    Selection, size_of, TOP_LARGEST, vendored_at)

# ls -l: optional inode / blocks columns, the mode, then the rest
LINE = re.compile(r"\s*(?:\d+\s+){0,2}([-bcdlpsDnw?.][-rwxsStTlL]{9})[.+@]?\s+(\S.*)$")
LINE_STARTS = frozenset("-bcdlpsDnw?.")  # what LINE can start with besides white space and digits
_DATE = re.compile(
    r"\s(?:[A-Z][a-z]{2}\.?\s+\d{1,2}\s+(?:\d{4}|\d{1,2}:\d\d)"
    r"|\d{1,2}\.?\s+[A-Za-z][a-z]{2}\.?\s+(?:\d{4}|\d{1,2}:\d\d)"
    r"|\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: ?[+-]\d{4})?)?)\s+(?=\S)"
)
# Windows dir: date, time, <DIR> or a size, the name; " Directory of C:\\x" heads a section
WINDIR = re.compile(r"(\d{1,4}[/.\-]\d\d[/.\-]\d{2,4})\s+(\d\d?:\d\d(?::\d\d)?(?:\s?[AaPp][Mm])?)\s+"
                    r"(<DIR>|<JUNCTION>|<SYMLINKD?>|[\d,.\u00a0\u202f]+)\s+(\S.*)$")
WINDIR_HEAD = " Directory of "
TOTAL = re.compile(r"total \d+(?:[.,]\d+)?[KMGTPkmgtp]?$")
_DIR_ENTRIES = 40  # a single directory of at most this many entries keeps every subdirectory


class Entry(NamedTuple):
    mode: str  # "drwxr-xr-x"; Windows dir entries get a made-up one ("d---------")
    owners: str  # owner and group, as the line spells them
    size: float | None
    name: str


@dataclass
class Listing:
    sections: list[tuple[int, list[int]]] = field(default_factory=lambda: [(-1, [])])  # (header or -1, entries)
    info: dict[int, Entry] = field(default_factory=dict)
    headers: dict[int, str] = field(default_factory=dict)  # header line -> the directory it names


def entry_of(s: str) -> Entry | None:
    """The entry an ``ls -l`` or ``dir`` line shows, None for any other line."""
    m = LINE.match(s)
    if m:
        mode, rest = m.group(1), m.group(2)
        d = _DATE.search(rest)
        if d:
            before, name = rest[:d.start()].split(), rest[d.end():]
        else:
            before, name = rest.split()[:-1], rest.split()[-1]
        for k in range(len(before) - 1, -1, -1):
            size = size_of(before[k])
            if size is not None:
                # "1 root root 284758": the last number; owner and group are what sits between
                return Entry(mode, " ".join(before[1:k]) if k >= 2 else "", size, name)
        return Entry(mode, "", None, name)
    w = WINDIR.match(s) if s[0].isdigit() else None
    if w is None:
        return None
    kind, name = w.group(3), w.group(4)
    mode = "d---------" if kind in ("<DIR>", "<JUNCTION>") else "l---------" if kind[0] == "<" else "----------"
    digits = re.sub(r"\D", "", kind)
    return Entry(mode, "", float(digits) if digits else None, name)


def _label(sel: Selection, e: Entry) -> str:
    if e.name in (".", ".."):
        return "./.. entries"
    if e.mode[0] == "d":
        return "directories"
    if e.mode[0] == "l":
        return "symlinks"
    return sel.ext_label(e.name)


def parse(sel: Selection) -> Listing:
    """Entries, sections and headers; headers, totals and anything unrecognised are kept."""
    keep, label = sel.keep, sel.label
    listing = Listing()
    prev_blank = True
    for i, s in enumerate(sel.lines):
        if not i % CHECK_EVERY:
            sel.check()
        if not s.strip():
            label[i] = "blank lines"
            prev_blank = True
            continue
        e = entry_of(s)
        if e is not None:
            listing.info[i] = e
            listing.sections[-1][1].append(i)
            label[i] = _label(sel, e)
        else:
            keep[i] = 1  # headers, totals, errors: structure
            if prev_blank and s.endswith(":") and not s.startswith(" "):
                listing.sections.append((i, []))
                listing.headers[i] = s[:-1]
            elif s.startswith(WINDIR_HEAD):
                listing.sections.append((i, []))
                listing.headers[i] = s[len(WINDIR_HEAD):].replace("\\", "/")
        prev_blank = False
    return listing


def _fold_vendored(sel: Selection, listing: Listing) -> set[int]:
    """The headers of vendored sections (unless the question names one): their entries fold, and so
    does every header of a run of them but the first."""
    keep, label, lines = sel.keep, sel.label, sel.lines
    vendored: set[int] = set()
    for h, members in listing.sections:
        if h >= 0 and not sel.query[h] and (v := vendored_at(listing.headers[h])) >= 0:
            vendored.add(h)
            name = listing.headers[h].replace("\\", "/").strip("/").split("/")[v]
            for i in members:
                label[i] = f"{name} entries"
    last_vendored = False
    for h, members in listing.sections:
        if h in vendored:
            if last_vendored:
                keep[h] = 0
                label[h] = label[members[0]] if members else "headers"
                if h + 1 < len(lines) and TOTAL.match(lines[h + 1]):
                    keep[h + 1] = 0
                    label[h + 1] = label[h]
            last_vendored = True
        elif h >= 0:
            last_vendored = False
    return vendored


@dataclass
class _Rarity:
    """What is rare over the whole listing: modes and owners few entries have, and symlinks."""

    modes: Counter[str]
    owners: Counter[str]
    limit: int
    check: bool
    symlinks: int

    @classmethod
    def of(cls, info: dict[int, Entry], entries: list[int]) -> _Rarity:
        return cls(Counter(info[i].mode for i in entries), Counter(info[i].owners for i in entries),
                   max(1, int(len(entries) * RARE_SHARE)), len(entries) >= RARE_MIN,
                   sum(1 for i in entries if info[i].mode[0] == "l"))


def _is_file(e: Entry) -> bool:
    return e.size is not None and e.mode[0] not in "dl"


def _keep_section(sel: Selection, listing: Listing, h: int, members: list[int], rare: _Rarity) -> None:
    keep, query, info = sel.keep, sel.query, listing.info
    real = [i for i in members if info[i].name not in (".", "..")]
    if not real:
        return
    if h >= 0 and query[h] and len(real) <= SECTION_CAP:
        for i in real:
            keep[i] = 1
        return
    recursive = len(listing.headers) >= 2
    if not recursive:
        keep[real[0]] = keep[real[-1]] = 1  # one directory: where its names start and end
    files = [i for i in real if _is_file(info[i])]
    if files:
        keep[max(files, key=lambda j: (info[j].size, -j))] = 1
    for i in real:
        mode, own, _, _ = info[i]
        if query[i]:
            keep[i] = 1
        elif rare.check and (rare.modes[mode] <= rare.limit or rare.owners[own] <= rare.limit):
            keep[i] = 1
        elif mode[0] == "l" and rare.symlinks <= rare.limit * 5:
            keep[i] = 1
        elif mode[0] == "d" and not recursive and len(real) <= _DIR_ENTRIES:
            keep[i] = 1  # what a single directory holds: its subdirectories are the map


def select(sel: Selection) -> None:
    listing = parse(sel)
    info = listing.info
    entries = [i for i in info if info[i].name not in (".", "..")]
    if not entries:
        return
    vendored = _fold_vendored(sel, listing)
    sized = [i for i in entries if _is_file(info[i]) and not sel.label[i].endswith(" entries")]
    for i in sorted(sized, key=lambda j: (-info[j].size, j))[:TOP_LARGEST]:
        sel.keep[i] = 1
    rare = _Rarity.of(info, entries)
    for h, members in listing.sections:
        if h not in vendored:
            _keep_section(sel, listing, h, members, rare)
    for h in listing.headers:
        if h and sel.keep[h] and not sel.lines[h - 1].strip():
            sel.keep[h - 1] = 1  # the blank line that sets a kept section off
