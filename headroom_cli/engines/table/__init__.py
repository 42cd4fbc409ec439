"""The table engine: keep the header and the rows that stand out; fold the rest into markers.

Tables reach an agent in a few shapes, and the engine reads all of them as header + rows of cells,
one module per shape:

* ``box.py``: box-drawn tables, Unicode (``sqlite3 -box``, rich, polars) and ASCII (MySQL, ``sqlite3
  -table``, tabulate's grid, markdown with outer pipes);
* ``pipe.py``: pipe tables without outer borders (psql's ``---+---``, markdown's ``--- | ---``);
* ``delimited.py``: CSV, TSV, ``;`` or ``|`` separated records (the ``csv`` module reads quoted fields);
* ``columns.py``: aligned columns under a header, as commands print them (``ps``, ``df``, ``docker ps``,
  ``kubectl get``, ``pip list``, ``dpkg -l``, ``lsof``, ``ss``, ``column -t`` ...).

``find.py`` locates them; ``select.py`` and ``rules.py``/``words.py`` choose the rows to keep (first and
last rows, extremes and outliers of numeric columns, rare states, error words, the rows the question or
the conversation's focus names, a kept process's parents); ``render.py`` writes the output; ``labels.py``
says what each marker stands for, counted by a state column (``[headroom: 2,350 rows omitted (2,301 ii,
49 rc) · retrieve hr_… --lines 9-2358]``).

Every kept line is the original line, byte for byte, padding included: columns are never re-spaced or
redrawn, so a row can be quoted and grepped, and expanding the markers gives back the original.
Input in Claude Code's Read format (``N<TAB>line``) is read after the number and copied with it. Only
the lines of the tables found change; any other text in the part is copied as it is.
"""

from __future__ import annotations

from headroom_cli.engines import register
from headroom_cli.engines.base import Context, EngineTimeout, Part, part_terms, past, Result, split_lines
from headroom_cli.engines.table import detect, prefix
from headroom_cli.engines.table.find import find_tables, MIN_LINES
from headroom_cli.engines.table.model import Doc
from headroom_cli.engines.table.render import render
from headroom_cli.engines.table.select import keeps_all, select

KIND = "table"


class TableEngine:
    """Keeps a table's header and its telling rows; folds the rest into markers."""

    __test__ = False
    name = "table"

    def ceiling(self, part: Part) -> float:
        return detect.ceiling(part)

    def detect(self, part: Part) -> float:
        return detect.score(part)

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        lines, ends_nl = split_lines(text)
        if len(lines) < MIN_LINES:
            return None
        doc = Doc(prefix.contents(lines))
        try:
            tables = find_tables(doc, ctx.deadline)
        except EngineTimeout:
            raise
        except Exception:
            return None
        if not tables:
            return None
        terms = part_terms(part)
        out: list[str] = []
        omitted = 0
        pos = 0
        for t in tables:
            if past(ctx.deadline):
                raise EngineTimeout()
            out.extend(lines[pos:t.start])
            pos = t.end
            if keeps_all(t):  # rendered, it would be its own lines
                out.extend(lines[t.start:t.end])
                continue
            mark = len(out)
            try:
                omitted += render(select(t, terms, doc), lines, ctx.part_id, out)
            except Exception:  # a table the rules cannot read: copied as it is
                del out[mark:]
                out.extend(lines[t.start:t.end])
        out.extend(lines[pos:])
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(text=result, kind=KIND, omitted=omitted)


register(TableEngine())
