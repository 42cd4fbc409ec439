"""Ranking the units: which hold a discriminative question word (and how rare it is), which files'
paths hold one, and each unit's tier (the searched symbol's definition first, comments last)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from headroom_cli.engines.search.parsed import C, M, Parsed
from headroom_cli.engines.search.symbols import COMMENT, definition, indent, TEST_PATH

COMMON = 0.4  # a query word in more than this share of the matches is the pattern, not a clue
OUTLINE_INDENT = 4  # a definition indented at most this far (tabs count 4) is part of the outline
LONG_LINE = 400  # a kept line longer than this is cut to a window (and is not read for a definition)
# tiers: 0 definition of the searched symbol, 1 outline definition (non-test file), 2 other definition,
# 3 plain match, 4 comment, doctest, or a plain match in a test file
DEFINITION, OUTLINE, OTHER_DEFINITION, PLAIN, LAST = range(5)


@dataclass
class Units:
    """The units (one match, or the matches of a small context group) and the file of each."""

    members: list[list[int]]
    file: list[int]
    of_line: dict[int, int]  # match line -> its unit
    by_file: list[list[int]]  # per file, its units in order

    @classmethod
    def of(cls, p: Parsed, members: list[list[int]]) -> Units:
        ufile = [p.fid[m[0]] for m in members]
        by_file: list[list[int]] = [[] for _ in range(len(p.paths))]
        for u, f in enumerate(ufile):
            by_file[f].append(u)
        return cls(members, ufile, {i: u for u, m in enumerate(members) for i in m}, by_file)


@dataclass
class _Texts:
    """The match and context lines' texts, lower-cased and joined by newlines, so that finding a word
    is one str.find per occurrence rather than a test per line (no question word holds a newline)."""

    lines: list[int]  # the line each text comes from
    starts: list[int]  # where each text starts in ``low``
    low: str

    @classmethod
    def of(cls, p: Parsed) -> _Texts:
        kind = p.kind
        lines = [i for i in range(len(kind)) if kind[i] in (M, C)]
        body = p.texts()
        texts = [body[i].lower() for i in lines]
        return cls(lines, list(accumulate(map((1).__add__, map(len, texts)), initial=0)), "\n".join(texts))

    def holding(self, word: str) -> list[int]:
        """The lines whose text holds ``word``, in order, each once."""
        found: list[int] = []
        low, starts = self.low, self.starts
        at = low.find(word)
        while at >= 0:
            k = bisect_right(starts, at) - 1
            found.append(self.lines[k])
            at = low.find(word, starts[k + 1])
        return found


def query_scores(p: Parsed, units: Units, anchor: list[int], terms: tuple[str, ...]) -> tuple[dict[int, float],
                                                                                               bytearray]:
    """Per unit, the sum over the question words it holds of 1 / the lines holding the word (words in
    nearly every match left out); and per file whether its path holds a word few paths hold."""
    kind, nf = p.kind, len(p.paths)
    qscore: dict[int, float] = {}
    path_hit = bytearray(nf)
    if not terms:
        return qscore, path_hit
    texts = _Texts.of(p)
    for t in terms:
        hits = texts.holding(t)
        m_hits = sum(1 for i in hits if kind[i] == M)
        if hits and m_hits <= max(2, COMMON * p.nmatch):
            w = 1.0 / len(hits)
            for i in hits:
                a = i if kind[i] == M else anchor[i]
                if a >= 0:
                    u = units.of_line[a]
                    qscore[u] = qscore.get(u, 0.0) + w
        if nf > 1 and p.mode != "files" and p.mode != "count":
            pf = [f for f in range(nf) if t in p.paths[f].lower()]
            if pf and len(pf) <= max(1, nf // 2):
                for f in pf:
                    path_hit[f] = 1
    return qscore, path_hit


def _line_tier(s: str, test: bool, pattern: tuple[str, ...]) -> int | None:
    """The tier of one match's text; None for a comment or a blank text (no better than LAST)."""
    st = s.lstrip()
    if not st or COMMENT.match(st):
        return None
    name = definition(st) if len(st) <= LONG_LINE else None
    if name is None:
        return LAST if test else PLAIN
    lname = name.lower()
    if lname in pattern:
        return DEFINITION
    if indent(s) <= OUTLINE_INDENT:
        return OUTLINE if not test or any(len(w) >= 6 and w in lname for w in pattern) else OTHER_DEFINITION
    return LAST if test else OTHER_DEFINITION


def tiers(p: Parsed, units: Units, is_test: list[bool]) -> list[int]:
    """Each unit's tier: the best of its matches'."""
    out = [LAST] * len(units.members)
    body = p.texts()
    for u, members in enumerate(units.members):
        if p.mode in ("files", "count"):
            out[u] = LAST if p.mode == "count" and p.lines[members[0]].endswith(":0") else PLAIN
            continue
        best = LAST
        for i in members:
            t = _line_tier(body[i], is_test[units.file[u]], p.pattern)
            if t is not None:
                best = min(best, t)
        out[u] = best
    return out


def test_files(p: Parsed) -> list[bool]:
    return [bool(TEST_PATH.search(path)) for path in p.paths]
