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
    starts: list[int] = []  # each line's offset in the text, made at the first hit
    limit = max(1, int(len(lines) * MAX_SHARE))
    found: set[int] = set()
    # A term is looked for only where its first MIN_TERM characters are in the text (one search for the
    # many terms that share them: a conversation's focus names tests/test_x.py, test_x.py, test_x_case_7, ...).
    in_text: dict[str, bool] = {}
    for term in terms:
        head = term[:MIN_TERM]
        there = in_text.get(head)
        if there is None:
            there = in_text[head] = head in low
        if not there:
            continue
        hits: set[int] = set()
        at = low.find(term)
        if at >= 0 and not starts:
            starts = [0, *accumulate(len(line) + 1 for line in lines)]
        while at >= 0 and len(hits) <= limit:
            hits.add(bisect_right(starts, at) - 1)
            at = low.find(term, at + len(term))
        if len(hits) <= limit:
            found |= hits
    return sorted(n for n in found if n < len(lines))[:MENTION_KEEP]
