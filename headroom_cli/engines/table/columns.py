"""Aligned columns under a header line: what ``ps``, ``df``, ``docker ps``, ``kubectl get``, ``pip list``,
``dpkg -l``, ``lsof``, ``ss``, ``free``, ``lsblk``, ``systemctl list-units`` and ``column -t`` print.

A header of column names, maybe a rule under it (``---- ----``, dpkg's ``+++-====-====``), then rows
whose cells sit under the names. Column boundaries are read off the rows: in each gap between two
header words (or rule runs), the position that is blank in (nearly) every row. The rows are never
re-spaced: they are kept, or left out, as the lines they are."""

from __future__ import annotations

import re

from headroom_cli.engines.table.model import Table

_TOKEN = re.compile(r"\S+")
_GAP = re.compile(r"\s+")
_HEAD_TOKEN = re.compile(r"[A-Za-z%#_][\w%#/().:+\-\[\]]*$|[/&+|]$|\|+/$")  # ... or dpkg's "||/"
_RULE_LINE = re.compile(r"[ \t]*[-=─━═]{2,}(?:[ \t]+[-=─━═]{2,})*[ \t]*$")  # "---------- -------"
# one rule with junctions, dpkg's "+++-=====-=====": its runs of = (or +) are the columns
_JOINED_RULE = re.compile(r"[ \t]*[+|=]+(?:-[+|=]+)+[ \t]*$")
_JOINED_RUN = re.compile(r"[+|=]+")
PREAMBLE = 6  # lines before the header that may belong to the output (dpkg's legend, a title)
SAMPLE = 300  # rows sampled to find the column boundaries
MIN_ROWS = 3
SHOUTED_MIN_ROWS = 2
MAX_HEADER = 400  # a longer line is no header


def header_like(line: str) -> bool:
    """Column names: two or more words of a header's shape, spaced out or shouted (``PID  TTY``, ``NAME``)."""
    toks = line.split()
    if len(toks) < 2 or len(line) > MAX_HEADER or line.rstrip()[-1] in ":,;.":
        return False
    if not all(_HEAD_TOKEN.match(t) for t in toks):
        return False
    if sum(1 for t in toks if t.isupper() and len(t) > 1) >= 2:
        return True
    gaps = _GAP.findall(line.strip())
    return sum(1 for g in gaps if len(g) > 1) * 4 >= len(gaps)  # spaced out, not a sentence


def shouting(header: list[str] | None) -> bool:
    """A header of three or more upper-case column names, as ps, docker and kubectl print them."""
    if not header or len(header) < 3:
        return False
    words = [w for h in header for w in h.split()]
    return sum(1 for w in words if w.isupper() or w.startswith("%")) >= 0.8 * len(words)


def fixed_table(c: list[str], i: int, j: int) -> Table | None:
    """A header of column names over aligned rows, within the block of lines i..j-1. Two rows are enough
    under a shouted header (``docker ps``, ``lsblk``); another needs three."""
    for h in range(i, min(i + PREAMBLE, j - SHOUTED_MIN_ROWS)):
        if not header_like(c[h]):
            continue
        first, rule = h + 1, None
        if _RULE_LINE.match(c[first]) or _JOINED_RULE.match(c[first]):
            rule, first = first, first + 1
        if j - first < (SHOUTED_MIN_ROWS if shouting(c[h].split()) else MIN_ROWS):
            return None
        table = _aligned(c, h, rule, first, j)
        if table is not None:
            return table
    return None


def _aligned(c: list[str], h: int, rule: int | None, first: int, j: int) -> Table | None:
    """The table under header line h (and rule line ``rule``), rows first..j-1, if its rows do line up."""
    step = -(-(j - first) // SAMPLE)  # spread over the whole table: a wide value may come late
    cuts = _cuts(c[h], c[rule] if rule is not None else None, c[first:j:step][:SAMPLE])
    if cuts is None or len(cuts) < (1 if rule is not None else 2):
        return None
    rows = list(range(first, j))
    cuts = _joined_names(c[h], cuts, [c[r] for r in rows[::step][:SAMPLE]])
    bounds = list(zip((0, *cuts), (*cuts, None)))
    header = [c[h][a:b].strip() for a, b in bounds]
    cells = [[c[r][a:b].strip() for a, b in bounds] for r in rows]
    sample = cells[::step][:SAMPLE]
    filled = sum(1 for row in sample for x in row if x)
    # A program's shouted header (lsof, ps -L) may leave many cells empty; another needs most filled.
    if filled < (0.4 if shouting(header) else 0.6) * len(bounds) * len(sample):
        return None
    if sum(1 for row in sample if row[0]) < 0.8 * len(sample):
        return None
    header_lines = [h] + ([rule] if rule is not None else [])
    return Table("fixed", h, j, header, header_lines, rows, list(rows), cells)


def _joined_names(header: str, cuts: list[int], sample: list[str]) -> list[int]:
    """The cuts less those that split a name of two words (kubectl's ``NOMINATED NODE``): a cut at a
    single space of the header whose column to the right is blank in every sampled row."""
    kept = []
    for k, cut in enumerate(cuts):
        end = cuts[k + 1] if k + 1 < len(cuts) else None
        single = 0 < cut < len(header) - 1 and header[cut] == " " and header[cut - 1] != " " != header[cut + 1]
        if single and not any(r[cut:end].strip() for r in sample):
            continue
        kept.append(cut)
    return kept


def _cuts(header: str, rule: str | None, rows: list[str]) -> list[int] | None:
    """Column boundaries: in each gap between header words, the position blank in (nearly) every row."""
    if rule is None:
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(header)]
    elif _JOINED_RULE.match(rule):
        spans = [(m.start(), m.end()) for m in _JOINED_RUN.finditer(rule)]
    else:
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(rule)]
    if len(spans) < 2:
        return None
    tolerance = len(rows) // 20
    cuts = []
    for (_, b0), (a1, _) in zip(spans, spans[1:]):
        cut = _blank_column(rows, b0, a1, tolerance)
        if cut >= 0:
            cuts.append(cut)
    return cuts


def _blank_column(rows: list[str], a: int, b: int, tolerance: int) -> int:
    """The position in a..b-1 with the fewest rows that have a character there (at most tolerance), or -1."""
    best, best_n = -1, tolerance + 1
    for p in range(a, b):
        filled = 0
        for r in rows:
            if len(r) > p and r[p] != " ":
                filled += 1
                if filled >= best_n:
                    break
        if filled < best_n:
            best, best_n = p, filled
            if not filled:
                break
    return best
