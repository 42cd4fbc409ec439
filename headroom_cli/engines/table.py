"""The table engine: keep the header and the rows that stand out; fold the rest into markers.

Tables reach an agent in a few shapes, and the engine reads all of them as header + rows of cells:

* box-drawn tables: Unicode boxes (``sqlite3 -box``, rich, ``┌─┬─┐`` / ``│``) and ASCII ones
  (``+---+`` with ``| a | b |``: MySQL, ``sqlite3 -table``, markdown ``|---|``), and the
  pipe tables without outer borders (psql's ``---+---``, markdown without outer pipes);
* delimited text: CSV, TSV, ``;`` or ``|`` separated, read with the ``csv`` module so quoted
  fields (even multi-line ones) stay one record;
* fixed-width columns (``ps``, ``df``, ``docker ps``, ``kubectl get``, ``netstat``, ``pip list``):
  a header line of column names, and column boundaries where (nearly) every row has a space
  below a gap in the header.

A table with few rows keeps them all. A longer one keeps, besides its header:

1. the first and last rows (the shape of the data, and where a sorted table starts and ends);
2. per numeric column (plain numbers, ``4.0G``, ``12%``, ``250ms``, ``01:02:03``, ``5d3h``): the
   rows holding the maximum and the minimum (unless many rows share them), the few farthest
   from the median in robust z-score, and negative values where nearly all are positive;
3. per categorical column (few distinct values): the rows with a rare value (a ``Z`` state among
   ``S``, ``CrashLoopBackOff`` among ``Running``);
4. rows with an error word (error, failed, defunct, killed, unhealthy, ...) when few rows have it,
   a word where a numeric column holds numbers (``timeout``), rows whose number of cells differs
   from the header's, and for process tables (PID + PPID) the parents of every kept row;
5. with a question: rows containing a query term that few rows contain, and the top rows of a
   numeric column whose name the question mentions (``CPU`` -> ``%CPU``).

Every other run of rows becomes one marker line naming the original 1-based line range, labelled
with counts by the table's most telling categorical column (``12 STAT=S``); a row repeating the
row above it is never kept on its own account, so runs of duplicates fold into markers
(``5 duplicate rows``), or for box tables into a ``(×N)`` after the row.

Line-based tables (fixed-width, delimited) keep their rows as the original lines, byte for byte,
so a needle spanning padded columns survives and expanding the markers gives back the original.
Box-drawn tables are re-rendered compactly: borders and padding go, cells are joined by `` | ``,
a column with one value in every row is stated once above the header, and duplicate rows carry
``(×N)``; the markers still name the original lines of the rows they replace. A box table whose
cells themselves contain ``|`` is kept line for line instead.

Input in Claude Code's Read format (``N<TAB>line``) is analysed after the number and copied with it.
Only the lines of the tables found change; any other text in the part is copied as it is.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import accumulate
from math import isfinite
from operator import eq

from headroom_cli.engines import register
from headroom_cli.engines.base import (Context, EngineTimeout, hint_score, Part,
                                       past, part_terms, Result, split_lines)
from headroom_cli.markers import line_marker

MIN_LINES = 4  # a shorter part is left alone
DROP_MIN_ROWS = 12  # a table with fewer data rows keeps them all
# Box and pipe tables are not drawn again: a kept row is the original line, padding and all, so the model
# can quote and grep it (a redrawn row matches nothing in the file or the command's output).
REDRAW = False
HEAD_ROWS = 3  # first data rows, always kept when rows are dropped
TAIL_ROWS = 2  # last data rows, always kept
EXTREME_KEEP = 3  # rows kept for a column's maximum / minimum value
OUTLIERS_PER_SIDE = 2  # rows kept per column above and below the median by robust z-score
OUTLIER_Z = 8.0  # robust z-score from which a value counts as an outlier
NEGATIVE_KEEP = 5  # rows kept with a negative value in a column of positive numbers
RARE_VALUES = 6  # rare values per categorical column whose rows are kept
RARE_ROWS = 3  # rows kept per rare value
ERROR_ROWS = 10  # rows kept per error word
MALFORMED_ROWS = 10  # rows kept whose cell count differs from the header's
QUERY_ROWS = 20  # rows kept per query term
QUERY_TOP = 3  # rows kept from the top of a column the question names
CAT_MAX = 12  # the most distinct values a categorical column may have
CONST_MIN_ROWS = 5  # a column is stated once only in a table of at least this many rows
SAMPLE_TYPE = 40  # values sampled to decide whether a column is numeric
FIXED_SAMPLE = 300  # rows sampled to find fixed-width column boundaries
DETECT_LINES = 200
DETECT_CHARS = 20_000

# Claude Code's Read format, as cat -n prints it: the line number right-aligned in six columns, then a tab
_READ_PREFIX = re.compile(r"(?: {5}\d| {4}\d\d| {3}\d{3}|  \d{4}| \d{5}|\d{6,})(?:\t|\u2192)")

# --- box-drawn tables ---
_BOX = "".join(chr(c) for c in range(0x2500, 0x2580))
_BORDER_CHARS = _BOX + "+-=|:. \t\r"
_HORIZ = "─━═-=┄┅┈┉╌╍"
_UNI_VBARS = "│┃║┆┇┊┋╎╏"
_VBARS = _UNI_VBARS + "|"
_TO_VBAR = str.maketrans({c: "│" for c in _UNI_VBARS})
_BOX_START = re.compile("^[ \t]*[" + re.escape(_VBARS + _BOX + "+") + "]", re.M)  # lines worth classifying
_PIPE_SEP = re.compile(r"\s*:?-{2,}:?\s*(?:[+|]\s*:?-{2,}:?\s*)+$")  # psql "---+---", markdown "--- | ---"
BORDER, ROW = 1, 2

# --- fixed-width tables ---
_TOKEN = re.compile(r"\S+")
_HEAD_TOKEN = re.compile(r"[A-Za-z%#_][\w%#/().:+\-\[\]]*$|[/&+|]$")
_RULE_LINE = re.compile(r"[ \t]*[-=─━═]{2,}(?:[ \t]+[-=─━═]{2,})*[ \t]*$")  # "---------- -------"

# --- values ---
_UNIT_NUM = re.compile(r"[$€£¥]?([+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s?([A-Za-z%µ]{0,3})$")
_MULT = {
    "": 1.0, "%": 1.0, "B": 1.0, "b": 1.0,
    "k": 1e3, "K": 1e3, "KB": 1e3, "kB": 1e3, "Ki": 1024.0, "KiB": 1024.0,
    "M": 1e6, "MB": 1e6, "Mi": 1024.0 ** 2, "MiB": 1024.0 ** 2,
    "G": 1e9, "GB": 1e9, "Gi": 1024.0 ** 3, "GiB": 1024.0 ** 3,
    "T": 1e12, "TB": 1e12, "Ti": 1024.0 ** 4, "TiB": 1024.0 ** 4, "P": 1e15, "PB": 1e15,
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0,
    "h": 3600.0, "hr": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0,
}
_CLOCK = re.compile(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d\d(?:\.\d+)?)$")  # [dd-][hh:]mm:ss (ps etime, TIME)
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|us|ns|d|h|m|s|w|y))+$")  # kubectl AGE "5d3h", go "1m30s"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|d|h|m|s|w|y)")
_DIGITS = re.compile(r"\d+")
_NOT_IN_MARKER = re.compile(r"[\[\]\n·]")  # a label with these would break the marker's grammar
_STATE_HEADER = re.compile(r"(?i)stat|phase|health|result|level|severity|type|kind|outcome")
# id columns, whose extremes mean nothing
_ID_HEADER = re.compile(r"(?i)(?:p?pid|tid|pgid|sid|uid|gid|id|#|no\.?|num|index|idx|row|line|\w*[_ ]id)$")
_ERROR_STEMS = ("err", "fail", "fatal", "panic", "crash", "oom", "kill", "defunct", "zombie", "dead", "denied",
                "refused", "time", "unhealthy", "backoff", "evicted", "unreachable", "degraded", "notready",
                "invalid", "exception", "critical", "abort", "corrupt", "offline", "exited (")
_ERROR_WORDS = re.compile(
    r"\b(?:errors?|err|fail(?:s|ed|ing|ure|ures)?|fatal|panic(?:ked)?|crash(?:ed|ing|loopbackoff)?|oomkilled"
    r"|killed|defunct|zombie|dead|denied|refused|time[dx] ?out|timeout|unhealthy|backoff|evicted|unreachable"
    r"|degraded|notready|invalid|exception|critical|abort(?:ed)?|corrupt(?:ed)?|offline|exited \([1-9]\d*\))"
)

# --- detect() only ---
_TABLE_COMMAND = re.compile(
    r"(?:^|[;&|(]\s*|\bsudo\s+|\bwatch\s+(?:-\S+\s+)*)(?:ps|df|free|top|netstat|ss|lsof|lsblk|iostat|vmstat|pip3? list"
    r"|docker(?:-compose| compose)? (?:ps|images|image ls|container ls|stats|network ls|volume ls)"
    r"|kubectl (?:get|top)|oc get|helm list|sqlite3|psql|mysql|duckdb|column|csvlook|mlr|qsv|xsv|jobs|systemctl list)\b"
)
_TABLE_FILE = re.compile(r"\.(?:csv|tsv|tab|psv)$", re.I)
_CODE_FILE = re.compile(
    r"\.(?:py|js|mjs|cjs|ts|tsx|jsx|go|rs|c|h|cc|cpp|hpp|java|kt|rb|php|cs|swift|scala|sh|json|ya?ml|toml|html?|xml)$",
    re.I,
)
_HINTS_MINE = frozenset(("table", "tables", "csv", "tsv"))


class _Table:
    """One table found in a part: its line range, header and rows (cells and original lines)."""

    __slots__ = ("style", "start", "end", "header", "header_lines", "firsts", "lasts", "cells", "rerender")

    def __init__(self, style: str, start: int, end: int, header: list[str] | None, header_lines: list[int],
                 firsts: list[int], lasts: list[int], cells: list[list[str]], rerender: bool) -> None:
        self.style = style  # "box", "pipe", "csv", "fixed"
        self.start = start  # first line of the table (0-based, into the part's lines)
        self.end = end  # one past its last line
        self.header = header
        self.header_lines = header_lines
        self.firsts = firsts  # per row: its first line
        self.lasts = lasts  # per row: its last line (a CSV record may span lines)
        self.cells = cells
        self.rerender = rerender  # drawn again compactly (box tables) rather than copied line for line


class _Doc:
    """The contents of a part's lines, joined once, with where each line starts (for str.find over all)."""

    __slots__ = ("lines", "text", "starts", "_low", "_low_starts")

    def __init__(self, contents: list[str]) -> None:
        self.lines = contents
        self.text = "\n".join(contents)
        self.starts = list(accumulate(map((1).__add__, map(len, contents)), initial=0))
        self._low: str | None = None
        self._low_starts: list[int] | None = None

    def line_at(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def lowered(self) -> tuple[str, list[int]]:
        """The lower-cased text and its line starts (different only where lower-casing changes a length)."""
        if self._low is None:
            low = self.text.lower()
            if len(low) == len(self.text):
                self._low, self._low_starts = low, self.starts
            else:
                parts = [ln.lower() for ln in self.lines]
                self._low = "\n".join(parts)
                self._low_starts = list(accumulate(map((1).__add__, map(len, parts)), initial=0))
        return self._low, self._low_starts  # type: ignore[return-value]


# ============================================================================ reading the part


def _strip_read_prefix(lines: list[str]) -> tuple[list[str], list[int] | None]:
    """Contents without Claude Code's ``N<TAB>`` prefix (and CRs), and the prefix lengths (None if none)."""
    sample = [ln for ln in lines[:200] if ln]
    contents = [ln.rstrip("\r") for ln in lines] if any("\r" in ln for ln in sample) else lines
    if not sample or sum(1 for ln in sample if _READ_PREFIX.match(ln)) < 0.9 * len(sample):
        return contents, None
    numbers = [int(m.group()[:-1]) for ln in sample[:20] if (m := _READ_PREFIX.match(ln))]
    if any(b != a + 1 for a, b in zip(numbers, numbers[1:])):
        return contents, None  # not consecutive line numbers: a column of the data
    out, plen = [], []
    for ln in contents:
        m = _READ_PREFIX.match(ln)
        k = m.end() if m else 0
        out.append(ln[k:])
        plen.append(k)
    return out, plen


def _find_tables(doc: _Doc, deadline: float | None) -> list[_Table]:
    """All tables in the contents, in order and not overlapping."""
    c = doc.lines
    n = len(c)
    kinds = bytearray(n)
    text = doc.text
    if not text.isascii() or "|" in text or "+" in text:
        for m in _BOX_START.finditer(text):
            x = doc.line_at(m.start())
            kinds[x] = _line_kind(c[x])
    if deadline is not None and past(deadline):
        raise EngineTimeout()
    tables: list[_Table] = []
    taken = bytearray(n)
    # box-drawn regions: runs of border and row lines
    i = 0
    while i < n:
        if not kinds[i]:
            i += 1
            continue
        j = i
        while j < n and kinds[j]:
            j += 1
        t = _box_table(c, kinds, i, j)
        if t is not None:
            tables.append(t)
            taken[i:j] = b"\x01" * (j - i)
        i = j
    # pipe tables without outer borders: "a | b" over "---+---" or "--- | ---"
    for i in range(1, n - 1):
        if taken[i] or "-" not in c[i] or "|" not in c[i - 1] or taken[i - 1]:
            continue
        if _PIPE_SEP.match(c[i]) and ("+" in c[i] or "|" in c[i]):
            t = _pipe_table(c, i, taken)
            if t is not None:
                tables.append(t)
                taken[t.start:t.end] = b"\x01" * (t.end - t.start)
    # blocks of other lines: delimited text, or fixed-width columns
    free = bytearray(map(bool, map(str.strip, c)))  # 1: a non-blank line outside the tables found so far
    for t in tables:
        free[t.start:t.end] = bytes(t.end - t.start)
    i = 0
    while i < n:
        i = free.find(1, i)
        if i < 0:
            break
        j = free.find(0, i)
        if j < 0:
            j = n
        if j - i >= MIN_LINES:
            t = _delimited_table(doc, i, j) or _fixed_table(c, i, j)
            if t is not None:
                tables.append(t)
        i = j
        if deadline is not None and past(deadline):
            raise EngineTimeout()
    tables.sort(key=lambda t: t.start)
    return tables


# ---------------------------------------------------------------------------- box-drawn tables


def _line_kind(line: str) -> int:
    """BORDER for a rule of a box-drawn table, ROW for a line of cells between vertical bars, else 0."""
    s = line.strip()
    if len(s) < 3:
        return 0
    c0 = s[0]
    if c0 in _VBARS and s[-1] in _VBARS:
        if not s.strip(_BORDER_CHARS) and sum(s.count(h) for h in _HORIZ) >= 3:
            return BORDER
        return ROW
    if c0 in _BORDER_CHARS and c0 not in " \t.:" and not s.strip(_BORDER_CHARS):
        if sum(s.count(h) for h in _HORIZ) >= 3 and (c0 in _BOX or c0 == "+" or "+" in s):
            return BORDER
    return 0


def _box_table(c: list[str], kinds: bytearray, i: int, j: int) -> _Table | None:
    rows = [x for x in range(i, j) if kinds[x] == ROW]
    borders = j - i - len(rows)
    if len(rows) < 2:
        return None
    bar = c[rows[-1]].strip()[0]  # the bar of the body (rich draws its header with another)
    if not borders:  # bars only: accept a run of rows with one shape
        if len(rows) < 3:
            return None
        counts = {c[x].translate(_TO_VBAR).count("│" if bar != "|" else "|") for x in rows}
        if len(counts) != 1 or counts.pop() < 3:
            return None
    # the header: the rows above the first rule that has rows below it
    header_rows: list[int] = []
    for x in range(i, j):
        if kinds[x] == BORDER and header_rows and any(kinds[y] == ROW for y in range(x + 1, j)):
            break
        if kinds[x] == ROW:
            header_rows.append(x)
    else:
        header_rows = []
    if len(header_rows) > 3:
        header_rows = []
    joined = "".join([c[x] for x in rows])
    others = "".join(ch for ch in _UNI_VBARS if ch in joined and ch != "│") if bar != "|" else ""
    split = {x: _box_cells(c[x], bar, others) for x in rows}
    width = Counter(len(v) for v in split.values()).most_common(1)[0][0]
    odd = [x for x in rows if len(split[x]) != width]
    if odd:  # a cell holding a bar: split those rows where the rule lines put the column bars
        junctions = _junctions(c, kinds, i, j)
        if junctions:
            for x in odd:
                line = c[x].rstrip()
                if len(line) == junctions[-1] + 1 and all(line[p] in _VBARS for p in junctions):
                    split[x] = [line[a + 1:b].strip() for a, b in zip(junctions, junctions[1:])]
    header = None
    if header_rows:
        parts = [split[x] for x in header_rows]
        if len({len(p) for p in parts}) == 1:
            header = [" ".join(filter(None, col)) for col in zip(*parts)]
        else:
            header = parts[0]
    data = rows[len(header_rows):] if header_rows else rows
    if not data:
        return None
    cells = [split[x] for x in data]
    # drawn again only where it is surely a table of its own (a header, or many rows), and where
    # " | " between cells cannot be mistaken for a bar inside one
    bar_in_cell = "|" in joined if bar != "|" else any("|" in cell for x in odd for cell in split[x])
    rerender = REDRAW and width >= 2 and (header is not None or len(data) >= DROP_MIN_ROWS) and not bar_in_cell
    return _Table("box", i, j, header, header_rows, data, list(data), cells, rerender)


def _junctions(c: list[str], kinds: bytearray, i: int, j: int) -> tuple[int, ...] | None:
    """Where the column bars sit, read off a rule line (``+----+---+``), for tables whose cells hold bars."""
    for x in range(i, j):
        if kinds[x] == BORDER:
            line = c[x].rstrip()
            pos = tuple(p for p, ch in enumerate(line) if ch not in _HORIZ and ch not in " \t:")
            return pos if len(pos) >= 2 else None
    return None


def _box_cells(line: str, bar: str, others: str) -> list[str]:
    """The cells of a row line; ``others``: the other bar characters the table uses (rich's ┃, polars' ┆)."""
    inner = line.strip()[1:-1]
    if bar == "|":
        return [x.strip() for x in inner.split("|")]
    for ch in others:
        inner = inner.replace(ch, "│")
    return [x.strip() for x in inner.split("│")]


def _pipe_table(c: list[str], sep: int, taken: bytearray) -> _Table | None:
    head = sep - 1
    bars = c[head].count("|")
    if bars < 1 or c[head].strip()[:1] in ("|", ""):
        return None
    j = sep + 1
    while j < len(c) and not taken[j] and c[j].count("|") >= bars and c[j].strip():
        j += 1
    if j - sep - 1 < 2:
        return None
    header = [x.strip() for x in c[head].split("|")]
    rows = list(range(sep + 1, j))
    cells = [[x.strip() for x in c[r].split("|")] for r in rows]
    if len(header) < 2:
        return None
    rerender = REDRAW and not any(len(row) != len(header) for row in cells)
    return _Table("pipe", head, j, header, [head], rows, list(rows), cells, rerender)


# ---------------------------------------------------------------------------- delimited text


def _delimited_table(doc: _Doc, i: int, j: int, skip: int = 2) -> _Table | None:
    """CSV / TSV / ;- or |-separated records over lines i..j-1 (a block without blank lines).

    Up to ``skip`` lines of another shape before the records (a command, a title) are left out of it.
    """
    c = doc.lines
    probe = c[i:min(j, i + 60)]
    if sum(1 for ln in probe if ln[:1] in (" ", "\t")) > 0.2 * len(probe):
        return None  # indented: code, or a listing
    if sum(1 for ln in probe if ln[:1] in ("{", "[", "<", "#", "/")) > 0.2 * len(probe):
        return None  # JSON lines, markup, comments
    best = None
    for delim in (",", "\t", ";", "|"):
        if sum(1 for ln in probe if delim in ln) < 0.9 * len(probe):
            continue
        try:
            recs = list(csv.reader(probe, delimiter=delim))
        except csv.Error:
            continue
        widths = Counter(len(r) for r in recs)
        k, freq = widths.most_common(1)[0]
        if k < 2 or freq < 0.9 * len(recs):
            continue
        if len(recs[0]) != k:  # a line of another shape on top
            return _delimited_table(doc, i + 1, j, skip - 1) if skip and j - i > MIN_LINES else None
        good = [r for r in recs if len(r) == k]
        cells = [x for r in good for x in r]
        lengths = sorted(len(x) for x in cells)
        if lengths[len(lengths) // 2] > 30:
            continue  # prose or log messages, not fields
        if sum(1 for r in good if not r[-1].strip()) > 0.5 * len(good):
            continue  # lines ending in the separator: code statements
        first = recs[0]
        has_header = all(x.strip() and not x.lstrip()[0].isdigit() for x in first) and not any(
            _is_number(x) for x in first)
        typed = _numeric_columns(good[1:] if has_header else good, k)
        if k == 2 and not (has_header and typed):
            continue
        if not has_header and (k < 3 or not typed):
            continue
        if delim == "|" and k < 3:
            continue
        best = (delim, k, has_header)
        break
    if best is None:
        return None
    delim, k, has_header = best
    firsts: list[int] = []
    lasts: list[int] = []
    cells: list[list[str]] = []
    if doc.text.find('"', doc.starts[i], doc.starts[j]) < 0:  # no quoting: one record a line
        firsts = list(range(i, j))
        lasts = list(firsts)
        cells = [ln.split(delim) for ln in c[i:j]]
    else:
        reader = csv.reader(c[i:j], delimiter=delim)
        prev = 0
        try:
            for rec in reader:
                firsts.append(i + prev)
                prev = reader.line_num
                lasts.append(i + prev - 1)
                cells.append(rec)
        except csv.Error:
            return None
    if not cells:
        return None
    header = None
    header_lines: list[int] = []
    if has_header:
        header = cells[0]
        header_lines = list(range(firsts[0], lasts[0] + 1))
        firsts, lasts, cells = firsts[1:], lasts[1:], cells[1:]
    if len(cells) < 3 or sum(1 for r in cells if len(r) != k) > 0.2 * len(cells):
        return None
    return _Table("csv", i, j, header, header_lines, firsts, lasts, cells, False)


def _numeric_columns(recs: list[list[str]], k: int) -> int:
    """How many of the k columns hold numbers in most of these records."""
    if not recs:
        return 0
    typed = 0
    for col in range(k):
        vals = [r[col] for r in recs[:SAMPLE_TYPE] if r[col].strip()]
        if vals and sum(1 for v in vals if _num(v) is not None) >= 0.8 * len(vals):
            typed += 1
    return typed


# ---------------------------------------------------------------------------- fixed-width columns


def _header_like(line: str) -> bool:
    toks = line.split()
    if len(toks) < 2 or len(line) > 400 or line.rstrip()[-1] in ":,;.":
        return False
    if not all(_HEAD_TOKEN.match(t) for t in toks):
        return False
    return "  " in line.strip() or sum(1 for t in toks if t.isupper() and len(t) > 1) >= 2


def _fixed_table(c: list[str], i: int, j: int) -> _Table | None:
    """A header of column names over aligned rows, within the block of lines i..j-1."""
    for h in range(i, min(i + 3, j - 3)):
        if not _header_like(c[h]):
            continue
        first = h + 1
        rule = None
        if _RULE_LINE.match(c[first]):
            rule = first
            first += 1
        if j - first < 3:
            return None
        cuts = _fixed_cuts(c[h], c[rule] if rule is not None else None, c[first:min(j, first + FIXED_SAMPLE)])
        if cuts is None or len(cuts) < (1 if rule is not None else 2):
            continue
        bounds = list(zip((0, *cuts), (*cuts, None)))
        header = [c[h][a:b].strip() for a, b in bounds]
        rows = list(range(first, j))
        cells = [[c[r][a:b].strip() for a, b in bounds] for r in rows]
        filled = sum(1 for row in cells[:FIXED_SAMPLE] for x in row if x)
        if filled < 0.6 * len(bounds) * min(len(cells), FIXED_SAMPLE):
            continue
        if sum(1 for row in cells[:FIXED_SAMPLE] if row[0]) < 0.8 * min(len(cells), FIXED_SAMPLE):
            continue
        hl = [h] + ([rule] if rule is not None else [])
        return _Table("fixed", h, j, header, hl, rows, list(rows), cells, False)
    return None


def _fixed_cuts(header: str, rule: str | None, rows: list[str]) -> list[int] | None:
    """Column boundaries: in each gap between header words, the position blank in (nearly) every row."""
    guide = rule if rule is not None else header
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(guide)]
    if len(spans) < 2:
        return None
    tolerance = len(rows) // 20
    cuts = []
    for (_, b0), (a1, _) in zip(spans, spans[1:]):
        best, best_n = -1, tolerance + 1
        for p in range(b0, a1):
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
        if best >= 0:
            cuts.append(best)
    return cuts


# ============================================================================ choosing rows


def _is_number(s: str) -> bool:
    return _num(s) is not None


def _num(s: str) -> float | None:
    """The value of a cell as a number (units and clock times understood), or None."""
    try:
        v = float(s)
    except ValueError:
        s = s.strip()
        if not s or len(s) > 24:
            return None
        m = _UNIT_NUM.match(s)
        if m:
            mult = _MULT.get(m.group(2))
            if mult is None:
                return None
            try:
                return float(m.group(1).replace(",", "")) * mult
            except ValueError:
                return None
        m = _CLOCK.match(s)
        if m:
            d, h, mi, sec = m.groups()
            return ((int(d or 0) * 24 + int(h or 0)) * 60 + int(mi)) * 60 + float(sec)
        if _DURATION.match(s):
            return sum(float(a) * _MULT[u] for a, u in _DURATION_PART.findall(s))
        if s[-1] == ")" and 0 < s.find("(") and s[0] != "(":  # "47 (2m ago)": the number before the note
            return _num(s[:s.find("(")])
        return None
    if v != v or v in (float("inf"), float("-inf")):
        return None
    return v


def _keep_rows(vals: list[float | None], value: float, count: int, keep: bytearray) -> None:
    """Keep the first `count` rows holding value."""
    r = -1
    for _ in range(count):
        try:
            r = vals.index(value, r + 1)
        except ValueError:
            return
        keep[r] = 1


class _Selection:
    """Which rows of a table to keep, and how to label the ones left out."""

    def __init__(self, table: _Table, terms: tuple[str, ...], doc: _Doc) -> None:
        self.table = table
        rows = table.cells
        n = len(rows)
        header = table.header
        ncols = len(header) if header else Counter(len(r) for r in rows).most_common(1)[0][0]
        self.ncols = ncols
        self.keep = bytearray(n)
        self.dup = bytearray(1) + bytearray(map(eq, rows[1:], rows[:-1])) if n else bytearray()
        self.columns = self._columns(rows, ncols)
        self.numeric: list[list[float | None] | None] = [self._numeric(col) for col in self.columns]
        self.label_col = self._label_column()
        self.constant = self._constant_columns()
        if n >= DROP_MIN_ROWS:
            self._choose(terms, doc)
        else:
            self.keep = bytearray(b"\x01") * n
        for r in range(n):  # a duplicate of the row above is folded into it
            if self.dup[r]:
                self.keep[r] = 0

    @staticmethod
    def _columns(rows: list[list[str]], ncols: int) -> list[tuple[str, ...]]:
        if all(len(r) == ncols for r in rows):
            return list(zip(*rows)) if rows else [()] * ncols
        pad = [""] * ncols
        return list(zip(*[r[:ncols] if len(r) >= ncols else r + pad[:ncols - len(r)] for r in rows]))

    @staticmethod
    def _numeric(col: tuple[str, ...]) -> list[float | None] | None:
        sample = [v for v in col[:SAMPLE_TYPE * 3] if v][:SAMPLE_TYPE]
        if len(sample) < 3:
            return None
        ok = 0
        for v in sample:
            if _num(v) is not None:
                ok += 1
        if ok < 0.8 * len(sample):
            return None
        try:
            vals: list[float | None] = list(map(float, col))
        except ValueError:
            memo = {v: _num(v) for v in set(col)}
            return list(map(memo.__getitem__, col))
        if not all(map(isfinite, vals)):  # type: ignore[arg-type]
            return [v if isfinite(v) else None for v in vals]  # type: ignore[arg-type]
        return vals

    def _label_column(self) -> int:
        """The categorical column that best describes rows left out (fewest distinct values, 2..8)."""
        if not self.table.header:
            return -1
        best, best_key = -1, (2, 9)
        for ci, col in enumerate(self.columns):
            name = self.table.header[ci]
            if self.numeric[ci] is not None or not name or len(name) > 24 or _NOT_IN_MARKER.search(name):
                continue
            values = set(col[:2000])
            key = (0 if _STATE_HEADER.search(name) else 1, len(values))
            if 2 <= len(values) <= 8 and key < best_key and all(
                    len(v) <= 24 and not _NOT_IN_MARKER.search(v) for v in values):
                best, best_key = ci, key
        return best

    def _constant_columns(self) -> list[int]:
        t = self.table
        rows = t.cells
        if not t.rerender or not t.header or len(rows) < CONST_MIN_ROWS or self.ncols < 3:
            return []
        if any(len(r) != self.ncols for r in rows):
            return []
        out = [ci for ci, col in enumerate(self.columns) if col.count(col[0]) == len(col) and t.header[ci]]
        return out if len(out) < self.ncols - 1 else []

    def labels(self, r: int, s: int) -> Counter[str]:
        """What rows r..s-1 are, counted: by the label column's value, duplicates apart."""
        dups = self.dup.count(1, r, s)
        ci = self.label_col
        if ci < 0:
            counts: Counter[str] = Counter({"rows": s - r - dups})
        elif not dups:
            name = self.table.header[ci]  # type: ignore[index]
            counts = Counter({f"{name}={v or '(empty)'}": k for v, k in Counter(self.columns[ci][r:s]).items()})
        else:
            name = self.table.header[ci]  # type: ignore[index]
            col, dup = self.columns[ci], self.dup
            counts = Counter(f"{name}={col[x] or '(empty)'}" for x in range(r, s) if not dup[x])
        if dups:
            counts["duplicate rows"] = dups
        return counts

    # ------------------------------------------------------------------ the rules
    def _choose(self, terms: tuple[str, ...], doc: _Doc) -> None:
        t = self.table
        rows = t.cells
        n = len(rows)
        keep = self.keep
        for r in range(min(HEAD_ROWS, n)):
            keep[r] = 1
        for r in range(max(0, n - TAIL_ROWS), n):
            keep[r] = 1
        ncols = self.ncols
        bad = [r for r in range(n) if len(rows[r]) != ncols and any(rows[r])]
        for r in bad[:MALFORMED_ROWS]:
            keep[r] = 1
        for ci, col in enumerate(self.columns):
            vals = self.numeric[ci]
            if vals is not None:
                if not (t.header and _ID_HEADER.match(t.header[ci])):
                    self._numeric_rules(vals, col)
            else:
                self._categorical_rules(col)
        self._word_rules(terms, doc)
        if terms and t.header:
            for ci, name in enumerate(t.header):
                low = name.lower()
                if low and self.numeric[ci] is not None and any(term in low or low.strip("%_#") == term
                                                                for term in terms):
                    vals = self.numeric[ci]
                    order = sorted((r for r in range(n) if vals[r] is not None), key=lambda r: (-vals[r], r))
                    for r in order[:QUERY_TOP]:
                        keep[r] = 1
        self._parents()

    def _numeric_rules(self, vals: list[float | None], col: tuple[str, ...]) -> None:
        keep = self.keep
        n = len(vals)
        if None in vals:  # a word among numbers ("timeout", "N/A"): telling when rare
            odd = [r for r, v in enumerate(vals) if v is None and col[r]]
            if odd and len(odd) <= max(2, n // 50):
                for r in odd[:RARE_ROWS * 2]:
                    keep[r] = 1
        present: list[float] = [v for v in vals if v is not None] if None in vals else vals  # type: ignore[misc]
        m = len(present)
        if m < 3:
            return
        ordered = sorted(present)
        lo, hi = ordered[0], ordered[-1]
        if lo == hi:
            return
        for extreme in (hi, lo):
            count = present.count(extreme)
            if count <= EXTREME_KEEP:
                _keep_rows(vals, extreme, count, keep)
            elif count * 4 <= n:
                keep[vals.index(extreme)] = 1  # shared by several rows: one of them shows the value
        negatives = bisect_left(ordered, 0.0)
        if negatives and negatives * 50 <= m + 49 and m - negatives >= 10 * negatives:
            left = NEGATIVE_KEEP
            for r, v in enumerate(vals):
                if v is not None and v < 0:
                    keep[r] = 1
                    left -= 1
                    if not left:
                        break
        med = ordered[m // 2]
        step = m // 1000 + 1  # a sorted sample estimates the spread as well as the whole column does
        devs = sorted([abs(v - med) for v in ordered[::step]])
        mad = devs[len(devs) // 2]
        scale = 1.4826 * mad if mad > 0 else 1.2533 * sum(devs) / len(devs)
        if scale <= 0:
            return
        limit = OUTLIER_Z * scale
        high = [v for v in ordered[:-OUTLIERS_PER_SIDE - 1:-1] if v - med >= limit]
        low = [v for v in ordered[:OUTLIERS_PER_SIDE] if med - v >= limit]
        for v in dict.fromkeys(high + low):
            _keep_rows(vals, v, OUTLIERS_PER_SIDE, keep)

    def _categorical_rules(self, col: tuple[str, ...]) -> None:
        n = len(col)
        if n > 400 and len(set(col[:200])) > 100:
            return  # names, ids, free text
        counts = Counter(col)
        if len(counts) > max(2, min(CAT_MAX, n // 4)):
            if len(counts) > n // 2:
                return  # names, ids, free text
            masked: Counter[str] = Counter()
            for v, k in counts.items():
                masked[_DIGITS.sub("#", v)] += k
            if len(masked) > max(2, min(CAT_MAX, n // 4)):
                return
            key_of = {v: _DIGITS.sub("#", v) for v in counts}
            counts = masked
        else:
            key_of = None
        top = counts.most_common(1)[0][1]
        limit = max(2, n // 50)
        rare = sorted((k, v) for v, k in counts.items() if k <= limit and k * 4 <= top)
        if not rare:
            return
        wanted = {v: RARE_ROWS for _, v in rare[:RARE_VALUES]}
        keep = self.keep
        for r, v in enumerate(col):
            key = key_of[v] if key_of is not None else v
            left = wanted.get(key)
            if left:
                keep[r] = 1
                wanted[key] = left - 1

    def _word_rules(self, terms: tuple[str, ...], doc: _Doc) -> None:
        """Rows with an error word, or a query term, that few rows have."""
        t = self.table
        n = len(t.cells)
        firsts, lasts = t.firsts, t.lasts
        low, starts = doc.lowered()
        a, b = starts[firsts[0]], starts[lasts[-1] + 1] if lasts[-1] + 1 < len(starts) else len(low)

        def row_at(p: int) -> int:
            x = bisect_right(starts, p) - 1
            r = bisect_right(firsts, x) - 1
            return r if r >= 0 and x <= lasts[r] else -1

        keep = self.keep
        candidates: set[int] = set()
        for stem in _ERROR_STEMS:
            p = low.find(stem, a, b)
            while p != -1:
                r = row_at(p)
                if r >= 0:
                    candidates.add(r)
                    p = low.find(stem, starts[lasts[r] + 1], b)
                else:
                    p = low.find(stem, p + 1, b)
        by_word: dict[str, list[int]] = {}
        for r in sorted(candidates):
            row_text = low[starts[firsts[r]]:starts[lasts[r] + 1]]
            for word in dict.fromkeys(m.group() for m in _ERROR_WORDS.finditer(row_text)):
                by_word.setdefault(word, []).append(r)
        for word in sorted(by_word):
            hits = by_word[word]
            if len(hits) <= max(2, n // 10):
                for r in hits[:ERROR_ROWS]:
                    keep[r] = 1
        for term in terms:
            hits: list[int] = []
            p = low.find(term, a, b)
            while p != -1 and len(hits) <= n // 20 + 3:
                r = row_at(p)
                if r >= 0:
                    hits.append(r)
                    p = low.find(term, starts[lasts[r] + 1], b)
                else:
                    p = low.find(term, p + 1, b)
            if hits and len(hits) <= max(3, n // 20):
                for r in hits[:QUERY_ROWS]:
                    keep[r] = 1

    def _parents(self) -> None:
        """In a process table, keep the parent of every kept process, up to the root."""
        header = self.table.header
        if not header:
            return
        names = [h.upper() for h in header]
        if "PID" not in names or "PPID" not in names:
            return
        pids, ppids = self.columns[names.index("PID")], self.columns[names.index("PPID")]
        row_of = {}
        for r, pid in enumerate(pids):
            row_of.setdefault(pid, r)
        keep = self.keep
        for r in [r for r in range(len(pids)) if keep[r]]:
            seen = 0
            p = row_of.get(ppids[r])
            while p is not None and not keep[p] and seen < 32:
                keep[p] = 1
                p = row_of.get(ppids[p])
                seen += 1


# ============================================================================ the engine


def _shouting(header: list[str] | None) -> bool:
    """A header of three or more upper-case column names, as ps, docker and kubectl print them."""
    if not header or len(header) < 3:
        return False
    words = [w for h in header for w in h.split()]
    return sum(1 for w in words if w.isupper() or w.startswith("%")) >= 0.8 * len(words)


class TableEngine:
    """Keeps a table's header and its telling rows; folds the rest; draws box tables compactly."""

    __test__ = False
    name = "table"

    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text
        head = text[:DETECT_CHARS]
        lines = head.split("\n")
        if len(text) > DETECT_CHARS and len(lines) > 1:
            lines.pop()  # a cut line
        lines = lines[:DETECT_LINES]
        contents, _ = _strip_read_prefix(lines)
        nonblank = sum(1 for ln in contents if ln.strip())
        if nonblank < 3:
            return 0.0
        try:
            tables = _find_tables(_Doc(contents), None)
        except Exception:  # detect must never raise
            return 0.0
        if not tables:
            return 0.0
        covered = sum(t.end - t.start for t in tables)
        rows = sum(len(t.cells) for t in tables)
        frac = covered / nonblank
        styles = {t.style for t in tables}
        tool = (part.tool_name or "").lower()
        tool_input = (part.tool_input or "").strip()
        if tool == "read" and tool_input:
            if _TABLE_FILE.search(tool_input) and "csv" in styles:
                return 0.95
            if _CODE_FILE.search(tool_input):
                return 0.05
        boost = bool(tool_input) and tool != "read" and _TABLE_COMMAND.search(tool_input) is not None
        if rows < 3:
            return 0.05
        if sum(1 for ln in contents if ln.startswith(("@@ -", "diff --git ", "+++ "))) >= 2:
            return 0.02  # a diff that touches a table
        if frac >= 0.6:
            score = 0.95 if styles & {"box", "pipe"} else 0.9 if "csv" in styles else 0.85
            if score == 0.85 and frac >= 0.8 and any(_shouting(t.header) for t in tables if t.style == "fixed"):
                score = 0.92  # "PID  PPID STAT", "NAME  READY  STATUS": a program's column header
        elif frac >= 0.45:
            score = 0.8
        elif frac >= 0.3:
            score = 0.55
        else:
            score = 0.1
        if boost and frac >= 0.3:
            score = max(score, 0.9)
        return score

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        lines, ends_nl = split_lines(text)
        if len(lines) < MIN_LINES:
            return None
        deadline = ctx.deadline
        contents, plen = _strip_read_prefix(lines)
        doc = _Doc(contents)
        try:
            tables = _find_tables(doc, deadline)
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
            if past(deadline):
                raise EngineTimeout()
            out.extend(lines[pos:t.start])
            mark = len(out)
            try:
                omitted += _render(t, _Selection(t, terms, doc), lines, plen, ctx.part_id, out)
            except Exception:  # a table the rules cannot read: copied as it is
                del out[mark:]
                out.extend(lines[t.start:t.end])
            pos = t.end
        out.extend(lines[pos:])
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        return Result(text=result, kind="table", omitted=omitted)


def _render(t: _Table, sel: _Selection, lines: list[str], plen: list[int] | None, part_id: str,
            out: list[str]) -> int:
    """Append the table's compressed lines to out; return how many original lines its markers stand for."""
    n = len(t.cells)
    keep = sel.keep
    omitted = 0
    drop_cols = set(sel.constant)

    def prefix(x: int) -> str:
        return lines[x][:plen[x]] if plen else ""

    def render_row(r: int, times: int = 1) -> list[str]:
        if not t.rerender:
            return lines[t.firsts[r]:t.lasts[r] + 1]
        cells = t.cells[r]
        if drop_cols:
            cells = [v for ci, v in enumerate(cells) if ci not in drop_cols]
        row = " | ".join(cells)
        return [prefix(t.firsts[r]) + row + (f" (×{times})" if times > 1 else "")]

    # what comes before the first row: the header (drawn again, or copied with its rules)
    first_row_line = t.firsts[0] if n else t.end
    if t.rerender:
        if drop_cols and t.header:
            same = "; ".join(f"{t.header[ci]} = {t.cells[0][ci] or '(empty)'}" for ci in sel.constant)
            out.append(prefix(t.start) + f"same in all {n:,} rows: {same}")
        if t.header:
            hx = t.header_lines[0]
            out.append(prefix(hx) + " | ".join(v for ci, v in enumerate(t.header) if ci not in drop_cols))
    else:
        out.extend(lines[t.start:first_row_line])
    r = 0
    while r < n:
        if keep[r]:
            times = 1
            s = r + 1
            while s < n and sel.dup[s] and not keep[s] and t.rerender:
                times += 1
                s += 1
            out.extend(render_row(r, times))
            if not t.rerender and s < n and t.firsts[s] > t.lasts[r] + 1:
                out.extend(lines[t.lasts[r] + 1:t.firsts[s]])  # a rule between rows
            r = s
            continue
        s = r
        while s < n and not keep[s]:
            s += 1
        a, b = t.firsts[r], t.lasts[s - 1]
        marker = line_marker(part_id, a + 1, b + 1, sel.labels(r, s))
        size = -1  # what the rows would take, counted until it passes the marker's length
        for x in range(r, s) if t.rerender else range(a, b + 1):
            size += sum(map(len, render_row(x))) + 1 if t.rerender else len(lines[x]) + 1
            if size > len(marker):
                break
        if s - r >= 2 and len(marker) < size:
            out.append(marker)
            omitted += b - a + 1
        elif t.rerender:
            for x in range(r, s):
                out.extend(render_row(x))
        else:
            out.extend(lines[a:b + 1])
        if not t.rerender and s < n and t.firsts[s] > b + 1:
            out.extend(lines[b + 1:t.firsts[s]])
        r = s
    if not t.rerender and n:
        out.extend(lines[t.lasts[-1] + 1:t.end])
    return omitted


register(TableEngine())
