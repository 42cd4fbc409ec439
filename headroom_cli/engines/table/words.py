"""Rows kept for the words they hold (an error word, a term of the question or the focus, when few rows
hold it), and, in a process table, the parents of the rows kept."""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headroom_cli.engines.table.model import Doc
    from headroom_cli.engines.table.select import Rows

ERROR_ROWS = 10  # rows kept per error word
QUERY_ROWS = 20  # rows kept per query term
MAX_PARENTS = 32  # ancestors followed up from one kept process
_ERROR_STEMS = ("err", "fail", "fatal", "panic", "crash", "oom", "kill", "defunct", "zombie", "dead", "denied",
                "refused", "time", "unhealthy", "backoff", "evicted", "unreachable", "degraded", "notready",
                "invalid", "exception", "critical", "abort", "corrupt", "offline", "exited (")
# A word, not part of a name or an option ("--startup-timeout", "libgpg-error0", "/var/log/err.log")
_ERROR_WORDS = re.compile(
    r"(?<![-_./])\b(?:errors?|err|fail(?:s|ed|ing|ure|ures)?|fatal|panic(?:ked)?|crash(?:ed|ing|loopbackoff)?|oomkilled"
    r"|killed|defunct|zombie|dead|denied|refused|time[dx] ?out|timeout|unhealthy|backoff|evicted|unreachable"
    r"|degraded|notready|invalid|exception|critical|abort(?:ed)?|corrupt(?:ed)?|offline|exited \([1-9]\d*\))"
)


class _Finder:
    """Finds, in the table's stretch of the lowered text, which rows hold a string."""

    def __init__(self, rows: "Rows", doc: "Doc") -> None:
        t = rows.table
        self.firsts, self.lasts = t.firsts, t.lasts
        self.low, self.starts = doc.lowered()
        self.a = self.starts[t.firsts[0]]
        end = t.lasts[-1] + 1
        self.b = self.starts[end] if end < len(self.starts) else len(self.low)

    def row_at(self, p: int) -> int:
        x = bisect_right(self.starts, p) - 1
        r = bisect_right(self.firsts, x) - 1
        return r if r >= 0 and x <= self.lasts[r] else -1

    def rows_with(self, s: str, limit: int) -> list[int]:
        """The rows holding s, each once, in order; stops after ``limit`` of them."""
        hits: list[int] = []
        low, b = self.low, self.b
        p = low.find(s, self.a, b)
        while p != -1 and len(hits) < limit:
            r = self.row_at(p)
            if r >= 0:
                hits.append(r)
                p = low.find(s, self.starts[self.lasts[r] + 1], b)
            else:
                p = low.find(s, p + 1, b)
        return hits

    def text_of(self, r: int) -> str:
        return self.low[self.starts[self.firsts[r]]:self.starts[self.lasts[r] + 1]]


def error_and_query_rows(rows: "Rows", terms: tuple[str, ...], doc: "Doc") -> None:
    """Rows with an error word, or a query term, that few rows have."""
    n = len(rows.table.cells)
    find = _Finder(rows, doc)
    keep = rows.keep
    candidates: set[int] = set()
    for stem in _ERROR_STEMS:
        candidates.update(find.rows_with(stem, n + 1))
    by_word: dict[str, list[int]] = {}
    for r in sorted(candidates):
        for word in dict.fromkeys(m.group() for m in _ERROR_WORDS.finditer(find.text_of(r))):
            by_word.setdefault(word, []).append(r)
    for word in sorted(by_word):
        hits = by_word[word]
        if len(hits) <= max(2, n // 10):
            for r in hits[:ERROR_ROWS]:
                keep[r] = 1
    for term in terms:
        hits = find.rows_with(term, n // 20 + 4)
        if hits and len(hits) <= max(3, n // 20):
            for r in hits[:QUERY_ROWS]:
                keep[r] = 1


def parents(rows: "Rows") -> None:
    """In a process table, keep the parent of every kept process, up to the root."""
    header = rows.table.header
    if not header:
        return
    names = [h.upper() for h in header]
    if "PID" not in names or "PPID" not in names:
        return
    pids, ppids = rows.columns[names.index("PID")], rows.columns[names.index("PPID")]
    row_of: dict[str, int] = {}
    for r, pid in enumerate(pids):
        row_of.setdefault(pid, r)
    keep = rows.keep
    for r in [r for r in range(len(pids)) if keep[r]]:
        seen = 0
        p = row_of.get(ppids[r])
        while p is not None and not keep[p] and seen < MAX_PARENTS:
            keep[p] = 1
            p = row_of.get(ppids[p])
            seen += 1
