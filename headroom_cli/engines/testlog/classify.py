"""One pass over the lines that gives each its class (lines.py), by shapes rather than by program.

A line is tried, cheapest first: blank, a pytest section rule, a passing or skipped test, a
levelled log record, a summary, an error (error words, error phrases, failure shapes), a warning
(kept once per shape), a stack frame, a compiler diagnostic, a timestamped record, a compile command
or build chatter; what is none of these is neutral. Each regex runs only on lines whose first
character (or a word found over the whole text) says it may match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from headroom_cli.engines.base import EngineTimeout, past
from headroom_cli.engines.testlog import applog, cargo, gotest, mocha, pytest
from headroom_cli.engines.testlog.build import Build, is_diagnostic, SNIPPET, SNIPPET_CHARS
from headroom_cli.engines.testlog.lines import B, E, F, K, Lines, R, S, W
from headroom_cli.engines.testlog.patterns import (FAILURE_SHAPE, FAILURE_SHAPE_CHARS, pass_end_label, PASS_END,
                                                   PASS_END_TOKENS, PASS_START, PASS_START_CHARS, PASS_START_LABEL,
                                                   RUNNER, SUMMARY, SUMMARY_CHARS)
from headroom_cli.engines.testlog.stacks import FRAME, FRAME_CHARS
from headroom_cli.engines.testlog.words import (CANDIDATE_WORDS, candidates, ERROR_BIT, has_error_word,
                                                has_warning_word, line_bits, PHRASE_BIT, Phrases, Seen, WARNING_BIT,
                                                WORD_LINES)

CHECK_EVERY = 2048  # lines between deadline checks
_DIGITS = frozenset("0123456789")
# the last characters of the lines _passing can take: a passing ending or a row of progress dots
_PASS_LAST = frozenset(token[-1] for token in PASS_END_TOKENS) | pytest.PROGRESS_END


@dataclass
class Classifier:
    """One pass over a part's lines, and all it remembers on the way: the formats' state (pytest's
    sections, go's running tests, cargo's binaries, the level column, the build), the shapes seen."""

    lines: Lines
    scan: str  # the classified text as one string, for the whole-text word searches
    # per line, the bits of the word groups found in it: read through _words(), which searches the whole
    # text for them (candidates()) only once WORD_LINES lines have been asked about one by one
    words: bytearray | None = field(init=False, default=None)
    word_budget: int = WORD_LINES
    phrases: Phrases = field(init=False)
    seen: Seen = field(default_factory=Seen)
    sections: pytest.Sections = field(default_factory=pytest.Sections)
    levels: applog.Levels = field(default_factory=applog.Levels)
    build: Build = field(default_factory=Build)
    go: gotest.GoTests = field(default_factory=gotest.GoTests)
    libtest: list[int] = field(default_factory=list)  # cargo's "running N tests" and "test result:" lines
    pass_indent: int = -1  # indentation of the last passing line, for labelling its details
    test_hits: int = 0  # lines only test runners print, against those of logs and builds: the kind
    log_hits: int = 0

    def __post_init__(self) -> None:
        self.phrases = Phrases(self.scan, self.lines.contents)

    def _words(self, i: int) -> int:
        """Line i's bits of the word groups, as candidates() gives them. A test run asks about few lines
        (its passing tests are settled first), a levelled log about every one."""
        if self.words is None:
            if self.word_budget:
                self.word_budget -= 1
                return line_bits(self.lines.contents[i], CANDIDATE_WORDS)
            self.words = candidates(self.scan, self.lines.contents, CANDIDATE_WORDS)
        return self.words[i]

    def run(self, deadline: float) -> None:
        for i, c in enumerate(self.lines.contents):
            if not i % CHECK_EVERY and past(deadline):
                raise EngineTimeout()
            self._line(i, c)

    def _line(self, i: int, c: str) -> None:
        lines = self.lines  # the checks below run cheapest first, each method only where it may apply
        s = c.strip()
        if not s:
            lines.cls[i] = B
            lines.label[i] = "blank lines"
            return
        c0 = s[0]
        indent = 0 if c[0] == c0 else c.index(c0)
        lines.ind[i] = indent
        sections = self.sections
        if c0 in "=_-" and s[-1] == c0 and len(s) < 400 and (sec := pytest.SECTION.match(s)):
            self.test_hits += sections.rule(i, sec, lines)
            return
        if sections.in_fail and not sections.in_captured:
            lines.cls[i] = K
            return
        if self.pass_indent >= 0 and indent <= self.pass_indent:
            self.pass_indent = -1
        if c0 in SNIPPET_CHARS and SNIPPET.match(s):
            lines.label[i] = "source excerpt"  # kept with the diagnostic above it, if any
            return
        if (c0 in PASS_START_CHARS or s[-1] in _PASS_LAST or " ... skipped" in s) and self._passing(i, s, c0, indent):
            return
        if (self.levels.col >= 0 or self.levels.searching) and self._levelled(i, s, c0):
            return
        if c0 in SUMMARY_CHARS and SUMMARY.match(s):
            self._summary(i, s, c0, indent)
        elif not self._problem(i, s, c0, indent):
            self._other(i, s, c0, indent)

    def _passing(self, i: int, s: str, c0: str, indent: int) -> bool:
        """A passing or skipped test, or a row of pytest's progress dots (an error if one failed)."""
        lines = self.lines
        if c0 in PASS_START_CHARS and (m := PASS_START.match(s)):
            kind = m.lastgroup
            if kind == "gorun":
                self.go.started(i, s)
            lines.fold(i, PASS_START_LABEL[kind])
        elif (s.endswith(PASS_END_TOKENS) or " ... skipped" in s) and (m := PASS_END.search(s)):
            lines.fold(i, pass_end_label(m))
        elif s[-1] in pytest.PROGRESS_END and s != "..." and (m := pytest.PROGRESS.match(s)):
            marks = m.group(2)
            if not ("." in marks or (m.group(1) and marks.strip("FE") == "")):
                return False
            self.test_hits += 1
            if "F" in marks or "E" in marks:
                lines.cls[i] = E
            else:
                lines.fold(i, "passing tests")
            return True
        else:
            return False
        self.pass_indent = indent
        self.test_hits += 1
        return True

    def _levelled(self, i: int, s: str, c0: str) -> bool:
        """A log record with a level: low levels fold (unless they hold a summary or an error word),
        the first warning of a shape stays, higher levels are errors."""
        lvl, lvl_end = self.levels.level(i, s, c0)
        if not lvl:
            return False
        lines, flags = self.lines, self._words(i)
        self.log_hits += 1
        if lvl in applog.LOW_LEVELS:
            rest = s[lvl_end:lvl_end + 80].lstrip(" ]:-|>)")
            if rest and rest[0] in SUMMARY_CHARS and SUMMARY.match(rest):
                if self.seen.repeated_summary(rest, flags):
                    lines.fold(i, "per-suite summaries")
                else:
                    lines.cls[i] = S
            elif flags & ERROR_BIT and has_error_word(s):
                lines.cls[i] = E
            else:
                lines.fold(i, lvl)
        elif lvl == "WARN":
            self._warning(i, s)
        else:
            lines.cls[i] = E
        return True

    def _summary(self, i: int, s: str, c0: str, indent: int) -> None:
        lines = self.lines
        if indent and c0 == "1" and self.pass_indent < 0 and s[1:3] == "..":
            return  # a nested TAP plan ("    1..5"): only the top-level one matters
        if self.seen.repeated_summary(s, self._words(i)):
            lines.fold(i, "per-suite summaries")
            return
        lines.cls[i] = S
        if c0.isdigit() or RUNNER.match(s):
            self.test_hits += 1
        if cargo.is_binary_line(c0, s):
            self.libtest.append(i)

    def _problem(self, i: int, s: str, c0: str, indent: int) -> bool:
        """An error (by its words, phrases or shape), a warning, a stack frame or a diagnostic."""
        lines, flags = self.lines, self._words(i)
        if not flags & ERROR_BIT:
            flags |= self.phrases.bit(i, s)
        if (flags & PHRASE_BIT or (flags & ERROR_BIT and has_error_word(s))
                or (c0 in FAILURE_SHAPE_CHARS and FAILURE_SHAPE.match(s))
                or (indent and c0 in _DIGITS and mocha.FAILURE.match(s))):
            lines.cls[i] = E
            if c0 == "-" and (fail := gotest.FAIL.match(s)):
                self.go.failed(i, fail)
                self.test_hits += 1
        elif flags & WARNING_BIT and has_warning_word(s):
            self._warning(i, s)
        elif c0 in FRAME_CHARS and FRAME.match(s):
            lines.cls[i] = F
        elif not indent and is_diagnostic(s):
            lines.cls[i] = E  # "pkg/x.go:12:5: undefined: foo", "src/a.py:3:1: F401 ...": a diagnostic
        else:
            return False
        return True

    def _warning(self, i: int, s: str) -> None:
        self.lines.cls[i] = W if self.seen.first_warning(s) else R
        self.lines.label[i] = "repeated warnings"

    def _other(self, i: int, s: str, c0: str, indent: int) -> None:
        """A timestamped record, build output, captured output, or a neutral line (labelled by where it is)."""
        lines = self.lines
        if (c0 in _DIGITS or c0 == "[" or c0.isupper()) and applog.TIMESTAMP.match(s):
            lines.fold(i, "log lines")
            self.log_hits += 1
        elif self.build.line(i, s, lines):
            self.log_hits += 1
        elif self.sections.in_captured:
            lines.cls[i] = K  # what a failing test printed
        elif self.pass_indent >= 0:
            lines.label[i] = "test details"
        elif self.sections.in_warnings:
            lines.label[i] = "warning locations"
        elif s.startswith("# Subtest"):
            lines.label[i] = "test headers"
        elif lines.prefixed:
            lines.label[i] = "log lines"
