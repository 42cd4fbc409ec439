"""Which lines to keep: the kept classes, each error or warning with the block under it, a line of
context above an error, and the head and tail of the part.

An error's block is the more-indented lines below it (blank lines inside allowed), diagnostics
snippets (``  42 |   code``, ``   ^~~``), and a short paragraph of unindented lines that follow it
directly (the message lines of a panic, the exception line closing a traceback); a failing test's
report (``FAIL: x``, ``● a › b``) runs on through its blank lines. The block under a repeated
warning folds with it instead.
"""

from __future__ import annotations

from headroom_cli.engines.testlog.build import SNIPPET
from headroom_cli.engines.testlog.lines import B, D, E, F, KEEP_CLASSES, Lines, N, R, S, W
from headroom_cli.engines.testlog.patterns import BLOCK_HEADER, FAIL_HEADER, RULE
from headroom_cli.engines.testlog.stacks import TRACEBACK

HEAD = 5  # first lines of a part, always kept
TAIL = 5  # last lines of a part, always kept
CONT_LIMIT = 400  # the most lines one error block may pull in after its anchor
PARA_LIMIT = 8  # the most same-indent lines an error paragraph may pull in
OTHER_LIMIT = 60  # the same for a warning's or a summary's block
_BLOCK_LABELS = ("other", "build output", "test details")  # folded lines that may still sit in a block


def fold_repeated_warnings(lines: Lines) -> None:
    """The block under a repeated warning folds with it (its source line, its indented details)."""
    i, n = 0, len(lines)
    while i < n:
        i = extend(lines, i, R, None) if lines.cls[i] == R else i + 1


def keep_blocks(lines: Lines) -> bytearray:
    """1 for every line of a kept class and of the blocks under errors, warnings, summaries and frames."""
    cls, contents, n = lines.cls, lines.contents, len(lines)
    keep = bytearray(n)
    for i in range(n):
        if cls[i] in KEEP_CLASSES:
            keep[i] = 1
    i = 0
    while i < n:
        k = cls[i]
        if k == E or k == W or k == S or k == F:
            j = extend(lines, i, k, keep)
            # a block may hold the header of another (a traceback, a failure report): extend those too
            x = i + 1
            while x < j:
                if cls[x] == E and BLOCK_HEADER.match(contents[x].lstrip()):
                    j = max(j, extend(lines, x, E, keep))
                x += 1
            i = max(j, i + 1)
        else:
            i += 1
    return keep


def keep_context(lines: Lines, keep: bytearray) -> None:
    """A little context before errors: the command or "In function" line above them."""
    cls, compile_line, n = lines.cls, lines.compile_line, len(lines)
    for i in range(1, n):
        if cls[i] == E and not keep[i - 1] and (cls[i - 1] == N or compile_line[i - 1]):
            keep[i - 1] = 1
            if i >= 2 and compile_line[i - 2] and not compile_line[i - 1]:
                keep[i - 2] = 1


def keep_ends(keep: bytearray) -> None:
    n = len(keep)
    for i in range(min(HEAD, n)):
        keep[i] = 1
    for i in range(max(0, n - TAIL), n):
        keep[i] = 1


def extend(lines: Lines, i: int, k: int, keep: bytearray | None) -> int:
    """Keep the block under line i (of class k), or with ``keep`` None fold it as repeated warnings;
    return the next line to look at."""
    cls, ind, contents, label = lines.cls, lines.ind, lines.contents, lines.label
    n = len(cls)
    base = floor = ind[i]
    para = PARA_LIMIT if k == E else 0
    head = contents[i].lstrip()
    traceback = k == E and TRACEBACK.match(head) is not None
    # a test failure's header ("FAIL: test_x", " FAIL  a.test.ts > b", "● a › b", "1) suite"): its
    # report runs on over blank lines (message, expected/received diff, source excerpt, stack)
    greedy = k == E and FAIL_HEADER.match(head) is not None
    limit = CONT_LIMIT if k in (E, F) else OTHER_LIMIT
    blanks = 0
    seen_blank = seen_deeper = False
    j = i + 1
    while j < n and j - i <= limit:
        cj = cls[j]
        if cj == B:  # blank lines are allowed inside, up to two in a row
            blanks += 1
            seen_blank = True
            if blanks > 2:
                break
            j += 1
            continue
        if ind[j] > base or (k != S and SNIPPET.match(contents[j]) is not None):
            if cj == D and label[j] not in _BLOCK_LABELS:
                break  # a new log record or a passing test, not part of this block
            seen_deeper = True
        elif para > 0 and not seen_blank and (traceback or not seen_deeper) and cj in (N, E, F):
            para -= 1
            floor = min(floor, ind[j])
            if cj == E and not traceback and TRACEBACK.match(contents[j].lstrip()):
                traceback = True
        elif greedy and ind[j] >= floor and cj in (N, E, F, W) and not RULE.match(contents[j].lstrip()):
            pass
        else:
            break
        if keep is None:
            if cj in (N, F, D):
                cls[j] = R
                label[j] = "repeated warnings"
        else:
            for x in range(j - blanks, j + 1):
                keep[x] = 1
        blanks = 0
        j += 1
    return j if k != S else i + 1
