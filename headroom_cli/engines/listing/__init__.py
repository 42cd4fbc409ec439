"""The listing engine: keep the entries worth reading in a file listing or a one-line-per-item log.

Listings are long because they name everything: ``ls -l``/``ls -laR`` (``dir:`` headers, ``total N``;
also ``eza -l``, ``tar -tv`` and Windows ``dir``), ``tree`` (box drawing or ASCII, ``N directories,
M files``; also ``npm ls``), ``find``/``fd``/``git ls-files`` (one path a line), ``du`` and ``unzip
-l`` (a size first), ``git status`` (short or long form) and ``git log --oneline`` (one commit a
line, ``--graph`` too). An agent looks for a few entries: the biggest files, what a directory
holds, a named file, the revert or the security fix in a history. The engine works on shapes,
never on a particular program:

1. sniff the format from a sample of lines (``detection``: the share of lines each format's regex
   explains) and parse each line into an entry (mode, owner, size, name, directory, status, commit
   subject) or a structural line (header, ``total``, summary, root, anything unrecognised: always kept);
2. choose the entries to keep by general rules (one module per format: ``ls``, ``tree``, ``paths``,
   ``du``, ``status``, ``gitlog``): the largest files (the whole listing's and each directory's), the
   first and last entries of a directory or of a run of paths, entries whose mode, owner or status is
   rare (a setuid binary, a merge conflict), symlinks; for commit lists the newest commits and the
   notable ones. Vendored or generated trees (``node_modules``, ``.git``, ``__pycache__``, ``.venv``,
   ``dist``, ``build``, ``target``, ...) collapse to their own line and a count. Entries holding a
   selective word of the question (``words``: one that few lines hold) are kept too, and a ``dir:``
   header or tree directory that holds one keeps its whole section;
3. every dropped run of original lines becomes one marker naming its 1-based line range and what the
   entries were (counts by extension, by commit type, by status), so expanding the markers gives
   back the original exactly. A run whose marker would cost more than its lines is kept (``render``);
4. ``tree`` output is re-rendered as well: consecutive leaf siblings that are kept share one line
   (``tree.compact``), losslessly. Coloured trees (``tree -C``) are only folded, not compacted.

Kept lines of every other format are copied verbatim, so a line an agent quotes or greps for stays
whole. Words are found with str.find over the whole text and each line meets a regex or two.
"""

from __future__ import annotations

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, part_terms, past, Result, split_lines
from headroom_cli.engines.listing import detection, du, gitlog, ls, paths, status, tree
from headroom_cli.engines.listing.render import assemble
from headroom_cli.engines.listing.selection import clean, Selection
from headroom_cli.engines.listing.words import query_hits

MIN_LINES = 12  # a shorter part is left alone
_SELECT = {detection.LS: ls.select, detection.LOG: gitlog.select, detection.STATUS: status.select,
           detection.DU: du.select, detection.PATHS: paths.select}


class ListingEngine:
    """Keeps headers, summaries, the largest/first/last/rare/notable entries; folds the rest into markers."""

    name = "listing"
    def ceiling(self, part: Part) -> float:
        return detection.ceiling(part)

    def detect(self, part: Part) -> float:
        return detection.score(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text or not text.strip():
            return None
        lines, ends_nl = split_lines(text)
        if len(lines) < MIN_LINES:
            return None
        parsed = clean(lines, text)
        fmt, _, hits = detection.sniff(parsed[:200] + parsed[200:][-50:])
        if fmt is None or hits < 3:
            return None
        _check(ctx)
        sel = Selection(parsed, query_hits(parsed, part_terms(part)), ctx.deadline)
        shape = None
        if fmt == detection.TREE:
            shape = tree.select(sel)
            shape.compact = parsed is lines  # colours or CRs: offsets differ from the raw lines, so only fold
        else:
            _SELECT[fmt](sel)
        _check(ctx)
        out, omitted = assemble(lines, sel, ctx.part_id, shape)
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(text=result, kind="listing", omitted=omitted)


def _check(ctx: Context) -> None:
    if past(ctx.deadline):
        raise EngineTimeout()


register(ListingEngine())

__all__ = ["ListingEngine"]
