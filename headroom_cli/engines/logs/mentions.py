"""Lines that name what the agent asks about: the question's words and the conversation's focus
(identifiers, paths). A word found on many lines says nothing about which to keep and is skipped."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

MENTION_KEEP = 20  # lines kept for their words, at most
MAX_SHARE = 0.05  # a word on more than this share of the lines is too common to choose by
MIN_TERM = 4  # shorter words match too much by chance


def mentioned(text: str, lines: list[str], terms: tuple[str, ...]) -> list[int]:
    """0-based numbers of the lines that hold a rare enough term, first ones first."""
    terms = tuple(t for t in terms if len(t) >= MIN_TERM)
    if not terms:
        return []
    low = text.lower()
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    limit = max(1, int(len(lines) * MAX_SHARE))
    found: set[int] = set()
    for term in terms:
        hits: set[int] = set()
        at = low.find(term)
        while at >= 0 and len(hits) <= limit:
            hits.add(bisect_right(starts, at) - 1)
            at = low.find(term, at + len(term))
        if len(hits) <= limit:
            found |= hits
    return sorted(n for n in found if n < len(lines))[:MENTION_KEEP]
