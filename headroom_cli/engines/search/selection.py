"""Choosing the lines to keep: the query hits, the searched symbol's definitions, every file's first and
last match, then a budget that grows more slowly than the output, round-robin over the files by tier
with a cap per file; context lines follow their match, headings their file."""

from __future__ import annotations

from dataclasses import dataclass, field

from headroom_cli.engines.base import EngineTimeout, Part, past
from headroom_cli.engines.search import groups, ranking
from headroom_cli.engines.search.parsed import B, C, H, M, O, Parsed, S
from headroom_cli.engines.search.symbols import pattern_words

MIN_MATCHES = 24  # fewer matches are kept whole: a marker would save next to nothing
CAP = 5  # plain matches kept per file (first and last included)
CAP_TEST = 3  # ... per test file
CAP_PATH_HIT = 16  # ... per file whose path holds a query word
QUERY_CAP = 40  # query hits kept per file
QUERY_MIN_BUDGET = 60  # query hits may fill at least this many lines, whatever the budget


def budget(total: int) -> int:
    """How many matches to keep out of total: all of a few, then a share that shrinks."""
    if total <= MIN_MATCHES:
        return total
    if total <= 600:
        return int(MIN_MATCHES + 0.4 * (total - MIN_MATCHES))
    return int(MIN_MATCHES + 0.4 * 576 + 8 * (total - 600) ** 0.5)


@dataclass
class _Picker:
    """Units taken so far: the keep flags, lines kept per file, lines kept in all."""

    units: ranking.Units
    keep: bytearray
    budget: int
    kept: list[int] = field(init=False)
    used: int = 0

    def __post_init__(self) -> None:
        self.kept = [0] * len(self.units.by_file)

    def take(self, u: int) -> None:
        members = self.units.members[u]
        if not self.keep[members[0]]:
            for i in members:
                self.keep[i] = 1
            self.kept[self.units.file[u]] += len(members)
            self.used += len(members)


def _take_query_hits(pick: _Picker, qscore: dict[int, float]) -> None:
    """The matches that hold the question's words, rarest words first."""
    per_file = [0] * len(pick.kept)
    limit = max(pick.budget, QUERY_MIN_BUDGET)
    for u in sorted(qscore, key=lambda u: (-qscore[u], u)):
        f = pick.units.file[u]
        if per_file[f] < QUERY_CAP and pick.used < limit:
            per_file[f] += len(pick.units.members[u])
            pick.take(u)


def _take_ends(pick: _Picker, path_hit: bytearray, is_test: list[bool]) -> None:
    """The first, then the last match of every file; files with a clue first, test files last."""
    by_file, kept = pick.units.by_file, pick.kept
    order = sorted(range(len(by_file)), key=lambda f: (not (path_hit[f] or kept[f]), is_test[f], f))
    for end in (0, -1):
        for f in order:
            if pick.used >= pick.budget:
                break
            if by_file[f]:
                pick.take(by_file[f][end])


def _take_round_robin(pick: _Picker, tier: list[int], path_hit: bytearray, is_test: list[bool]) -> None:
    """The rest by tier, each file's n-th unit of a tier before any file's n+1-th, up to a cap per file
    (outline definitions are bounded by the budget only, so an API's outline survives a ``grep 'def '``)."""
    units = pick.units
    cands = []
    for f, members in enumerate(units.by_file):
        rank = [0] * 5
        for u in members:
            if not pick.keep[units.members[u][0]]:
                t = tier[u]
                cands.append((t, rank[t], f, u))
                rank[t] += 1
    cands.sort()
    for t, _, f, u in cands:
        if pick.used >= pick.budget:
            break
        cap = CAP_PATH_HIT if path_hit[f] else CAP_TEST if is_test[f] else CAP
        if t == ranking.OUTLINE or pick.kept[f] < cap:
            pick.take(u)


def _follow(p: Parsed, keep: bytearray, anchor: list[int]) -> None:
    """Context lines follow their match, headings their file, anything else is kept; separators and
    blank lines stay between two kept lines."""
    kind, fid, n = p.kind, p.fid, len(p.kind)
    shown = bytearray(len(p.paths))
    for i in range(n):
        if keep[i]:
            shown[fid[i]] = 1
    for i in range(n):
        k = kind[i]
        if k == C:
            a = anchor[i]
            keep[i] = 1 if a >= 0 and keep[a] else 0
        elif k == H:
            keep[i] = shown[fid[i]]
        elif k == O:
            keep[i] = 1
    for i in range(n):
        if kind[i] in (S, B):
            keep[i] = 1 if (i > 0 and keep[i - 1]) and (i + 1 < n and _next_kept(keep, kind, i)) else 0


def _next_kept(keep: bytearray, kind: bytearray, i: int) -> bool:
    j = i + 1
    while j < len(kind) and kind[j] in (S, B):
        j += 1
    return j < len(kind) and bool(keep[j])


def select(p: Parsed, part: Part, terms: tuple[str, ...], deadline: float) -> bytearray:
    """The keep flag of every line."""
    kind, n = p.kind, len(p.kind)
    keep = bytearray(n)
    anchor = groups.anchors(p)
    units = ranking.Units.of(p, groups.units(p))
    qscore, path_hit = ranking.query_scores(p, units, anchor, terms)
    if past(deadline):
        raise EngineTimeout()
    is_test = ranking.test_files(p)
    body = p.texts()
    p.pattern = pattern_words(part, [body[i] for i in range(n) if kind[i] == M])
    tier = ranking.tiers(p, units, is_test)
    n_ctx = kind.count(C)
    pick = _Picker(units, keep, budget(p.nmatch + n_ctx) * p.nmatch // (p.nmatch + n_ctx))
    _take_query_hits(pick, qscore)
    for u in range(len(units.members)):  # the definitions of the searched symbol
        if tier[u] == ranking.DEFINITION and pick.used < pick.budget and pick.kept[units.file[u]] < QUERY_CAP:
            pick.take(u)
    _take_ends(pick, path_hit, is_test)
    _take_round_robin(pick, tier, path_hit, is_test)
    _follow(p, keep, anchor)
    return keep
