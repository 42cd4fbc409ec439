"""``du``, ``unzip -l``, ``jar tvf`` and other size-first lists: the largest entries, the first, the total
(du prints it last); what lies inside a vendored tree is told by that tree's own line."""

from __future__ import annotations

import re

from headroom_cli.engines.listing.selection import CHECK_EVERY, Selection, size_of, TOP_LARGEST, vendored_at

# du: a size (plain or human) then a tab or spaces then a path
LINE = re.compile(r"(\d+(?:[.,]\d+)?[KMGTPEkmgtpe]?i?[Bb]?)\s+(\S.*)$")
# unzip -l, jar tvf and the like: a size, a date and a time, then the path
SIZED = re.compile(r"\s*(\d+)\s+(?:\d{4}-\d\d-\d\d|\d\d-\d\d-\d{2,4})\s+\d\d:\d\d(?::\d\d)?\s+(\S.*)$")
_TOP_SHARE = 20  # besides, one entry in this many of the largest is kept


def select(sel: Selection) -> None:
    keep, label, query = sel.keep, sel.label, sel.query
    sized: list[tuple[float, int]] = []
    first = -1
    for i, s in enumerate(sel.lines):
        if not i % CHECK_EVERY:
            sel.check()
        m = SIZED.match(s) or LINE.match(s)
        size = size_of(m.group(1)) if m else None
        if size is None:
            if s.strip():
                keep[i] = 1
            else:
                label[i] = "blank lines"
            continue
        path = m.group(2).replace("\\", "/").strip("/")
        v = vendored_at(path)
        if v >= 0 and path.count("/") > v:
            label[i] = f"{path.split('/')[v]} entries"  # inside a vendored tree: its root line tells the size
            if query[i]:
                keep[i] = 1
            continue
        if first < 0:
            first = i
        sized.append((size, i))
        label[i] = "entries"
        if query[i]:
            keep[i] = 1
    if not sized:
        return
    top = max(TOP_LARGEST * 3, len(sized) // _TOP_SHARE)
    for _, i in sorted(sized, key=lambda x: (-x[0], x[1]))[:top]:
        keep[i] = 1
    keep[first] = keep[sized[-1][1]] = 1
