"""Error and warning words, found cheaply.

Search for the words runs over the whole text at once (str.find), and the precise per-line regexes
only run on the lines that have a candidate, which keeps a 200 KB log to a few milliseconds.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

ERROR_BIT, PHRASE_BIT, WARNING_BIT = 1, 2, 4

# error words, matched on the lower-cased line; each lookbehind sits after the first letter so that
# the regex engine can skip ahead to candidate letters ("-Werror", "errors.py", "stderr" do not count)
ERR_LOW = re.compile(
    "(?:"
    + "|".join(
        f"{c}(?<![\\w/.\\-]{c})(?:{rest})"
        for c, rest in (("e", r"rrors?|xceptions?"), ("f", r"ail(?:ed|ures?|ing|s)?|atal"), ("p", r"anic(?:ked|s)?"),
                        ("t", r"raceback"), ("c", r"rash(?:ed|es)?"))
    )
    + r")(?![\w/\-]|\.\w)"
)
ERR_CAMEL = re.compile(r"[a-z0-9](?:Error|Exception|Failure)\b")  # ValueError, IOException
ZERO = re.compile(
    r"(?i)\b(?:0|no|zero) (?:errors?|exceptions?|failed|failures?|failing)\b"
    r"|(?:errors?|exceptions?|failed|failures?|failing)\s*[=:]\s*0\b"
)
# words looked for over the whole (lower-cased) text at once
CANDIDATE_WORDS = (
    (ERROR_BIT, ("err", "fail", "xcept", "fatal", "panic", "traceback", "crash")),
    (WARNING_BIT, ("warn",)),
)
# error phrases without an error word; only unlevelled lines need them, so they are looked for line
# by line at first, and over the whole text once many lines have needed them
PHRASES = (
    "denied", "refused", "timed out", "out of memory", "segmentation fault", "abort", "killed",
    "undefined reference", "cannot", "could not", "unable to", "no such file", "not found", "***",
)
PHRASE_WORDS = ((PHRASE_BIT, PHRASES),)
PHRASE_RE = re.compile("|".join(re.escape(p) for p in PHRASES))
WORD_LINES = 4  # lines whose words are looked for one by one before the whole text is searched instead
PHRASE_LINES = 300  # lines checked one by one before the whole text is searched instead
WARN_LOW = re.compile(r"w(?<![\w/.\-]w)arn(?:ing|ings|s)?(?![\w/\-]|\.\w)")
WARN_CAMEL = re.compile(r"[a-z]Warning\b")  # DeprecationWarning
MASK = re.compile(r"[0-9a-fA-F]*\d[0-9a-fA-F]*")


def candidates(scan: str, contents: list[str], groups: tuple[tuple[int, tuple[str, ...]], ...]) -> bytearray:
    """Per line, the bits of the groups whose words occur in it (lower-cased)."""
    n = len(contents)
    flags = bytearray(n)
    low = scan.lower()
    if len(low) != len(scan):  # a character whose lower case is longer: go line by line
        for i, c in enumerate(contents):
            flags[i] = line_bits(c, groups)
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


def line_bits(line: str, groups: tuple[tuple[int, tuple[str, ...]], ...]) -> int:
    """The bits of the groups whose words occur in one line (lower-cased): what candidates() gives it.
    (Its whole-text search finds the same: a word holds no newline, and where lower-casing keeps the
    text's length, each line's piece of the lower-cased text is the line lower-cased.)"""
    has = line.lower().__contains__
    bits = 0
    for bit, words in groups:
        if any(map(has, words)):
            bits |= bit
    return bits


@dataclass
class Phrases:
    """The error phrases of lines without an error word: line by line for the first PHRASE_LINES
    such lines, then from one search over the whole text."""

    scan: str
    contents: list[str]
    budget: int = PHRASE_LINES
    flags: bytearray | None = field(default=None, repr=False)

    def bit(self, i: int, s: str) -> int:
        if self.flags is not None:
            return self.flags[i]
        if self.budget:
            self.budget -= 1
            return PHRASE_BIT if PHRASE_RE.search(s.lower()) else 0
        self.flags = candidates(self.scan, self.contents, PHRASE_WORDS)
        return self.flags[i]


def has_error_word(s: str) -> bool:
    """An error word in the line that is not a zero count ("0 failed", "errors=0")."""
    low = s.lower()
    if not (ERR_LOW.search(low) or (("Error" in s or "Exception" in s or "Failure" in s) and ERR_CAMEL.search(s))):
        return False
    if not ZERO.search(s):
        return True
    rest = ZERO.sub(" ", s)
    return bool(ERR_LOW.search(rest.lower()) or ERR_CAMEL.search(rest))


def has_warning_word(s: str) -> bool:
    return bool(WARN_LOW.search(s.lower()) or ("Warning" in s and WARN_CAMEL.search(s)))


@dataclass
class Seen:
    """Shapes met so far (numbers and hex ids masked): warnings, and summary lines per shape."""

    warnings: set[str] = field(default_factory=set)
    summaries: dict[str, int] = field(default_factory=dict)

    def first_warning(self, s: str) -> bool:
        """True for the first warning of its shape; a repeat folds into the markers."""
        key = MASK.sub("#", s)
        if key in self.warnings:
            return False
        self.warnings.add(key)
        return True

    def repeated_summary(self, s: str, flags: int) -> bool:
        """True for the third and later summary line of one shape (per-class "Tests run: 5, Failures: 0
        ...") that reports no failure: a per-suite tally, not the run's summary."""
        key = MASK.sub("#", s)
        count = self.summaries.get(key, 0) + 1
        self.summaries[key] = count
        if count <= 2:
            return False
        return not (flags & ERROR_BIT and has_error_word(s))
