"""Finding words in a listing: str.find over the whole text, far cheaper than a regex on every line."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

QUERY_SHARE = 0.05  # a query word in more than this share of the lines is not selective
QUERY_FLOOR = 3  # ... but one in this few lines always is


def line_starts(lines: list[str]) -> list[int]:
    """Where each line starts in ``"\\n".join(lines)``, and one past the end."""
    return list(accumulate(map((1).__add__, map(len, lines)), initial=0))


def lines_with(low: str, starts: list[int], word: str, limit: int = -1, boundary: bool = False,
               whole: bool = False) -> list[int]:
    """Indices of the lines of ``low`` (lines joined by newlines) that hold ``word``, each once.

    ``boundary``: the word must not follow a letter or digit, nor (with ``whole``) run on into a
    letter. Stops after ``limit + 1`` lines when a limit is given.
    """
    n = len(starts) - 1
    found: list[int] = []
    short = boundary and whole
    size = len(low)
    p = low.find(word)
    while p != -1:
        if boundary:
            end = p + len(word)
            if (p and low[p - 1].isalnum()) or (short and end < size and low[end].isalpha()):
                p = low.find(word, p + 1)
                continue
        li = bisect_right(starts, p) - 1
        found.append(li)
        if len(found) == limit + 1 or li + 1 >= n:
            break
        p = low.find(word, starts[li + 1])
    return found


def _stem(term: str) -> str:
    if len(term) >= 6 and term.endswith("ed") and "/" not in term:
        return term[:-2]
    if len(term) >= 6 and term.endswith("ing"):
        return term[:-3]
    if len(term) >= 5 and term.endswith("s") and not term.endswith("ss"):
        return term[:-1]
    return term


def query_hits(lines: list[str], terms: tuple[str, ...]) -> bytearray:
    """Lines holding a selective question word: one found in few lines."""
    n = len(lines)
    hits = bytearray(n)
    if not terms or not n:
        return hits
    low = "\n".join(lines).lower()
    if len(low) != sum(map(len, lines)) + n - 1:  # a character whose lower case is longer
        return hits
    starts = line_starts(lines)
    limit = max(QUERY_FLOOR, int(n * QUERY_SHARE))
    for term in terms:
        stem = _stem(term)
        if len(stem) < 3:
            continue
        # a short word that is not a stem must stand alone: "one" is not in "timezone"
        found = lines_with(low, starts, stem, limit, boundary=True, whole=stem == term and len(stem) < 5)
        if len(found) <= limit:
            for li in found:
                hits[li] = 1
    return hits
