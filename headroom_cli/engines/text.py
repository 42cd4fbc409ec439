"""The plain-text fallback: what a terminal would finally have shown, with the repetition folded.

Output captured from a terminal program carries bytes nobody ever read: colour codes, every frame
of a progress bar or spinner that the next frame overwrote, screens of blank lines, and the same
line printed hundreds of times. This engine runs when no specialised engine claims a part
(``detect`` gives a flat 0.55 when there is something to gain, 0.0 when there is not, so the part
passes through untouched), and removes exactly that, on shapes rather than on any program:

1. render: ANSI escape sequences (CSI, OSC titles and hyperlinks, DCS, two-byte escapes) and other
   control characters go; a line with carriage returns, backspaces or erase codes is replayed as a
   terminal would, so a progress bar keeps its final state only. A ``\\r`` counts as a redraw when
   the new text looks like the old (a long common prefix, the same shape once numbers, bars and
   spinner frames are masked, two states of a bar, a spinner frame, an erase-line code, padding
   that blanks the old text); between unrelated texts it is a line break, as ``str.splitlines``
   reads it, so a status followed by a result without a redraw keeps both. Output that moves the
   cursor up and down (multi-line progress: docker pull, buildkit, npm) goes through a small
   screen emulator instead.
2. fold repetition; each fold is one ``line_marker`` naming the original line range:
   - a line repeated ``MIN_CYCLES`` or more times in a row (``yes``, a polling message) keeps its
     first copy, then ``(N repeats of the line above)``; likewise a block of up to ``MAX_PERIOD``
     lines (a retry loop's error, stack frame and "retrying" line);
   - progress updates on lines of their own (non-TTY output, wget's dots, a spinner's frames)
     that differ only in numbers, bars and spinner frames keep their last state, ``(N earlier
     states of the line below)``. Only unfinished states go (a percentage under 100, n/m with
     n < m, a bar with a gap, a spinner frame), so one finished summary per epoch stays; and a run
     whose progress ever goes back before it is finished is not progress (log records carrying a
     ratio or a percentage do that) and stays whole. Digits inside names (``test_7``) and metrics
     (``cpu=45%``) are not progress. A state holding a word of the agent's question that the last
     state lacks is kept between two folds;
   - a later verbatim copy of a block whose first line occurs ``FAR_MIN_OCCURRENCES`` or more
     times (a warning paragraph printed for every package) folds into a marker quoting that first
     line, not for a file read, whose lines an agent may want to edit;
   a fold is made only where its lines are ``FOLD_GAIN`` times longer than its marker.
3. a run of three or more blank lines becomes one blank line.

Lossless and lossy (the choice): dropping escape codes, overwritten frames, trailing padding and
extra blank lines keeps everything a reader of the terminal saw, so on its own it is lossless
(``omitted=0``: nothing is stored, no marker is written). A fold leaves out lines that only the
original has: ``omitted`` counts the lines its markers name and the pipeline stores the original,
which then keeps the colours and frames too. Line numbers count lines split at ``\\n`` only (what
``headroom retrieve --lines`` uses), so a line holding ``\\r`` frames counts as one.

Equal lines are found with C-level passes (``map(operator.eq)`` into bytes, then a search over the
bytes), not a Python loop per line and period; each whole-text scan starts with a literal, and a
per-line regex only runs on the few lines that need one: 200 KB take about 10 ms.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections import Counter
from functools import lru_cache
from itertools import accumulate

from headroom_cli.engines import register
from headroom_cli.engines.base import (Context, cpu_clock, deadline_after, EngineTimeout, hint_score,
                                       Part, past, part_terms, Result)
from headroom_cli.markers import line_marker

SCORE = 0.55  # a fallback: specialised engines score 0.6 and more on their own kinds
MAX_PERIOD = 8  # the longest block (in lines) whose back-to-back repeats are folded
MIN_CYCLES = 3  # a block must appear at least this many times in a row to be folded
FAR_MIN_OCCURRENCES = 5  # a line must occur this often before its later, non-adjacent copies fold
FOLD_GAIN = 1.5  # a fold's lines must be this many times longer than its marker (characters)
MIN_SAVED = 16  # characters: less than this is not worth changing the bytes
SAMPLE = 48_000  # detect() looks at this many characters at most (head, middle and tail)
MAX_COLUMN = 1024  # cursor moves to the right stop here (a terminal is narrower)
CHECK_EVERY = 4096  # loop iterations between deadline checks
SNIPPET = 40  # characters of a repeated block's first line quoted in its marker

_HINTS_MINE = frozenset(("text", "txt", "plain", "plaintext", "terminal"))
_FILE_TOOLS = frozenset(("read", "read_file", "view", "cat", "open", "readfile"))

# --- rendering --------------------------------------------------------------------------------

# everything a terminal does not print: escape sequences and C0 controls other than \t and \n
_STRIP = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, erase, cursor moves
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # two-byte escapes: charset selection, keypad mode, save/restore cursor
    r"|[\x00-\x08\x0b-\x1f\x7f]"
)
# one token of terminal output, for replaying it
_TOKEN = re.compile(
    r"(?P<text>[^\x00-\x08\x0a-\x1f\x7f]+)"
    r"|\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"
    r"|\x1b(?P<esc>[ -/]*[0-~])?"
    r"|(?P<ctl>[\r\n\x08])"
    r"|[\x00-\x1f\x7f]"
)
# codes that make a line worth replaying rather than stripping: CR, backspace, erase, column moves
_OVERWRITE = re.compile(r"[\r\x08]|\x1b\[[0-9;]*[CDGK]")
_MOVES_BACK = re.compile(r"\x08|\x1b\[[0-9;]*[CDGK]")  # backspace, cursor moves in the row, erase
_VERTICAL = re.compile(r"\x1b\[[0-9;]*[ABEFJsu]|\x1b[78]")  # cursor up/down, erase below, save/restore
_ERASE_START = re.compile(r"(?:\x1b\[[0-9;?]*[a-zA-Z])*\x1b\[[0-2]?K")  # a segment that begins by erasing
# control characters a terminal does not print (\t, \n and \r are handled on their own); looked for
# one by one with str.__contains__, which is far faster than a character class over 200 KB
_CONTROLS = tuple(chr(c) for c in (*range(0x00, 0x09), *range(0x0b, 0x0d), *range(0x0e, 0x20), 0x7f))

# --- progress shapes ----------------------------------------------------------------------------

_SPINNERS = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f\u25d0\u25d3\u25d1\u25d2\u25f4\u25f7\u25f6\u25f5"
_BAR_CHARS = "\u2588\u2589\u258a\u258b\u258c\u258d\u258e\u258f\u2591\u2592\u2593\u25a0\u25a1\u2501\u2578\u257a\u25b0\u25b1"
_SPINNER_LEADS = frozenset(_SPINNERS + "|/-\\")
_PARTIAL_BAR = re.compile("[\u2589-\u258f\u2591\u2578\u25b1]")
# what makes a line a possible progress update: a percentage, a bar, a spinner frame. Each regex
# starts with a literal or a small class, so that the scan over the whole text stays cheap.
_CUE_PERCENT = re.compile("%")
_CUE_BAR = re.compile(r"\[[=#>\-. *]{4,}\]")
_CUE_UNICODE = re.compile(f"[\u2800-\u28ff{_BAR_CHARS}]")
# what may change between two updates of one progress line: numbers (with units), bars, spinners
_KEY = re.compile(
    r"(?<![A-Za-z_\d])\d+(?:[.,:]\d+)*\s?(?:[kKMGTP]i?B|B|it|ms|s|m|h)?(?:/s)?"  # not in a name: test_7
    + "|[\u2800-\u28ff\u25d0-\u25d3\u25f4-\u25f7]"
    + f"|\\|[{_BAR_CHARS} ]*\\||[{_BAR_CHARS}]+ *"
    + r"|\[[=#>\-. *]*\]"
)


@lru_cache(maxsize=16)  # a redraw is compared with the frame before and the frame after it
def _key(row: str) -> str:
    """A row with what changes between progress updates masked (alignment spaces included)."""
    return _KEY.sub("\x00", row).replace(" ", "")


_FRACTION = re.compile(  # "45/100", "1.2 MB/5.0 MB"; not "active=12/20", a metric
    r"(?<![\w/.=])(\d+(?:\.\d+)?)\s?([kKMGT]i?)?B?\s?/\s?(\d+(?:\.\d+)?)\s?([kKMGT]i?)?B?(?![\w/.]|\d)"
)
_UNIT = {None: 1.0, "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
         "ki": 1024.0, "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4}
_ASCII_BAR = re.compile(r"\[([=#>\-. *]{4,})\]")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){3,}")
_BLANK_HEAD = re.compile(r"\A(?:[ \t]*\n){3,}")
_NAN = float("nan")  # compares unequal to everything, itself included
_BREAK = "\x00"  # a \r that was a line break, until the text is split into rows (_STRIP removes NULs)
_SNIPPET_BAD = re.compile(r"[\[\]\u00b7]")  # would end a marker early


def render(text: str) -> str:
    """The text as a terminal would have finally shown it: no escape codes, no overwritten frames.

    What the engine does losslessly; exposed so that other engines (or the pipeline) can clean
    terminal output before reading it.
    """
    rows, _src, _ok, _moved = _render(text)
    return "\n".join(rows)


def _num(params: str, default: int) -> int:
    head = params.split(";", 1)[0].lstrip("?<=>")[:9]  # no terminal goes past a billion rows
    return int(head) if head.isdigit() else default


def _screen(text: str, rows: list[str] | None = None, deadline: float | None = None, strip: bool = True
            ) -> tuple[list[str], list[int], list[bool], set[int]]:
    """Replay terminal output on an unbounded screen.

    Returns the rows, the index of the ``\\n``-line that created each row, whether each row was
    written only while that line was being replayed (pure), and the lines that moved the cursor
    up or down (their rows cannot be folded: expanding them again would move the cursor).
    """
    rows = rows if rows is not None else [""]
    src = [0] * len(rows)
    pure = [True] * len(rows)
    moved: set[int] = set()
    row = col = line = 0
    saved = (0, 0)
    perf = cpu_clock
    count = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        count += 1
        if deadline is not None and not count % CHECK_EVERY and perf() > deadline:
            raise EngineTimeout()
        if kind == "text":
            t = m.group()
            r = rows[row]
            if col == len(r):
                rows[row] = r + t
            elif col > len(r):
                rows[row] = r + " " * (col - len(r)) + t
            else:
                rows[row] = r[:col] + t + r[col + len(t):]
            col += len(t)
            if src[row] != line:
                pure[row] = False
        elif kind == "ctl":
            c = m.group()
            if c == "\n":
                line += 1
                row += 1
                col = 0
                if row == len(rows):
                    rows.append("")
                    src.append(line)
                    pure.append(True)
            elif c == "\r":
                col = 0
            else:
                col = max(col - 1, 0)
        elif kind == "final":
            final = m.group("final")
            if final == "m":
                continue
            params = m.group("params")
            if final in "ABEF":
                n = max(_num(params, 1), 1)
                moved.add(line)
                # a terminal does not scroll on cursor moves: rows are only made by line feeds
                row = max(row - n, 0) if final in "AF" else min(row + n, len(rows) - 1)
                if final in "EF":
                    col = 0
            elif final == "K":
                n = _num(params, 0)
                r = rows[row]
                rows[row] = r[:col] if n == 0 else ("" if n == 2 else " " * (col + 1) + r[col + 1:])
                if src[row] != line:
                    pure[row] = False
            elif final == "G":
                col = min(max(_num(params, 1), 1) - 1, MAX_COLUMN)
            elif final == "C":
                col = min(col + max(_num(params, 1), 1), MAX_COLUMN)
            elif final == "D":
                col = max(col - max(_num(params, 1), 1), 0)
            elif final == "J":
                moved.add(line)
                if _num(params, 0) == 0:  # erase below: later redraws write the rows again
                    if deadline is not None and perf() > deadline:
                        raise EngineTimeout()
                    rows[row] = rows[row][:col]
                    for j in range(row + 1, len(rows)):
                        rows[j] = ""
                        pure[j] = False
            elif final in "su":
                moved.add(line)
                if final == "s":
                    saved = (row, col)
                else:
                    row, col = saved
        elif kind == "esc":
            code = m.group("esc")
            if code in ("7", "8"):
                moved.add(line)
                if code == "7":
                    saved = (row, col)
                else:
                    row, col = saved
    return ([r.rstrip() for r in rows] if strip else rows), src, pure, moved


def _plain(segment: str) -> str | None:
    """A segment's printed text, when it prints without moving the cursor back (None otherwise)."""
    if "\x1b" not in segment and "\x08" not in segment:
        return segment
    if _MOVES_BACK.search(segment):
        return None
    return _STRIP.sub("", segment)


def _paint(row: str, segment: str) -> str:
    """``row`` after ``segment`` (text without \\r or \\n) is written over it from column 0."""
    plain = _plain(segment)
    if plain is not None:
        return plain + row[len(plain):]
    return _screen(segment, [row], strip=False)[0][0]


def _similar(prev: str, new: str) -> bool:
    """Whether ``new``, written over ``prev`` after a \\r, is a redraw of the same line."""
    p, q = prev.rstrip(), new.rstrip()
    if not p or not q:
        return True
    if len(new) > len(q) + 1 and len(new) >= len(p):
        return True  # padded with spaces to blank out the old text
    half = max(4, min(len(p), len(q)) // 2)
    if p[:half] == q[:half]:
        return True
    p0, q0 = p.lstrip()[:1], q.lstrip()[:1]
    if p0 in _SPINNER_LEADS and q0 in _SPINNER_LEADS:
        return True
    if _bar(p) and _bar(q):
        return True  # two states of a progress bar, e.g. "ETA: 3s" becoming "3s 2ms/step" at the end
    kp, kq = _key(p), _key(q)
    return kp.startswith(kq) or kq.startswith(kp)  # the same shape, maybe with ", done." added


def _bar(row: str) -> bool:
    return ("[" in row and _CUE_BAR.search(row) is not None) or (
        not row.isascii() and _CUE_UNICODE.search(row) is not None)


def _render_line(line: str) -> str:
    """One line with carriage returns and backspaces, as it finally looked.

    Redraws overlay each other; a \\r between unrelated texts is a line break (see the module
    docstring), returned as ``_BREAK`` until the text is in rows.
    """
    done: list[str] = []
    buf = ""
    for segment in line.split("\r"):
        if not segment:
            continue
        erase = _ERASE_START.match(segment)
        if erase:  # the line was cleared first: nothing of the old text is lost
            buf = ""
            segment = segment[erase.end():]
        elif buf.strip():
            plain = _plain(segment)
            visible = plain if plain is not None else _screen(segment, [""], strip=False)[0][0]
            if visible.strip() and not _similar(buf, visible):
                done.append(buf.rstrip())
                buf = visible
                continue
        buf = _paint(buf, segment)
    done.append(buf.rstrip())
    return _BREAK.join(done)


def _render_overwrites(text: str, deadline: float | None) -> str:
    """Replay every line that holds a \\r, a backspace, an erase or a column move; keep the rest."""
    out = []
    pos = 0
    m = _OVERWRITE.search(text)
    perf = cpu_clock
    count = 0
    while m:
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        if end < 0:
            end = len(text)
        out.append(_STRIP.sub("", text[pos:start]))
        out.append(_render_line(text[start:end]))
        pos = end
        count += 1
        if deadline is not None and not count % 256 and perf() > deadline:
            raise EngineTimeout()
        m = _OVERWRITE.search(text, end)
    out.append(_STRIP.sub("", text[pos:]))
    return "".join(out)


def _render(text: str, deadline: float | None = None
            ) -> tuple[list[str], list[int] | None, list[bool] | None, set[int]]:
    """Rows as shown, and for each row the \\n-line it came from (None: row i is line i) and
    whether it may be folded (None: all may)."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if "\x1b" in text and _VERTICAL.search(text):
        rows, src, pure, moved = _screen(text, deadline=deadline)
        # a row may be folded when the line that made it wrote nothing else and was replayed here as
        # anywhere (no \r or erase, whose reading outside the screen differs: see _render_line)
        lines = text.split("\n")
        ok = [p and s not in moved and not _OVERWRITE.search(lines[s]) for p, s in zip(pure, src)]
        return rows, src, ok, moved
    if "\r" in text or "\x08" in text or "\x1b" in text:
        text = _render_overwrites(text, deadline)
        rows = text.split("\n")
        if _BREAK in text:
            rows = [r.replace(_BREAK, "\n") if _BREAK in r else r for r in rows]
        return rows, None, None, set()
    if any(c in text for c in _CONTROLS):
        text = _STRIP.sub("", text)
    return text.split("\n"), None, None, set()


# --- folding ------------------------------------------------------------------------------------


def _percents(row: str) -> list[float]:
    """The percentages in a row ("45%", "12.5 %"), not metrics such as "cpu=45%"."""
    found = []
    i = row.find("%")
    while i > 0:
        j = i - 1 if row[i - 1] == " " else i
        k = j
        while k > 0 and (row[k - 1].isdigit() or row[k - 1] == "."):
            k -= 1
        number = row[k:j].strip(".")
        if number and number[0].isdigit() and (k == 0 or not (row[k - 1].isalnum() or row[k - 1] in "=_.")):
            try:
                found.append(float(number))
            except ValueError:
                pass
        i = row.find("%", i + 1)
    return found


def _state(row: str) -> tuple[bool, float | None]:
    """Whether a progress line is unfinished (a percentage under 100, n/m with n < m, a bar with a
    gap, a spinner frame), and how far along it is (0..1) where it says."""
    percents = _percents(row) if "%" in row else None
    if percents:
        return max(percents) < 100, percents[0] / 100
    if "/" in row:
        for m in _FRACTION.finditer(row):
            a = float(m.group(1)) * _UNIT.get(m.group(2), 1.0)
            b = float(m.group(3)) * _UNIT.get(m.group(4), 1.0)
            if a < b:
                return True, a / b
    if "[" in row:
        for m in _ASCII_BAR.finditer(row):
            inner = m.group(1)
            if " " in inner or "." in inner or ">" in inner[:-1]:
                return True, None
    if not row.isascii():
        if _PARTIAL_BAR.search(row):
            return True, None
        lead = row.lstrip()[:1]
        if lead and (lead in _SPINNERS or "\u2800" <= lead <= "\u28ff"):
            return True, None
    return False, None


def _segments(claimed: bytearray, min_len: int) -> list[tuple[int, int]]:
    """The runs of unclaimed rows at least min_len long, as (start, end)."""
    found = []
    n = len(claimed)
    a = claimed.find(0)
    while a >= 0:
        b = claimed.find(1, a)
        if b < 0:
            b = n
        if b - a >= min_len:
            found.append((a, b))
        a = claimed.find(0, b)
    return found


def _periodic(seq: list, a: int, b: int, k: int) -> list[tuple[int, int]]:
    """Stretches of seq[a:b] that are k-periodic for at least MIN_CYCLES periods, as (start, end)."""
    part = seq[a:b]
    eq = bytes(map(operator.eq, part, part[k:]))
    need = (MIN_CYCLES - 1) * k
    return [(a + m.start(), a + m.end() + k) for m in re.finditer(b"\x01{%d,}" % need, eq)]


class _Folder:
    """Chooses the folds over the rendered rows; every fold is a (start, end, counts) run of rows."""

    def __init__(self, rows: list[str], ok: list[bool] | None, mark, terms: tuple[str, ...], deadline: float):
        self.rows = rows
        self.n = len(rows)
        self.mark = mark  # (first_row, last_row, counts) -> marker text
        self.terms = terms
        self.deadline = deadline
        # what the passes compare: a row, or NaN (equal to nothing, itself included) where the row
        # must not take part
        self.cmp: list = list(rows) if ok is None else [r if o else _NAN for r, o in zip(rows, ok)]
        self.counts = Counter(self.cmp)
        # rows that occur MIN_CYCLES times or more: only they can be in a back-to-back repeat
        self.repeated = sum(c for r, c in self.counts.items() if c >= MIN_CYCLES and r is not _NAN)
        self.claimed = bytearray(self.n)  # decided by a fold (kept or dropped)
        self.dropped = bytearray(self.n)
        self.folds: list[tuple[int, int, dict[str, int]]] = []

    def _check(self) -> None:
        if past(self.deadline):
            raise EngineTimeout()

    def _chars(self, a: int, b: int) -> int:
        return sum(map(len, self.rows[a:b])) + (b - a)

    def _fold(self, a: int, b: int, counts: dict[str, int], gain: float) -> bool:
        marker = self.mark(a, b - 1, counts)
        if self._chars(a, b) < gain * (len(marker) + 1):
            return False
        self.folds.append((a, b, counts))
        self.dropped[a:b] = b"\x01" * (b - a)
        return True

    def _claim(self, a: int, b: int) -> None:
        self.claimed[a:b] = b"\x01" * (b - a)
        self.cmp[a:b] = [_NAN] * (b - a)

    def repeats(self, periods: range) -> None:
        """Blocks of 1..MAX_PERIOD lines repeated back to back: keep the first copy."""
        rows = self.rows
        for k in periods:
            self._check()
            if self.repeated < MIN_CYCLES * k:
                return
            for a, b in _segments(self.claimed, MIN_CYCLES * k):
                for s, e in _periodic(self.cmp, a, b, k):
                    if any(self.claimed[s:e]):
                        continue
                    cycles = (e - s) // k
                    if not any(r.strip() for r in rows[s:s + k]):
                        continue  # blank lines: collapsed losslessly later
                    label = "repeats of the line above" if k == 1 else f"repeats of the {k} lines above"
                    if self._fold(s + k, s + cycles * k, {label: cycles - 1}, FOLD_GAIN):
                        self._claim(s, s + cycles * k)

    def progress(self, text: str) -> None:
        """Progress updates on lines of their own: keep the last state of each line."""
        rows = self.rows
        found = [m.start() for m in _CUE_PERCENT.finditer(text)]
        found += [m.start() for m in _CUE_BAR.finditer(text)]
        if not text.isascii():
            found += [m.start() for m in _CUE_UNICODE.finditer(text)]
        if len(found) < MIN_CYCLES:
            return
        found.sort()
        starts = list(accumulate(map(len, rows), lambda acc, n: acc + n + 1, initial=0))
        keys = list(self.cmp)
        cue = bytearray(self.n)
        picked = []
        last = -1
        for pos in found:
            i = bisect_right(starts, pos) - 1
            if i != last and i < self.n and keys[i] is not _NAN:
                picked.append(i)
                cue[i] = 1
            last = i
        if len(picked) < MIN_CYCLES:
            return
        # the shapes of all these rows in one pass (rows hold no control characters: \x01 is free)
        masked = _KEY.sub("\x00", "\x01".join([rows[i] for i in picked])).replace(" ", "").split("\x01")
        for i, key in zip(picked, masked):
            keys[i] = "\x00" + key
        for k in range(1, MAX_PERIOD + 1):
            self._check()
            for a, b in _segments(self.claimed, MIN_CYCLES * k):
                for s, e in _periodic(keys, a, b, k):
                    if any(self.claimed[s:e]):
                        continue
                    cycles = (e - s) // k
                    if not all(any(cue[c:c + k]) for c in range(s, s + cycles * k, k)):
                        continue
                    self._progress_run(s, k, cycles, cue)
                    self._claim(s, s + cycles * k)
                    keys[s:s + cycles * k] = self.cmp[s:s + cycles * k]

    def _progress_run(self, s: int, k: int, cycles: int, cue: bytearray) -> None:
        """Fold the earlier states in rows s.. (cycles blocks of k lines with the same shape).

        A block may go when each of its lines is identical to its next state or is an unfinished
        progress line. Progress never goes back before it is finished: a run where it does is not
        progress but records with a ratio or a percentage in them (a log), and stays as it is.
        """
        rows = self.rows
        states = [_state(rows[x]) if cue[x] else (False, None) for x in range(s, s + cycles * k)]
        for x in range(len(states) - k):
            unfinished, done = states[x]
            later = states[x + k][1]
            if unfinished and done is not None and later is not None and later < done:
                return
        droppable = []
        for c in range(cycles - 1):
            droppable.append(all(rows[s + x] == rows[s + x + k] or states[x][0] for x in range(c * k, c * k + k)))
        if self.terms:  # a state the question names stays, between two folds
            last = "\n".join(rows[s + (cycles - 1) * k: s + cycles * k]).lower()
            for c in range(cycles - 1):
                block = "\n".join(rows[s + c * k: s + c * k + k]).lower()
                if any(t in block and t not in last for t in self.terms):
                    droppable[c] = False
        label = "earlier states of the line below" if k == 1 else f"earlier states of the {k} lines below"
        c = 0
        while c < cycles - 1:
            if not droppable[c]:
                c += 1
                continue
            d = c
            while d + 1 < cycles - 1 and droppable[d + 1]:
                d += 1
            a, b = s + c * k, s + (d + 1) * k
            if d > c:
                self._fold(a, b, {label: d - c + 1}, FOLD_GAIN)
            c = d + 1

    def far_repeats(self) -> None:
        """Later verbatim copies of a block whose first line is frequent: keep the earlier copy."""
        counts = self.counts
        if max(counts.values(), default=0) < FAR_MIN_OCCURRENCES:
            return
        frequent = {r for r, c in counts.items() if c >= FAR_MIN_OCCURRENCES and r is not _NAN and r.strip()}
        if not frequent:
            return
        rows, cmp, claimed, dropped = self.rows, self.cmp, self.claimed, self.dropped
        last_seen: dict[str, int] = {}
        steps = 0
        for a, b in _segments(claimed, 1):
            x = a
            while x < b:
                steps += 1
                if not steps % CHECK_EVERY:
                    self._check()
                r = cmp[x]
                if r not in frequent:
                    x += 1
                    continue
                p = last_seen.get(r)
                if p is not None and x - p > 1:
                    size = 0
                    while (x + size < b and p + size < x and not dropped[p + size]
                           and rows[x + size] == rows[p + size]):
                        size += 1
                    snippet = _SNIPPET_BAD.sub("", r.strip()).replace('"', "'")
                    if len(snippet) > SNIPPET:
                        snippet = snippet[:SNIPPET].rstrip() + "\u2026"
                    label = (f'repeat of the line "{snippet}"' if size == 1
                             else f'lines repeated from above, starting "{snippet}"')
                    if self._fold(x, x + size, {label: size}, FOLD_GAIN):
                        self._claim(x, x + size)
                        x += size
                        continue
                last_seen[r] = x
                x += 1


# --- the engine -----------------------------------------------------------------------------------


def _sample(text: str) -> str:
    """Whole lines from the head, the middle and the tail, SAMPLE characters at most, no overlap."""
    if len(text) <= SAMPLE:
        return text
    quarter = SAMPLE // 4
    head = text[: 2 * quarter]
    head = head[: head.rfind("\n") + 1]
    mid = max(len(head), len(text) // 2 - quarter // 2)
    middle = text[mid: mid + quarter]
    middle = middle[middle.find("\n") + 1: middle.rfind("\n") + 1]
    tail = text[max(mid + quarter, len(text) - quarter):]
    tail = tail[tail.find("\n") + 1:]
    return head + middle + tail


def _line_numbers(text: str, lines: list[str]):
    """(first, last) 1-based line numbers of each \\n-line, as a function of its index: markers count
    lines at "\\n" only, as `headroom retrieve` does (markers.original_lines)."""
    return lambda i: (i + 1, i + 1)


def _compress(text: str, part_id: str, terms: tuple[str, ...], far: bool, deadline: float) -> tuple[str, int]:
    """The compressed text and how many original lines its markers stand for."""
    lines = text.split("\n")
    ends_nl = len(lines) > 1 and lines[-1] == ""
    if ends_nl:
        lines.pop()
    rows, src, ok, _moved = _render(text, deadline)
    if ends_nl and len(rows) > 1 and rows[-1] == "":
        rows.pop()
        if src is not None:
            src.pop()
            ok.pop()
    if src is None and len(rows) != len(lines):  # defensive: rendering must keep the line count
        return text, 0
    numbers = _line_numbers(text, lines)

    def span(a: int, b: int) -> tuple[int, int]:  # rows a..b (inclusive) -> original line numbers
        la, lb = (a, b) if src is None else (src[a], src[b])
        return numbers(la)[0], numbers(lb)[1]

    def mark(a: int, b: int, counts: dict[str, int]) -> str:
        return line_marker(part_id, *span(a, b), counts)

    if past(deadline):
        raise EngineTimeout()
    folder = _Folder(rows, ok, mark, terms, deadline)
    folder.repeats(range(1, 2))
    folder.progress("\n".join(rows))  # before longer blocks: a spinner's frames cycle too
    folder.repeats(range(2, MAX_PERIOD + 1))
    if far:
        folder.far_repeats()
    out: list[str] = []
    omitted = 0
    pos = 0
    for a, b, counts in sorted(folder.folds):
        out.extend(rows[pos:a])
        first, last = span(a, b - 1)
        out.append(line_marker(part_id, first, last, counts))
        omitted += last - first + 1
        pos = b
    out.extend(rows[pos:])
    result = "\n".join(out) + ("\n" if ends_nl else "")
    result = _BLANK_HEAD.sub("\n", _BLANK_RUN.sub("\n\n", result))
    return result, omitted


class TextEngine:
    """The fallback for text nothing else claims: terminal noise out, repeated lines folded."""

    __test__ = False
    name = "text"
    fallback = True  # the pipeline asks it only when no specialised engine had anything to offer

    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text
        if len(text) < 2:
            return 0.0
        if text.count("\x1b") >= 3 or text.count("\x08") >= 3:
            return SCORE
        if "\r" in text and text.count("\r") > text.count("\r\n"):
            return SCORE
        sample = _sample(text)
        if not (_BLANK_RUN.search(sample) or _repeats_somewhere(sample) or _progress_somewhere(sample)):
            return 0.0
        try:
            out, _ = _compress(sample, "hr_" + "0" * 16, (), _far_allowed(part), deadline_after(1.0))
        except Exception:
            return 0.0
        saved = len(sample) - len(out)
        return SCORE if saved >= max(64, 0.01 * len(sample)) else 0.0

    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        if not text or not text.strip():
            return None
        try:
            out, omitted = _compress(text, ctx.part_id, part_terms(part), _far_allowed(part), ctx.deadline)
        except EngineTimeout:
            raise
        except (ValueError, IndexError, TypeError, RecursionError):  # odd input: leave it alone
            return None
        if len(out) > len(text) - MIN_SAVED:
            return None
        return Result(out, self.name, omitted=omitted)


def _far_allowed(part: Part) -> bool:
    return (part.tool_name or "").strip().lower() not in _FILE_TOOLS


def _progress_somewhere(sample: str) -> bool:
    return (sample.count("%") >= MIN_CYCLES or _CUE_BAR.search(sample) is not None
            or (not sample.isascii() and _CUE_UNICODE.search(sample) is not None))


def _repeats_somewhere(sample: str) -> bool:
    lines = sample.split("\n")
    return len(set(lines)) < 0.9 * len(lines)


register(TextEngine())
