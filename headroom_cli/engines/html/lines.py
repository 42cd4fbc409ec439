"""The original line each block starts on, where lxml did not say: trafilatura builds some of its
elements anew, and those have no source line. A block's first words are looked for in the page,
after where the previous block was found, so the markers of a condensed page can name its lines."""

from __future__ import annotations

import re
from bisect import bisect_right

from headroom_cli.engines.html.render import Block

_WORD = re.compile(r"[^\W_]+")
_BETWEEN = r"(?:[^\w<>&]|&[#\w]+;)+"  # what may stand between two words: spaces, punctuation, entities (&nbsp;)
_PROBE_WORDS = 4  # words matched in a row: few enough to sit in one run of text, enough to be rare


def _line_starts(html: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", html)]


def _probe(text: str) -> re.Pattern[str] | None:
    words = _WORD.findall(text[:200])[:_PROBE_WORDS]
    if len(words) < _PROBE_WORDS:
        return None
    return re.compile(_BETWEEN.join(map(re.escape, words)))


def place(blocks: list[Block], html: str) -> None:
    """Fill in ``block.line`` (1-based) where it is None and the block's first words are found in
    the page after the previous block's line; blocks lxml placed keep their line."""
    starts = _line_starts(html)
    pos = 0
    for block in blocks:
        if block.line:
            pos = max(pos, starts[min(block.line, len(starts)) - 1])
            continue
        probe = _probe(block.text)
        found = probe.search(html, pos) if probe else None
        if found:
            pos = found.start()
            block.line = bisect_right(starts, pos)
