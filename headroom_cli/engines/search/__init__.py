"""The search engine: keep the matches that answer the question, one file at a time, and fold the rest.

Search output (``grep -rn``, ``git grep -n``, ``rg`` plain, with ``--heading`` or ``-C N`` context,
``rg --json``, ``rg -l`` / ``rg -c``, Claude Code's Grep tool in its content, files and count modes)
is a list of matches grouped by file. An agent needs a few of them: the definition it looks for, the
matches whose text holds the question's words, and enough of every file to know where the pattern
occurs and how often. The engine works on shapes, never on a particular program:

1. parse each line (``parse`` picks the format; one module per format: ``prefixed``, ``heading``,
   ``filelist``, ``rgjson``) into a match (``path:N:text``, ``N:text`` under a ``--heading`` path), a
   context line (``path-N-text``, ``N-text``), a separator (``--``), a file heading, or anything else
   (which is kept). File lists and ``path:count`` lines become one "match" per path, grouped by directory;
2. rank the matches of each file (``ranking``, ``symbols``): lines holding a discriminative query word
   (one that is not in nearly every match, as the searched pattern is) first, then the definition of
   the searched symbol (``def``/``class``/``func``/``fn``/``function``/... followed by a word that
   nearly every match holds), then definitions at outline depth in non-test files, then plain uses;
   comments, doctest lines and test files rank last;
3. keep the query hits and the first and last match of every file, then fill a line budget that
   grows more slowly than the output, round-robin over the files, with at most ``CAP`` plain
   matches per file (``selection``); context lines follow the match they surround, and a small
   context group (the lines between two ``--``) is kept or dropped whole (``groups``);
4. every dropped run of original lines becomes one marker naming its 1-based line range and what it
   held ("91 matches"), so expanding the markers gives back the original exactly. A run whose
   marker would cost more than its lines is kept as it is (``render``).

Kept lines are copied verbatim, path and all, so a line an agent quotes or greps for stays whole.
Very long kept lines (minified code) are cut to a window around the match or the question's word,
with a marker naming the line. ``rg --json`` is rendered compactly instead: each file's ``begin``
event and the ``summary`` event verbatim, each kept match as ``N:text`` (context as ``N-text``),
and one marker for the offsets, submatches and per-file ``end`` statistics left out.
"""

from __future__ import annotations

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, part_terms, past, Result, split_lines
from headroom_cli.engines.search import detection
from headroom_cli.engines.search.parse import parse
from headroom_cli.engines.search.parsed import C, clean
from headroom_cli.engines.search.ranking import LONG_LINE
from headroom_cli.engines.search.render import render
from headroom_cli.engines.search.selection import MIN_MATCHES, select


class SearchEngine:
    """Keeps the matches that answer the question and a few per file; folds the rest by line range."""

    name = "search"

    def ceiling(self, part: Part) -> float:
        return detection.ceiling(part)

    def detect(self, part: Part) -> float:
        return detection.score(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text or not text.strip():
            return None
        raw, ends_nl = split_lines(text)
        p = parse(clean(raw, text), ctx.deadline)
        if p is None or not p.nmatch:
            return None
        if p.nmatch + p.kind.count(C) < MIN_MATCHES and p.mode != "json" and max(map(len, raw)) <= LONG_LINE:
            return None  # too few matches to fold, and no long line to cut
        if past(ctx.deadline):
            raise EngineTimeout()
        terms = part_terms(part)
        keep = select(p, part, terms, ctx.deadline)
        out, omitted = render(p, raw, keep, terms, ctx.part_id)
        if not omitted:
            return None
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(result, self.name, omitted=omitted)


register(SearchEngine())

__all__ = ["SearchEngine"]
