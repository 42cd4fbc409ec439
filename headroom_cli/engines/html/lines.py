"""The original line each block starts on, where lxml did not say: trafilatura builds some of its
elements anew, and those have no source line. A distinctive word from the block's start (the
longest of its first words) is looked for in the page after where the previous block was found,
so the markers of a condensed page can name its lines. Blocks come in page order, so the search
only moves forward, and a window bounds what a block that is not found costs."""

from __future__ import annotations

import re

from headroom_cli.engines.html.render import Block

WINDOW = 50_000  # characters after the previous block searched
_WORD = re.compile(r"[^\W_]{5,}")  # a word long enough to be rare in the page's markup
_PREFIX = re.compile(r"(?:#+ |\s*(?:- |\d+\. )|```\n|> )")  # what rendering put before the words
_PLAIN = re.compile(r"[^\W_][\w ,.;:()'-]{11,39}(?= |$)")  # words as the page likely has them, on one line
_FIRST_CHARS = 120  # the block's start the word is taken from


def place(blocks: list[Block], html: str) -> None:
    """Fill in ``block.line`` (1-based) where it is None and a word of the block's start is found in
    the page after the previous block; blocks lxml placed keep their line."""
    pos, line = 0, 1  # a position in the page, and the line it is on
    for block in blocks:
        if block.line:
            if block.line > line:  # lxml's line: move there (lines only count forward here)
                for _ in range(block.line - line):
                    nxt = html.find("\n", pos)
                    if nxt < 0:
                        break
                    pos = nxt + 1
                line = block.line
            continue
        at = _find(block.text, html, pos)
        if at >= 0:
            line += html.count("\n", pos, at)
            pos = at
            block.line = line


def _find(text: str, html: str, pos: int) -> int:
    """Where the block's first words stand in the page after ``pos``: the words as they read (found
    where the page has them on one line, without entities), else the longest of them; -1 if neither."""
    start = text[:_FIRST_CHARS]
    prefix = _PREFIX.match(start)
    words = start[prefix.end():] if prefix else start
    plain = _PLAIN.match(words)
    if plain:
        at = html.find(plain.group(0), pos, pos + WINDOW)
        if at >= 0:
            return at
    longest = _WORD.findall(words)
    return html.find(max(longest, key=len), pos, pos + WINDOW) if longest else -1
