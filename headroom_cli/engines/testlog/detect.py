"""Is a part test-runner or build output? From a sample of its lines (the first 200 and the last 50),
each counted as a runner's own line (header, summary), a signal (passing test, log record, summary,
build line, diagnostic, stack frame), an error line, or a shape of what this engine is not for
(JSON, a diff, source code). Cheap: the router asks every part.

Claimed with a high score are the parts with a test runner's or a build tool's own lines (passing
tests, summaries, compile commands, located diagnostics), also where they sit inside log records
(``[INFO] Tests run: 5``, a CI log's timestamps). A log whose lines are only records (a level, a
timestamp: syslog, HDFS, an application's log) gets PLAIN_LOG at most: enough to be compressed where
no other engine wants it, under the logs engine's claim, which keeps each rare kind of record where
this engine folds every INFO line alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom_cli.engines.base import hint_score, Part
from headroom_cli.engines.testlog import applog, pytest
from headroom_cli.engines.testlog.build import CHATTER, is_compile, is_diagnostic, SNIPPET, SNIPPET_CHARS
from headroom_cli.engines.testlog.patterns import (PASS_END, PASS_END_TOKENS, PASS_START, PASS_START_CHARS, RUNNER,
                                                   SUMMARY)
from headroom_cli.engines.testlog.prepare import contents
from headroom_cli.engines.testlog.stacks import FRAME

HINTS = frozenset(("tests", "test", "logs", "log"))
_BIG = 120_000  # a longer text is sampled from its first 100 KB and its last 20 KB
PLAIN_LOG = 0.55  # a log without a runner's or build tool's lines: just over the pipeline's MIN_SCORE
STEPS_LOG = 0.3  # a package manager's log of steps (apt's "Unpacking ...", "Setting up ..."): the logs engine's
OWN_SHARE = 0.1  # of the sample's lines, at least this many must be a runner's or a build tool's own
RUNNER_SURE = 0.95  # a test runner's own header or summary: the highest score without a kind hint
CEILING = RUNNER_SURE

# shapes of the contents this engine is not for
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
# a package manager's steps (apt/dpkg, dnf/yum): a log of installs, not a build (no compile, no diagnostics)
_PACKAGE_STEP = re.compile(
    r"(?:Selecting previously unselected package|Preparing to unpack|Unpacking|Setting up|Processing triggers for"
    r"|Removing|Purging configuration files for|Creating config file|(?:Get|Hit|Ign):\d+ |Fetched |Reading package lists"
    r"|Building dependency tree|Reading state information|(?:Installing|Upgrading|Verifying|Cleanup|Erasing)\s*: )\b"
)
_DIAGNOSTIC = re.compile(  # an error or warning as programs print them (not prose that mentions one)
    r"(?i:\b(?:error|warning|fatal|panic)(?:\[\w+\])?:)|\b(?:ERROR|FAILED|FAIL|FATAL|PANIC|CRITICAL|WARNING|WARN)\b"
    r"|\w(?:Error|Exception):|^not ok\b"
)


def score(part: Part) -> float:
    hinted = hint_score(part, HINTS)
    if hinted is not None:
        return hinted
    tally = Tally()
    rest = [s for c in _sample(part.text) if (s := tally.add_shape(c.strip()))]
    if tally.strong < 2:  # two of a runner's own lines settle the score without the other lines' classes
        for s in rest:
            tally.classify(s)
    return tally.score()


def _sample(text: str) -> list[str]:
    """The first 200 and the last 50 lines, as the engine classifies them (prefixes taken off)."""
    if len(text) > _BIG:
        sample = text[:100_000].split("\n")[:200] + text[-20_000:].split("\n")[1:][-50:]
    else:
        lines = text.split("\n")
        sample = lines[:200] + lines[200:][-50:]
    return contents(sample, text)[0]


@dataclass
class Tally:
    nonblank: int = 0
    signal: int = 0  # lines of the shapes this engine reads
    own: int = 0  # ... of them, those that only test runners and build tools print (not log records)
    strong: int = 0  # a test runner's own header or summary
    err: int = 0  # error and warning lines
    steps: int = 0  # a package manager's installation steps ("Unpacking ...", "Setting up ...")
    json_like: int = 0
    diff_head: int = 0
    hunks: int = 0
    code: int = 0

    def add_shape(self, s: str) -> str:
        """Counts a stripped line as blank, a diff's head, a JSON fragment or a runner's own line; returns
        what classify() still has to read ('' when nothing). The counts are sums over the lines, so the
        lines may be classified later, or not at all where score() does not read what that counts."""
        if not s:
            return ""
        if len(s) > 1000:
            s = s[:1000]  # enough to tell what a line is
        self.nonblank += 1
        c0 = s[0]
        if c0 in "di-+@" and _DIFF_HEAD.match(s):
            self.diff_head += 1
            if c0 in "@d":
                self.hunks += 1
            return ""
        if c0 != "{" and _JSON_FRAGMENT.match(s):
            self.json_like += 1
            return ""
        if RUNNER.match(s):
            self.strong += 1
        return s

    def classify(self, s: str) -> None:
        """Counts a line add_shape() left: signal, error, package step, code, ..."""
        c0 = s[0]
        if _passing(s, c0):
            self.signal += 1
            self.own += 1
        elif (level := applog.find_level(s, c0))[0] or applog.TIMESTAMP.match(s):
            self.signal += 1
            if level[0] and _tool_line(s[level[2]:level[2] + 200].lstrip(" ]:-|>)")):
                self.own += 1  # a build tool's or runner's line printed as a log record: "[INFO] Tests run: 5"
        elif _JSON_OBJECT.match(s):
            self.json_like += 1
        elif _PACKAGE_STEP.match(s):
            self.signal += 1
            self.steps += 1
        elif SUMMARY.match(s) or CHATTER.match(s) or is_compile(s):
            self.signal += 1
            self.own += 1
        elif _DIAGNOSTIC.search(s):
            self.err += 1
            self.own += is_diagnostic(s)  # "src/a.c:3:1: error: ...", not "ERROR: ..."
        elif is_diagnostic(s) or (c0 in SNIPPET_CHARS and SNIPPET.match(s)):
            self.signal += 1  # a compiler diagnostic, a source excerpt under one
            self.own += 1
        elif FRAME.match(s):
            self.signal += 1  # a stack frame (tests and logs alike have them)
        elif _CODE_LINE.match(s):
            self.code += 1

    def score(self) -> float:
        nonblank = self.nonblank
        if not nonblank:
            return 0.0
        if self.hunks and self.diff_head >= 2 and self.diff_head * 50 >= nonblank:
            return 0.02  # a unified diff
        if self.json_like >= 0.5 * nonblank:
            return 0.02
        frac = (self.signal + self.err) / nonblank
        if self.strong >= 2 or (self.strong and frac >= 0.1):
            return RUNNER_SURE
        if self.code >= 0.25 * nonblank and frac < 0.5:
            return 0.05  # source code
        if not self.strong and self.steps >= OWN_SHARE * nonblank and self.own * 10 <= self.steps:
            return STEPS_LOG  # installation steps, hardly a build's or a runner's line: its rare lines are the news
        if not self.strong and self.own + self.steps < OWN_SHARE * nonblank:
            return min(PLAIN_LOG, self._by_share(frac))  # records only: a log, not a run
        return self._by_share(frac)

    @staticmethod
    def _by_share(frac: float) -> float:
        if frac >= 0.5:
            return 0.9
        if frac >= 0.25:
            return 0.8
        if frac >= 0.1:
            return 0.4
        return 0.05


def _passing(s: str, c0: str) -> bool:
    """A passing test's line or a row of progress dots."""
    return bool((c0 in PASS_START_CHARS and PASS_START.match(s)) or (s.endswith(PASS_END_TOKENS) and PASS_END.search(s))
                or (s[-1] in pytest.PROGRESS_END and s != "..." and (m := pytest.PROGRESS.match(s)) and "." in m.group(2)))


def _tool_line(rest: str) -> bool:
    """What follows a level word is a runner's or a build tool's own line."""
    return bool(rest) and bool(SUMMARY.match(rest) or CHATTER.match(rest) or is_compile(rest) or RUNNER.match(rest)
                               or _passing(rest, rest[0]))
