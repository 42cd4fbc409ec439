"""A long pytest failure report, cut to what a reader needs of each traceback frame.

``--tb=long``/``auto`` print, for every frame of a traceback, the function's source from its ``def``
down to the failing ``>`` line (docstrings, doctests, whole bodies) and its arguments. Per frame
this keeps the decorators and ``def`` line, the last SRC_CONTEXT lines above ``>``, the ``>`` line
and the rest of its statement, every ``E`` line, the ``path:line:`` location and the arguments (of
a long list, those named in the failing statement). In a traceback of more than TB_FULL_FRAMES
frames, the frames between the first (the test) and the last two (the raise and its caller) keep
only their ``>`` statement and location, as ``--tb=short`` would show them. The chaining lines
("The above exception was the direct cause ...") are kept.
"""

from __future__ import annotations

import re

from headroom_cli.engines.testlog.lines import B, K, Lines

REPORT_SHORT = 30  # a failure report (one test's traceback) this short is kept whole
SRC_CONTEXT = 3  # source lines kept right above a frame's ">" line
ARGS_MAX = 6  # a frame's argument/local lines kept whole up to this many; of more, those that name a
ARGS_HEAD = 3  # variable of the failing line, or else the first ARGS_HEAD
TB_FULL_FRAMES = 4  # a traceback of more frames shows the ones between its first and last two in short

# the "_ _ _ _" line between frames, the lines that chain exceptions, a def line
_SEPARATOR = re.compile(r"(?:_ ){3,}_?$")
_CHAIN = ("The above exception was the direct cause", "During handling of the above exception")
_DEF = re.compile(r"(?:async +)?(?:def|class) ")
_DEF_END = re.compile(r":\s*(?:#.*)?$")  # the colon that ends a signature
_LOCAL = re.compile(r"[A-Za-z_.][\w.]* += ")  # "value = '2x'", "x          = 3" (--showlocals)
_LOCAL_NAMES = re.compile(r"(?:^|, )([A-Za-z_.][\w.]*) += ")  # "d = {...}, k = 'checkout-api'"
_IDENT = re.compile(r"[A-Za-z_]\w*")


def fold_reports(reports: list[tuple[int, int]], lines: Lines) -> None:
    for a, b in reports:
        if b - a > REPORT_SHORT:
            fold_report(a, b, lines)


def fold_report(a: int, b: int, lines: Lines) -> None:
    """Mark the lines of one failure report (lines a..b-1) that need not be read as foldable."""
    contents = lines.contents
    frames: list[tuple[int, int]] = []  # the frames of the current exception's traceback
    start = a
    for i in range(a, b + 1):
        chain = i == b
        if not chain:
            s = contents[i].strip()
            if not s or s[0] not in "_TD":
                continue
            if s[0] == "_":
                if not _SEPARATOR.match(s):
                    continue
            elif s.startswith(_CHAIN):
                chain = True
            else:
                continue
        frames.append((start, i))
        start = i + 1
        if chain:
            last = len(frames) - 2
            for k, (f0, f1) in enumerate(frames):
                _fold_frame(f0, f1, lines, len(frames) > TB_FULL_FRAMES and 0 < k < last)
            frames = []


def _fold_frame(f0: int, f1: int, lines: Lines, short: bool) -> None:
    """Fold the middle of one frame's source and of its long argument/locals lists; for a ``short``
    frame, everything above its ``>`` line, from the separator line before it."""
    contents, cls = lines.contents, lines.cls
    gt = next((i for i in range(f0, f1) if contents[i][:1] == ">" and (len(contents[i]) == 1 or contents[i][1] == " ")),
              -1)
    if gt < 0:
        return
    names = _statement_names(gt, f1, contents)
    if short:
        for x in range(f0 - 1, gt):
            if cls[x] == B:
                lines.label[x] = "frame lines"
            elif cls[x] == K and contents[x][:2] not in ("E ", "E"):
                lines.fold(x, "frame lines")
        _fold_locals(gt + 1, f1, lines, names)
        return
    # the source above ">": the lines printed with pytest's 4-space source indent (blank ones included)
    src0 = gt
    while src0 > f0 and contents[src0 - 1][:4] == "    ":
        src0 -= 1
    head_end = _signature_end(src0, gt, contents)
    for x in range(head_end, max(head_end, gt - SRC_CONTEXT)):
        if cls[x] == K:
            lines.fold(x, "source lines")
    # arguments above the source, locals (--showlocals) below it: a long list keeps its first lines
    _fold_locals(f0, src0, lines, names)
    _fold_locals(gt + 1, f1, lines, names)


def _signature_end(src0: int, gt: int, contents: list[str]) -> int:
    """The line after a frame's decorators and ``def`` line (through a signature that spans lines),
    or after the source's first line when it does not start with one."""
    h = src0
    while h < gt and h - src0 < 8 and contents[h].lstrip().startswith("@"):
        h += 1
    if h < gt and _DEF.match(contents[h].lstrip()):
        x = h
        while x < gt - 1 and x - h < 8 and not _DEF_END.search(contents[x]):
            x += 1
        return x + 1
    return src0 + 1


def _fold_locals(lo: int, hi: int, lines: Lines, names: set[str]) -> None:
    """Fold a long list of ``name = value`` lines (the first such list in lo..hi-1) down to the lines
    that name a variable of the failing statement (``names``), or else to its first ARGS_HEAD lines."""
    if hi - lo <= ARGS_MAX:
        return
    contents, cls = lines.contents, lines.cls
    found: list[int] = []
    for x in range(lo, hi):
        if cls[x] == B:
            continue
        c = contents[x]
        if c[:1] in " E>" or not _LOCAL.match(c):
            if found:
                break
            continue
        found.append(x)
    if len(found) <= ARGS_MAX:
        return
    named = [x for x in found if names.intersection(_LOCAL_NAMES.findall(contents[x]))]
    kept = set(named or found[:ARGS_HEAD])
    for x in found:
        if x not in kept and cls[x] == K:
            lines.fold(x, "frame locals")


def _statement_names(gt: int, f1: int, contents: list[str]) -> set[str]:
    """The identifiers of a frame's failing statement: its ``>`` line and the source lines after it."""
    names: set[str] = set()
    for x in range(gt, f1):
        c = contents[x]
        if x > gt and c[:4] != "    ":
            break
        names.update(_IDENT.findall(c))
    return names
