"""The test-and-log engine: keep failures, errors, warnings and summaries; fold the passing noise.

Test-runner output (pytest, unittest, jest, node --test, go test, cargo test, ...) and logs
(application logs with levels or timestamps, make/gcc/pip/npm build output) are mostly lines
nobody needs to read: PASSED, ``ok``, INFO/DEBUG records, ``copying ...``. What matters is a
handful of lines and the blocks under them: the failure, its traceback or stack, the assertion
message, warnings, and the runner's summary.

The engine works in one pass over the lines, on shapes rather than on any particular program:

1. classify each line (blank, passing test, levelled log record, summary, error, warning, stack
   frame, build chatter, or neutral), by precompiled regexes tried cheapest first;
2. keep every error/summary/first-warning line and extend each error or warning to its block:
   more-indented lines, code snippets under compiler diagnostics, and for errors a short
   paragraph (the exception line after a traceback, a panic message, ``Caused by:``);
3. keep the head and tail of the part, the pytest FAILURES/ERRORS sections, a failing test's
   report (``FAIL: x``, ``● a › b``) through its blank lines, and one line of context above an
   error (the compile command, gcc's "In function"); in a long pytest report, each traceback
   frame is cut to its ``def`` line, the lines just above ``>``, the ``>`` statement, the ``E``
   lines and the location (``--tb=long`` prints every function whole), the frames between the
   test's and the last two of a deep traceback to their ``>`` line and location; and once a Rust
   test binary failed, the binaries that passed fold whole;
4. replace every remaining run of at least ``MIN_RUN`` lines by one marker line naming the
   omitted 1-based line range of the original and what the lines were, so that expanding the
   markers gives back the original text exactly.

Warnings are kept once per shape (numbers masked); repeats fold into the markers. Search for
error words runs over the whole text at once (str.find), and the per-line regexes only run on
the lines that have a candidate, which keeps a 200 KB log to a few milliseconds.

Input in Claude Code's Read format (``N<TAB>line``) is classified on the text after the tab, and
kept lines are copied with their prefix; likewise for a timestamp, CI-step or ``service |``
prefix that most lines share.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from itertools import accumulate

from headroom_cli.engines import register
from headroom_cli.engines.base import (ANSI, Context, cpu_clock, EngineTimeout,
                                       hint_score, Part, Result, split_lines)
from headroom_cli.markers import line_marker

HEAD = 5  # first lines of a part, always kept
TAIL = 5  # last lines of a part, always kept
MIN_RUN = 3  # a shorter run of droppable lines is kept as it is: its marker would save nothing
MIN_LINES = 12  # a shorter part is left alone
CONT_LIMIT = 400  # the most lines one error block may pull in after its anchor
PARA_LIMIT = 8  # the most same-indent lines an error paragraph may pull in
CHECK_EVERY = 2048  # lines between deadline checks
REPORT_SHORT = 30  # a pytest failure report (one test's traceback) this short is kept whole
SRC_CONTEXT = 3  # source lines kept right above a traceback frame's ">" line
ARGS_MAX = 6  # a frame's argument/local lines kept whole up to this many; of more, those that name a
ARGS_HEAD = 3  # variable of the failing line, or else the first ARGS_HEAD
TB_FULL_FRAMES = 4  # a traceback of more frames shows the ones between its first and last two in short

# Line classes. The first five are kept; the rest may be folded into a marker.
E, W, S, F, K = 1, 2, 3, 4, 5  # error, first warning, summary/structure, stack frame, keep (section)
D, N, B, R = 6, 7, 8, 9  # droppable known, neutral, blank, repeated warning
_KEEP_CLASSES = (E, W, S, F, K)

# --- regexes (all matched against the line with its indentation removed, ANSI codes stripped) ---

_READ_PREFIX = re.compile(r" *\d+(?:\t|\u2192)")
_LINE_PREFIXES = (  # tried in this order, each taken off when most lines have it
    re.compile(r"[^\t]+\t[^\t]+\t(?=\d{4}-\d\d-\d\dT)"),  # gh run view --log: job, step, then a timestamp
    re.compile(r"[A-Za-z][\w.\-]*\s+\| "),  # docker compose logs: "web-1  | "
    re.compile(r"\[pod/[^\]\s]+\] "),  # kubectl logs --prefix
    re.compile(r"\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?(?: |$)"),  # ISO time
)

# pytest-style section rules: "==== FAILURES ====", "____ test_x ____", "---- Captured log ----"
_SECTION = re.compile(r"([=_-])\1{2,} (.*?) ?\1{3,}$")

# passing / skipped tests, matched at the start of the line
_PASS_START = re.compile(
    r"(?:(?P<tap>ok \d+\b)"
    r"|(?P<check>[\u2713\u2714\u221a] )"  # ✓ ✔ √ (jest, mocha, node spec)
    r"|(?P<passed>PASSED +\S)"  # pytest -rA "PASSED tests/..."
    r"|(?P<suite>PASS +\S)"  # jest " PASS  src/x.test.js"
    r"|(?P<skip>(?:SKIPPED|XFAIL|XPASS) )"
    r"|(?P<gorun>=== (?:RUN|PAUSE|CONT|NAME)\b)"
    r"|(?P<gopass>--- (?:PASS|SKIP):)"
    r"|(?P<dotnet>(?:Passed|Skipped) +\S)"
    r"|(?P<gw>\[gw\d+\] \[ *\d+%\] (?:PASSED|SKIPPED|XFAIL|XPASS)\b)"
    r"|(?P<notest>\? +\S+ +\[no test files\]))"
)
_PASS_START_CHARS = frozenset("oP\u2713\u2714\u221aSX=-?[")
_PASS_START_LABEL = {
    "tap": "passing tests",
    "check": "passing tests",
    "passed": "PASSED",
    "suite": "passing suites",
    "skip": "skipped",
    "gorun": "test progress",
    "gopass": "passing tests",
    "dotnet": "passing tests",
    "gw": "PASSED",
    "notest": "packages without tests",
}
# passing / skipped tests, recognised by how the line ends
_PASS_END_TOKENS = ("PASSED", "SKIPPED", "XFAIL", "XFAILED", "XPASS", "XPASSED", "%]", " ok", " ignored")
_PASS_END = re.compile(
    r"\s(?:(?P<pyt>PASSED|SKIPPED|XFAILED|XFAIL|XPASSED|XPASS)(?: \(.*\))?(?:\s+\[\s*\d+%\])?"
    r"|\.\.\.\s*(?P<dots>ok|ignored|skipped\b.*|expected failure))\s*$"
)
_PASS_END_LABEL = {"PASSED": "PASSED", "SKIPPED": "SKIPPED", "XFAIL": "xfailed", "XFAILED": "xfailed",
                   "XPASS": "xpassed", "XPASSED": "xpassed"}
# progress lines: "tests/test_x.py ....s..F  [ 42%]", "........F...", "tests/a.py ....."
_PROGRESS = re.compile(r"(?:(\S+) +)?([.sSxXFEfp*]+)(?: +\[ *\d+%\])?$")
_PROGRESS_END = frozenset(".sSxXFEfp*]")

# log levels near the start of a line: an upper-case word, glog's letter, or a lower-case form
_UPPER = re.compile(r"[A-Z]{3,9}\b")
_LEVEL_WINDOW = 100
_LEVEL_PROBE = 400  # lines without any level after which a part is taken not to be a levelled log
_LEVEL_BEFORE = frozenset("./=-_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_GLOG = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d\d")
_LEVEL_LOWER = re.compile(r"(?i)\[?(trace|debug|info|notice|verbose|warn|warning|error|fatal|critical)\]?:? ")
_LEVEL_KV = re.compile(r"(?i)\b(?:level|severity)\"?\s*[=:]\s*\"?([a-z]+)")
_LEVEL_NAME = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "DBG": "DEBUG", "INFO": "INFO", "INF": "INFO", "NOTICE": "NOTICE",
    "VERBOSE": "VERBOSE", "FINEST": "FINEST", "FINER": "FINER", "FINE": "FINE", "I": "INFO",
    "WARNING": "WARN", "WARN": "WARN", "WRN": "WARN", "W": "WARN",
    "ERROR": "ERROR", "ERR": "ERROR", "FATAL": "FATAL", "FTL": "FATAL", "CRITICAL": "CRITICAL",
    "CRIT": "CRITICAL", "SEVERE": "SEVERE", "PANIC": "PANIC", "ALERT": "ALERT", "EMERGENCY": "EMERG",
    "EMERG": "EMERG", "E": "ERROR", "F": "FATAL",
}
_LOW_LEVELS = frozenset(("TRACE", "DEBUG", "INFO", "NOTICE", "VERBOSE", "FINEST", "FINER", "FINE"))

# error words, matched on the lower-cased line; each lookbehind sits after the first letter so that
# the regex engine can skip ahead to candidate letters ("-Werror", "errors.py", "stderr" do not count)
_ERR_LOW = re.compile(
    "(?:"
    + "|".join(
        f"{c}(?<![\\w/.\\-]{c})(?:{rest})"
        for c, rest in (("e", r"rrors?|xceptions?"), ("f", r"ail(?:ed|ures?|ing|s)?|atal"), ("p", r"anic(?:ked|s)?"),
                        ("t", r"raceback"), ("c", r"rash(?:ed|es)?"))
    )
    + r")(?![\w/\-]|\.\w)"
)
_ERR_CAMEL = re.compile(r"[a-z0-9](?:Error|Exception|Failure)\b")  # ValueError, IOException
# lines that report a failure by their shape: TAP "not ok", pytest "E   ...", failure bullets, mocha
# "1) title", a Go goroutine dump
_ERR_SHAPE = re.compile(r"not ok\b|E(?: +\S|$)|[\u2717\u2715\u2716\u00d7\u2718\u25cf]|goroutine \d+ \[")
_ERR_SHAPE_CHARS = frozenset("nEg\u2717\u2715\u2716\u00d7\u2718\u25cf")
_MOCHA_FAILURE = re.compile(r"\d+\) \S")  # "  1) suite title", indented, in mocha's failure list
_ZERO = re.compile(
    r"(?i)\b(?:0|no|zero) (?:errors?|exceptions?|failed|failures?|failing)\b"
    r"|(?:errors?|exceptions?|failed|failures?|failing)\s*[=:]\s*0\b"
)
# words looked for over the whole (lower-cased) text at once: bit 1 error words, bit 4 warnings
_CANDIDATE_WORDS = (
    (1, ("err", "fail", "xcept", "fatal", "panic", "traceback", "crash")),
    (4, ("warn",)),
)
# error phrases without an error word; only unlevelled lines need them, so they are looked for line
# by line at first, and over the whole text once many lines have needed them
_PHRASES = (
    "denied", "refused", "timed out", "out of memory", "segmentation fault", "abort", "killed",
    "undefined reference", "cannot", "could not", "unable to", "no such file", "not found", "***",
)
_PHRASE_WORDS = ((2, _PHRASES),)
_PHRASE_RE = re.compile("|".join(re.escape(p) for p in _PHRASES))
_PHRASE_LINES = 300  # lines checked one by one before the whole text is searched instead
_WARN_LOW = re.compile(r"w(?<![\w/.\-]w)arn(?:ing|ings|s)?(?![\w/\-]|\.\w)")
_WARN_CAMEL = re.compile(r"[a-z]Warning\b")  # DeprecationWarning

# summary lines of runners and build tools, matched at the start of the line
_SUMMARY = re.compile(
    r"(?:\d+ (?:passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?|passing|failing|pending"
    r"|tests? (?:passed|failed|completed|run))\b"
    r"|Ran \d+ tests?\b|OK(?: \(.*\))?$|FAILED \(.*\)$"
    r"|(?:Tests|Test Suites|Test Files|Snapshots|Suites|Tests run|Time|Duration):\s"
    r"|Ran all test suites"
    r"|[#\u2139] (?:tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\b"
    r"|1\.\.\d+$|test result:|failures:$|running \d+ tests?$|(?:collecting \.\.\. )?collected \d+ items?\b"
    r"|(?:ok|FAIL)\s+\S+\s+(?:[\d.]+m?s\b|\(cached\)|\[)|(?:FAIL|PASS|OK)$"
    r"|Successfully (?:built|installed|tagged|compiled|uninstalled)\b|Created wheel\b"
    r"|BUILD (?:SUCCESS|SUCCESSFUL|FAILED|FAILURE)\b|Build (?:succeeded|failed|complete|completed|finished)\b"
    r"|Finished\b|Done\b|\u2728 +Done|Compiled (?:successfully|with)"
    r"|(?:added|removed|changed|audited) \d+ packages?|found \d+ vulnerabilit|\d+ (?:warnings?|errors?) generated"
    r"|make(?:\[\d+\])?: \*\*\*|ninja: build stopped|Total time:|error: test failed)"
)
_SUMMARY_CHARS = frozenset("0123456789ROFTSDPBC#\u2139\u2728tfroacmne")  # first letters of _SUMMARY
# stack frames and exception chaining
_FRAME = re.compile(
    r"(?:at \S.*:\d+(?::\d+)?\)?$|at \S+\((?:Native Method|Unknown Source)\)$|File \"[^\"]*\", line \d+"
    r"|Caused by:|Suppressed:"
    r"|\.\.\. \d+ (?:more|common frames omitted)|The above exception was the direct cause"
    r"|During handling of the above exception)"
)
_FRAME_CHARS = frozenset("aFCS.TD")  # first letters of _FRAME
# a compiler's or linter's diagnostic: a source location, then the message
_DIAG_LOCATION = re.compile(r"(?:\.{1,2}/)?[\w.@+\-/]*\w\.[A-Za-z]\w{0,5}:\d+(?::\d+)?(?::| -) \S")
# a timestamp at the start of the line: ISO dates, syslog, clock times, epoch seconds, access logs
_TIMESTAMP = re.compile(
    r"\[?(?:\d{4}[-/]\d\d[-/]\d\d[T ]?\d\d:\d\d|\d\d:\d\d:\d\d|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
    r"|\d{10}(?:\.\d+)?\b|\d\d/[A-Z][a-z]{2}/\d{4}:)"
)
# compiler and linker invocations
_COMPILE = re.compile(
    r"(?:[^\s/]*/)*(?:[\w.+]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|nvcc|gfortran|icc|icx)(?:-\d+(?:\.\d+)*)? "
)
_COMPILE_SRC = re.compile(r"(?:^| )-c +(\S+)")
_EXTENSION = re.compile(r"building '([\w.]+)' extension")
# chatter of build tools and package managers
_BUILD = re.compile(
    r"(?:(?i:copying|creating|adding|writing|reading|running|removing|installing|compiling|building|linking"
    r"|downloading|collecting|processing|checking|generating|scanning|preparing|using|requirement|byte-compiling"
    r"|obtaining|fetching|resolving|unpacking|extracting|configuring|updating|packaging|bundling|emitting"
    r"|stored|saved|looking|attempting|getting|skipping|mkdir|cp|mv|rm|install|ar|ranlib|strip|cmake)\b"
    r"|make(?:\[\d+\])?: (?:Entering|Leaving|Nothing)|\[ *\d+%\]|\[\d+/\d+\]|-- |> Task |#\d+ "
    r"|(?:Get|Hit|Ign):\d+ |Setting up |Selecting previously|Preparing to unpack|Fetched "
    r"|(?:CC|CXX|LD|AR|AS|GEN|CCLD|CXXLD|INSTALL) |npm (?:verb|info|http|timing|sill|notice)\b)"
)
# diagnostics snippets that belong to the error/warning above them (gcc, clang, rustc)
_SNIPPET = re.compile(
    r"\s*(?:> *)?\d+ *\|(?: |$)|\s*\|(?: *[\^~_|+\-]|$)|\s*[~^][~^ ]*$|\s*= (?:note|help)|\s*--> "
)
_SNIPPET_CHARS = frozenset("0123456789|~^=->")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|goroutine \d+ \[")
_FAIL_HEADER = re.compile(r"(?:FAIL(?:ED)?(?::| +\S)|ERROR:|\u25cf |\d+\) \S)")
_BLOCK_HEADER = re.compile(_FAIL_HEADER.pattern + "|" + _TRACEBACK.pattern)
_RULE = re.compile(r"([-=_*#~\u23af\u2500\u2501])\1{5,}")  # a horizontal rule, maybe with a title
_GO_FAIL = re.compile(r"--- FAIL: (\S+)")
_LIBTEST_OK = re.compile(r"test result: ok\. \d+ passed; 0 failed\b")  # a Rust test binary that passed
# pytest tracebacks: the "_ _ _ _" line between frames, the lines that chain exceptions, a def line
_TB_SEPARATOR = re.compile(r"(?:_ ){3,}_?$")
_TB_CHAIN = ("The above exception was the direct cause", "During handling of the above exception")
_TB_DEF = re.compile(r"(?:async +)?(?:def|class) ")
_TB_DEF_END = re.compile(r":\s*(?:#.*)?$")  # the colon that ends a signature
_TB_LOCAL = re.compile(r"[A-Za-z_.][\w.]* += ")  # "value = '2x'", "x          = 3" (--showlocals)
_TB_LOCAL_NAMES = re.compile(r"(?:^|, )([A-Za-z_.][\w.]*) += ")  # "d = {...}, k = 'checkout-api'"
_IDENT = re.compile(r"[A-Za-z_]\w*")
_DIGITS = frozenset("0123456789")
_MASK = re.compile(r"[0-9a-fA-F]*\d[0-9a-fA-F]*")

# detect() only: shapes of the contents this engine is not for
_JSON_FRAGMENT = re.compile(  # a line of pretty-printed JSON
    r"(?:[\[{]$|\"[^\"]*\"\s*:|[\]}],?$|\"[^\"]*\",?$|-?\d+(?:\.\d+)?,?$|true,?$|false,?$|null,?$)"
)
_JSON_OBJECT = re.compile(r"\[?\{\".*[}\]],?$")  # one JSON object on a line (JSON lines, or a log record)
_DIFF_HEAD = re.compile(
    r"(?:diff --git |diff -\w|index [0-9a-f]+\.\.[0-9a-f]+|--- (?!(?:PASS|FAIL|SKIP):)\S|\+\+\+ \S"
    r"|@@ -\d+(?:,\d+)? \+\d+)"
)
_CODE_LINE = re.compile(
    r"\s*(?:def |class |import |from \S+ import |function\b|const |let |var |fn |pub |impl |package |func "
    r"|#include|#define|public |private |protected |static |return\b|if ?\(|for ?\(|while ?\(|\}|\{$|//|/\*|\* |@\w+)"
)
_DIAGNOSTIC = re.compile(  # an error or warning as programs print them (not prose that mentions one)
    r"(?i:\b(?:error|warning|fatal|panic)(?:\[\w+\])?:)|\b(?:ERROR|FAILED|FAIL|FATAL|PANIC|CRITICAL|WARNING|WARN)\b"
    r"|\w(?:Error|Exception):|^not ok\b"
)
_RUNNER = re.compile(
    r"(?:=+ test session starts =+|TAP version \d+|running \d+ tests?$|Ran \d+ tests? in|Test Suites: |=== RUN "
    r"|test result: |[#\u2139] tests \d+|collected \d+ items?|\d+ (?:passing|failing) \(|--- (?:PASS|FAIL): "
    r"|=+ (?:FAILURES|ERRORS|short test summary info|warnings summary) =+$|\d+ (?:failed|passed)\b.* in [\d.]+m?s\b)"
)

_HINTS_MINE = frozenset(("tests", "test", "logs", "log"))


def _contents(lines: list[str], text: str) -> tuple[list[str], bool]:
    """The text to classify for each line, and whether a per-line prefix was taken off.

    Taken off: a Read-format line number, ANSI colour codes, a trailing CR, and a prefix that most
    lines share and that says nothing about the line (a CI job/step column, an ISO timestamp, a
    ``service  | `` or ``[pod/...]`` source tag), so that levels, indentation and stack frames are
    seen as the program printed them.
    """
    sample = [ln for ln in lines[:200] if ln] + [ln for ln in lines[-50:] if ln]
    if sample and sum(1 for ln in sample if _READ_PREFIX.match(ln)) >= 0.9 * len(sample):
        out = []
        for ln in lines:
            m = _READ_PREFIX.match(ln)
            out.append(ln[m.end():] if m else ln)
    else:
        out = lines
    if "\x1b[" in text:
        out = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in out]
    if "\r" in text:
        out = [ln.rstrip("\r") for ln in out]
    stripped = False
    for rx in _LINE_PREFIXES:
        probe = [ln for ln in out[:80] if ln.strip()][:50]
        if len(probe) < 5 or sum(1 for ln in probe if rx.match(ln)) < 0.7 * len(probe):
            continue
        new = []
        for ln in out:
            m = rx.match(ln)
            new.append(ln[m.end():] if m else ln)
        out = new
        stripped = True
    return out, stripped


class TestLogEngine:
    """Folds passing tests and routine log/build lines; keeps failures, errors, warnings, summaries."""

    __test__ = False  # not a pytest test class
    name = "testlog"

    # ------------------------------------------------------------------ detect
    def detect(self, part: Part) -> float:
        hinted = hint_score(part, _HINTS_MINE)
        if hinted is not None:
            return hinted
        text = part.text
        if len(text) > 120_000:  # look at the first 200 and the last 50 lines only
            sample = text[:100_000].split("\n")[:200] + text[-20_000:].split("\n")[1:][-50:]
        else:
            lines = text.split("\n")
            sample = lines[:200] + lines[200:][-50:]
        sample = _contents(sample, text)[0]
        nonblank = 0
        signal = strong = err = json_like = diff_head = hunks = code = 0
        for c in sample:
            s = c.strip()
            if not s:
                continue
            if len(s) > 1000:
                s = s[:1000]  # enough to tell what a line is
            nonblank += 1
            c0 = s[0]
            if c0 in "di-+@" and _DIFF_HEAD.match(s):
                diff_head += 1
                if c0 == "@" or c0 == "d":
                    hunks += 1
                continue
            if c0 != "{" and _JSON_FRAGMENT.match(s):
                json_like += 1
                continue
            if _RUNNER.match(s):
                strong += 1
            if (c0 in _PASS_START_CHARS and _PASS_START.match(s)) or (
                s.endswith(_PASS_END_TOKENS) and _PASS_END.search(s)
            ):
                signal += 1
                continue
            if _find_level(s, c0)[0] or _TIMESTAMP.match(s):
                signal += 1
                continue
            if s[-1] in _PROGRESS_END and s != "..." and (m := _PROGRESS.match(s)) and "." in m.group(2):
                signal += 1
                continue
            if _JSON_OBJECT.match(s):
                json_like += 1
                continue
            if _SUMMARY.match(s) or _BUILD.match(s) or _COMPILE.match(s):
                signal += 1
                continue
            if _DIAGNOSTIC.search(s):
                err += 1
                continue
            if _DIAG_LOCATION.match(s) or (c0 in _SNIPPET_CHARS and _SNIPPET.match(s)) or _FRAME.match(s):
                signal += 1  # a compiler diagnostic, a source excerpt under one, a stack frame
                continue
            if _CODE_LINE.match(s):
                code += 1
        if not nonblank:
            return 0.0
        if hunks and diff_head >= 2 and diff_head * 50 >= nonblank:
            return 0.02  # a unified diff
        if json_like >= 0.5 * nonblank:
            return 0.02
        frac = (signal + err) / nonblank
        if strong >= 2 or (strong and frac >= 0.1):
            return 0.95  # a test runner's own header or summary
        if code >= 0.25 * nonblank and frac < 0.5:
            return 0.05  # source code
        if frac >= 0.5:
            return 0.9
        if frac >= 0.25:
            return 0.8
        if frac >= 0.1:
            return 0.4
        return 0.05

    # ---------------------------------------------------------------- compress
    def compress(self, part: Part, ctx: Context) -> Result | None:
        text = part.text
        lines, ends_nl = split_lines(text)
        n = len(lines)
        if n < MIN_LINES:
            return None
        deadline = ctx.deadline
        perf = cpu_clock
        contents, prefixed = _contents(lines, text)
        scan = text if contents is lines else "\n".join(contents)
        cand = _candidates(scan, contents, _CANDIDATE_WORDS)
        phrase_flags: bytearray | None = None
        phrase_budget = _PHRASE_LINES
        if perf() > deadline:
            raise EngineTimeout()

        cls = [N] * n
        label = ["other"] * n
        ind = [0] * n
        compile_line = bytearray(n)
        in_fail = False  # inside a pytest FAILURES / ERRORS section: keep everything (but see _fold_report)
        in_captured = False  # ... except captured output there, which is treated like any log
        in_warnings = False  # inside pytest's warnings summary
        libtest: list[int] = []  # Rust libtest's "running N tests" and "test result: ..." lines
        reports: list[tuple[int, int]] = []  # one failing test's report in FAILURES/ERRORS: [start, end)
        report_start = -1
        pass_indent = -1  # indentation of the last passing line, for labelling its details
        level_col = -1  # where the level word sat in the last levelled line
        level_search = True
        levelled = 0
        seen_warn: set[str] = set()
        seen_summary: dict[str, int] = {}
        seen_compile: set[str] = set()
        ext_stems: set[str] = set()
        go_runs: dict[str, int] = {}
        go_fails: list[tuple[int, int]] = []
        test_hits = log_hits = 0
        level_name = _LEVEL_NAME
        low_levels = _LOW_LEVELS

        for i in range(n):
            if not i % CHECK_EVERY and perf() > deadline:
                raise EngineTimeout()
            c = contents[i]
            s = c.strip()
            if not s:
                cls[i] = B
                label[i] = "blank lines"
                continue
            c0 = s[0]
            indent = 0 if c[0] == c0 else c.index(c0)
            ind[i] = indent
            flags = cand[i]

            # pytest-style section rules
            if c0 in "=_-" and s[-1] == c0 and len(s) < 400 and (sec := _SECTION.match(s)):
                rule, title = sec.group(1), sec.group(2)
                if report_start >= 0:
                    reports.append((report_start, i))
                report_start = i + 1 if rule == "_" and in_fail else -1
                if rule == "=":
                    in_fail = title in ("FAILURES", "ERRORS")
                    in_warnings = title == "warnings summary"
                    in_captured = False
                    cls[i] = S
                    test_hits += 1
                elif rule == "_":
                    in_captured = False
                    if in_fail:
                        cls[i] = K
                    else:
                        label[i] = "test headers"
                elif title.startswith("Captured"):
                    if in_fail:
                        in_captured = True
                        cls[i] = K
                    else:
                        label[i] = "captured output"
                else:
                    cls[i] = S
                continue
            if in_fail and not in_captured:
                cls[i] = K
                continue
            if pass_indent >= 0 and indent <= pass_indent:
                pass_indent = -1
            if c0 in _SNIPPET_CHARS and _SNIPPET.match(s):
                label[i] = "source excerpt"  # kept with the diagnostic above it, if any
                continue

            # passing and skipped tests
            if c0 in _PASS_START_CHARS and (m := _PASS_START.match(s)):
                kind = m.lastgroup
                if kind == "gorun" and s.startswith("=== RUN"):
                    go_runs[s[7:].strip()] = i
                cls[i] = D
                label[i] = _PASS_START_LABEL[kind]
                pass_indent = indent
                test_hits += 1
                continue
            if s.endswith(_PASS_END_TOKENS) or " ... skipped" in s:
                m = _PASS_END.search(s)
                if m:
                    word = m.group("pyt")
                    if word:
                        label[i] = _PASS_END_LABEL[word]
                    else:
                        dots = m.group("dots")
                        label[i] = ("passing tests" if dots == "ok" else "ignored tests" if dots == "ignored"
                                    else "expected failures" if dots.startswith("expected") else "skipped")
                    cls[i] = D
                    pass_indent = indent
                    test_hits += 1
                    continue
            if s[-1] in _PROGRESS_END and s != "..." and (m := _PROGRESS.match(s)):
                marks = m.group(2)
                if "." in marks or (m.group(1) and marks.strip("FE") == ""):
                    test_hits += 1
                    if "F" in marks or "E" in marks:
                        cls[i] = E
                        continue
                    cls[i] = D
                    label[i] = "passing tests"
                    continue

            # levelled log records: the level word sits where it sat in the last record, or is searched
            lvl = None
            lvl_end = 0
            if level_col >= 0:
                tok = s[level_col:level_col + 12].split(None, 1)
                if tok:
                    word = tok[0].rstrip("]:>)|,")
                    lvl = level_name.get(word) if len(word) > 2 else None
                    if lvl and (level_col == 0 or not s[level_col - 1].isalnum()):
                        lvl_end = s.find(word, level_col) + len(word)
                    else:
                        lvl = None
            if lvl is None and level_search:
                lvl, lvl_start, lvl_end = _find_level(s, c0)
                if lvl:
                    levelled += 1
                    if lvl_start >= 0:
                        level_col = lvl_start
                elif i >= _LEVEL_PROBE and levelled * 20 < i:
                    # hardly any log levels in a long stretch: not a levelled log, so stop looking
                    # (error and warning lines are still found by their words)
                    level_search = False
            if lvl:
                log_hits += 1
                if lvl in low_levels:
                    rest = s[lvl_end:lvl_end + 80].lstrip(" ]:-|>)")
                    if rest and rest[0] in _SUMMARY_CHARS and _SUMMARY.match(rest):
                        if _repeated_summary(rest, flags, seen_summary):
                            cls[i] = D
                            label[i] = "per-suite summaries"
                        else:
                            cls[i] = S
                    elif flags & 1 and _has_error_word(s):
                        cls[i] = E
                    else:
                        cls[i] = D
                        label[i] = lvl
                elif lvl == "WARN":
                    cls[i] = _first_warning(s, seen_warn)
                    label[i] = "repeated warnings"
                else:
                    cls[i] = E
                continue

            if c0 in _SUMMARY_CHARS and _SUMMARY.match(s):
                if indent and c0 == "1" and pass_indent < 0 and s[1:3] == "..":
                    continue  # a nested TAP plan ("    1..5"): only the top-level one matters
                if _repeated_summary(s, flags, seen_summary):
                    cls[i] = D
                    label[i] = "per-suite summaries"
                    continue
                cls[i] = S
                if c0.isdigit() or _RUNNER.match(s):
                    test_hits += 1
                if c0 in "rt" and s.startswith(("running ", "test result: ")):
                    libtest.append(i)
                continue
            if not flags & 1:
                if phrase_flags is not None:
                    flags |= phrase_flags[i]
                elif phrase_budget:
                    phrase_budget -= 1
                    if _PHRASE_RE.search(s.lower()):
                        flags |= 2
                else:
                    phrase_flags = _candidates(scan, contents, _PHRASE_WORDS)
                    flags |= phrase_flags[i]
            if (flags & 2 or (flags & 1 and _has_error_word(s))
                    or (c0 in _ERR_SHAPE_CHARS and _ERR_SHAPE.match(s))
                    or (indent and c0 in _DIGITS and _MOCHA_FAILURE.match(s))):
                cls[i] = E
                if c0 == "-" and (gf := _GO_FAIL.match(s)):
                    j = go_runs.get(gf.group(1))
                    if j is not None and i - j <= CONT_LIMIT:
                        go_fails.append((j, i))
                    test_hits += 1
                continue
            if flags & 4 and _has_warning_word(s):
                cls[i] = _first_warning(s, seen_warn)
                label[i] = "repeated warnings"
                continue
            if c0 in _FRAME_CHARS and _FRAME.match(s):
                cls[i] = F
                continue
            if not indent and _DIAG_LOCATION.match(s):
                cls[i] = E  # "pkg/x.go:12:5: undefined: foo", "src/a.py:3:1: F401 ...": a diagnostic
                continue
            if (c0 in _DIGITS or c0 == "[" or c0.isupper()) and _TIMESTAMP.match(s):
                cls[i] = D
                label[i] = "log lines"
                log_hits += 1
                continue
            if _COMPILE.match(s):
                compile_line[i] = 1
                log_hits += 1
                label[i] = "build output"
                if s in seen_compile:
                    cls[i] = D
                    continue
                seen_compile.add(s)
                if ext_stems and (src := _COMPILE_SRC.search(s)) and (
                        src.group(1).rsplit("/", 1)[-1].rsplit(".", 1)[0] in ext_stems):
                    cls[i] = S  # the compile of an extension module's own source
                else:
                    cls[i] = D
                continue
            if _BUILD.match(s):
                log_hits += 1
                if "extension" in s and (ext := _EXTENSION.search(s)):
                    ext_stems.add(ext.group(1).rsplit(".", 1)[-1])
                    cls[i] = S  # setuptools: "building 'pkg._mod' extension"
                    continue
                cls[i] = D
                label[i] = "build output"
                continue
            if in_captured:
                cls[i] = K  # what a failing test printed
                continue
            if pass_indent >= 0:
                label[i] = "test details"
            elif in_warnings:
                label[i] = "warning locations"
            elif s.startswith("# Subtest"):
                label[i] = "test headers"
            elif prefixed:
                label[i] = "log lines"

        if report_start >= 0:
            reports.append((report_start, n))
        for a, b in reports:
            if b - a > REPORT_SHORT:
                _fold_report(a, b, cls, label, contents)
        if libtest:
            _fold_passing_suites(libtest, cls, label, contents)

        if perf() > deadline:
            raise EngineTimeout()
        # fold the blocks under repeated warnings, then keep what is worth keeping
        i = 0
        while i < n:
            i = self._extend(i, R, cls, ind, contents, None, label) if cls[i] == R else i + 1
        keep = bytearray(n)
        for i in range(n):
            if cls[i] in _KEEP_CLASSES:
                keep[i] = 1
        i = 0
        while i < n:
            k = cls[i]
            if k == E or k == W or k == S or k == F:
                j = self._extend(i, k, cls, ind, contents, keep, label)
                # a block may hold the header of another (a traceback, a failure report): extend those too
                x = i + 1
                while x < j:
                    if cls[x] == E and _BLOCK_HEADER.match(contents[x].lstrip()):
                        j = max(j, self._extend(x, E, cls, ind, contents, keep, label))
                    x += 1
                i = max(j, i + 1)
            else:
                i += 1

        # a little context before errors: the command or "In function" line above them
        for i in range(1, n):
            if cls[i] == E and not keep[i - 1] and (cls[i - 1] == N or compile_line[i - 1]):
                keep[i - 1] = 1
                if i >= 2 and compile_line[i - 2] and not compile_line[i - 1]:
                    keep[i - 2] = 1
        # go test -v: a failing test's own output comes between its === RUN and its --- FAIL
        for j, i in go_fails:
            keep[j] = 1
            for x in range(j + 1, i):
                if cls[x] in (N, B, F, E, W):
                    keep[x] = 1
        for i in range(min(HEAD, n)):
            keep[i] = 1
        for i in range(max(0, n - TAIL), n):
            keep[i] = 1

        # assemble
        out: list[str] = []
        omitted = 0
        part_id = ctx.part_id
        i = 0
        while i < n:
            if keep[i]:
                j = keep.find(0, i)
                if j < 0:
                    j = n
                out.extend(lines[i:j])
                i = j
                continue
            j = keep.find(1, i)
            if j < 0:
                j = n
            if j - i >= MIN_RUN:
                marker = line_marker(part_id, i + 1, j, Counter(label[i:j]))
                size = sum(map(len, lines[i:j])) + (j - i - 1)
                if size > len(marker):
                    out.append(marker)
                    omitted += j - i
                    i = j
                    continue
            out.extend(lines[i:j])
            i = j
        if not omitted:
            return None
        result = "\n".join(out) + ("\n" if ends_nl else "")
        if len(result) >= len(text):
            return None
        hint = (part.kind_hint or "").strip().lower()
        if hint in ("tests", "test"):
            kind = "tests"
        elif hint in ("logs", "log"):
            kind = "logs"
        else:
            kind = "tests" if test_hits and test_hits >= log_hits else "logs"
        return Result(text=result, kind=kind, omitted=omitted)

    @staticmethod
    def _extend(i: int, k: int, cls: list[int], ind: list[int], contents: list[str], keep: bytearray | None,
                label: list[str]) -> int:
        """Keep (for a repeated warning: fold) the block under line i; return the next line to look at.

        The block is the more-indented lines below (blank lines inside allowed), diagnostics snippets
        (``  42 |   code``, ``   ^~~``), and for an error a short paragraph of unindented lines that
        follow it directly: the message lines of a panic, the exception line closing a traceback.
        """
        n = len(cls)
        base = floor = ind[i]
        para = PARA_LIMIT if k == E else 0
        head = contents[i].lstrip()
        traceback = k == E and _TRACEBACK.match(head) is not None
        # a test failure's header ("FAIL: test_x", " FAIL  a.test.ts > b", "● a › b", "1) suite"): its
        # report runs on over blank lines (message, expected/received diff, source excerpt, stack)
        greedy = k == E and _FAIL_HEADER.match(head) is not None
        limit = CONT_LIMIT if k in (E, F) else 60
        blanks = 0
        seen_blank = seen_deeper = False
        j = i + 1
        while j < n and j - i <= limit:
            cj = cls[j]
            if cj == B:
                blanks += 1
                seen_blank = True
                if blanks > 2:
                    break
                j += 1
                continue
            if ind[j] > base or (k != S and _SNIPPET.match(contents[j]) is not None):
                if cj == D and label[j] not in ("other", "build output", "test details"):
                    break  # a new log record or a passing test, not part of this block
                seen_deeper = True
            elif para > 0 and not seen_blank and (traceback or not seen_deeper) and cj in (N, E, F):
                para -= 1
                floor = min(floor, ind[j])
                if cj == E and not traceback and _TRACEBACK.match(contents[j].lstrip()):
                    traceback = True
            elif greedy and ind[j] >= floor and cj in (N, E, F, W) and not _RULE.match(contents[j].lstrip()):
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


def _fold_passing_suites(libtest: list[int], cls: list[int], label: list[str], contents: list[str]) -> None:
    """cargo test: once some test binary failed, the ``running N tests`` and ``test result: ok.`` lines
    of the binaries that passed whole (nothing kept between them) fold with their ``... ok`` lines."""
    if not any(contents[j].lstrip().startswith("test result: FAILED") for j in libtest):
        return
    run_at = -1
    for j in libtest:
        s = contents[j].lstrip()
        if s.startswith("running "):
            run_at = j
            continue
        if s.startswith("test result: ok.") and _LIBTEST_OK.match(s):
            if run_at >= 0 and all(cls[x] not in _KEEP_CLASSES for x in range(run_at + 1, j)):
                for x in (run_at, j):
                    cls[x] = D
                    label[x] = "passing suites"
        run_at = -1


def _fold_report(a: int, b: int, cls: list[int], label: list[str], contents: list[str]) -> None:
    """Mark the lines of one pytest failure report (lines a..b-1) that need not be read as foldable.

    ``--tb=long``/``auto`` print, for every frame of a traceback, the function's source from its
    ``def`` down to the failing ``>`` line (docstrings, doctests, whole bodies) and its arguments.
    Per frame this keeps the decorators and ``def`` line, the last SRC_CONTEXT lines above ``>``,
    the ``>`` line and the rest of its statement, every ``E`` line, the ``path:line:`` location and
    the arguments (of a long list, those named in the failing statement). In a traceback of more than TB_FULL_FRAMES
    frames, the frames between the first (the test) and the last two (the raise and its caller)
    keep only their ``>`` statement and location, as ``--tb=short`` would show them. The chaining
    lines ("The above exception was the direct cause ...") are kept.
    """
    frames: list[tuple[int, int]] = []  # the frames of the current exception's traceback
    start = a
    for i in range(a, b + 1):
        chain = i == b
        if not chain:
            s = contents[i].strip()
            if not s or s[0] not in "_TD":
                continue
            if s[0] == "_":
                if not _TB_SEPARATOR.match(s):
                    continue
            elif s.startswith(_TB_CHAIN):
                chain = True
            else:
                continue
        frames.append((start, i))
        start = i + 1
        if chain:
            last = len(frames) - 2
            for k, (f0, f1) in enumerate(frames):
                _fold_frame(f0, f1, cls, label, contents, len(frames) > TB_FULL_FRAMES and 0 < k < last)
            frames = []


def _fold_frame(f0: int, f1: int, cls: list[int], label: list[str], contents: list[str], short: bool) -> None:
    """Fold the middle of one traceback frame's source and of its long argument/locals lists; for a
    ``short`` frame, everything above its ``>`` line, from the separator line before it."""
    gt = -1
    for i in range(f0, f1):
        c = contents[i]
        if c[:1] == ">" and (len(c) == 1 or c[1] == " "):
            gt = i
            break
    if gt < 0:
        return
    if short:
        for x in range(f0 - 1, gt):
            if cls[x] == B:
                label[x] = "frame lines"
            elif cls[x] == K and contents[x][:2] not in ("E ", "E"):
                cls[x] = D
                label[x] = "frame lines"
        _fold_locals(gt + 1, f1, cls, label, contents, _statement_names(gt, f1, contents))
        return
    # the source above ">": the lines printed with pytest's 4-space source indent (blank ones included)
    src0 = gt
    while src0 > f0 and contents[src0 - 1][:4] == "    ":
        src0 -= 1
    # keep the decorators and the def line, through a signature that spans lines
    h = src0
    while h < gt and h - src0 < 8 and contents[h].lstrip().startswith("@"):
        h += 1
    if h < gt and _TB_DEF.match(contents[h].lstrip()):
        x = h
        while x < gt - 1 and x - h < 8 and not _TB_DEF_END.search(contents[x]):
            x += 1
        head_end = x + 1
    else:
        head_end = src0 + 1
    for x in range(head_end, max(head_end, gt - SRC_CONTEXT)):
        if cls[x] == K:
            cls[x] = D
            label[x] = "source lines"
    # arguments above the source, locals (--showlocals) below it: a long list keeps its first lines
    names = _statement_names(gt, f1, contents)
    _fold_locals(f0, src0, cls, label, contents, names)
    _fold_locals(gt + 1, f1, cls, label, contents, names)


def _fold_locals(lo: int, hi: int, cls: list[int], label: list[str], contents: list[str], names: set[str]) -> None:
    """Fold a long list of ``name = value`` lines (the first such list in lo..hi-1) down to the lines
    that name a variable of the failing statement (``names``), or else to its first ARGS_HEAD lines."""
    if hi - lo <= ARGS_MAX:
        return
    found: list[int] = []
    for x in range(lo, hi):
        if cls[x] == B:
            continue
        c = contents[x]
        if c[:1] in " E>" or not _TB_LOCAL.match(c):
            if found:
                break
            continue
        found.append(x)
    if len(found) <= ARGS_MAX:
        return
    named = [x for x in found if names.intersection(_TB_LOCAL_NAMES.findall(contents[x]))]
    kept = set(named or found[:ARGS_HEAD])
    for x in found:
        if x not in kept and cls[x] == K:
            cls[x] = D
            label[x] = "frame locals"


def _statement_names(gt: int, f1: int, contents: list[str]) -> set[str]:
    """The identifiers of a frame's failing statement: its ``>`` line and the source lines after it."""
    names: set[str] = set()
    for x in range(gt, f1):
        c = contents[x]
        if x > gt and c[:4] != "    ":
            break
        names.update(_IDENT.findall(c))
    return names


def _candidates(scan: str, contents: list[str], groups: tuple[tuple[int, tuple[str, ...]], ...]) -> bytearray:
    """Per line, the bits of the groups whose words occur in it (lower-cased).

    Found with str.find over the whole text, which is far cheaper than a regex on every line;
    the precise regexes then run only on the few lines that have a candidate.
    """
    n = len(contents)
    flags = bytearray(n)
    low = scan.lower()
    if len(low) != len(scan):  # a character whose lower case is longer: go line by line
        for i, c in enumerate(contents):
            lc = c.lower()
            for bit, words in groups:
                if any(w in lc for w in words):
                    flags[i] |= bit
        return flags
    starts = list(accumulate(map((1).__add__, map(len, contents)), initial=0))
    end = len(low)
    for bit, words in groups:
        for w in words:
            p = low.find(w)
            while p != -1:
                li = bisect_right(starts, p) - 1
                if li >= n:
                    break
                flags[li] |= bit
                p = low.find(w, starts[li + 1] if li + 1 < n else end)
    return flags


def _find_level(s: str, c0: str) -> tuple[str | None, int, int]:
    """The log level of a line (canonical name), where its word starts and ends; (None, -1, 0) if none."""
    m = _UPPER.search(s, 0, _LEVEL_WINDOW)
    while m:
        word = m.group()
        lvl = _LEVEL_NAME.get(word)
        st = m.start()
        if lvl and (st == 0 or s[st - 1] not in _LEVEL_BEFORE) and s[m.end():m.end() + 1] not in ("/", "-", "_"):
            return lvl, st, m.end()
        m = _UPPER.search(s, m.end(), _LEVEL_WINDOW)
    if c0 in "IWEF" and (g := _GLOG.match(s)):
        return _LEVEL_NAME[g.group(1)], -1, 1
    if (m := _LEVEL_LOWER.match(s)) or ("level" in s[:200] and (m := _LEVEL_KV.search(s, 0, 200))):
        lvl = _LEVEL_NAME.get(m.group(1).upper())
        if lvl:
            return lvl, -1, m.end()
    return None, -1, 0


def _has_error_word(s: str) -> bool:
    """An error word in the line that is not a zero count ("0 failed", "errors=0")."""
    low = s.lower()
    if not (_ERR_LOW.search(low) or (("Error" in s or "Exception" in s or "Failure" in s) and _ERR_CAMEL.search(s))):
        return False
    if not _ZERO.search(s):
        return True
    rest = _ZERO.sub(" ", s)
    return bool(_ERR_LOW.search(rest.lower()) or _ERR_CAMEL.search(rest))


def _has_warning_word(s: str) -> bool:
    return bool(_WARN_LOW.search(s.lower()) or ("Warning" in s and _WARN_CAMEL.search(s)))


def _repeated_summary(s: str, flags: int, seen: dict[str, int]) -> bool:
    """True for the third and later summary line of one shape (per-class "Tests run: 5, Failures: 0 ...")
    that reports no failure: a per-suite tally, not the run's summary."""
    key = _MASK.sub("#", s)
    count = seen.get(key, 0) + 1
    seen[key] = count
    if count <= 2:
        return False
    return not (flags & 1 and _has_error_word(s))


def _first_warning(s: str, seen: set[str]) -> int:
    """W for the first warning of its kind (numbers and hex ids masked), R for a repeat."""
    key = _MASK.sub("#", s)
    if key in seen:
        return R
    seen.add(key)
    return W


register(TestLogEngine())
