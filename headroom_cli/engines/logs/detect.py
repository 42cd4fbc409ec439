"""Is a part a log? Records that start with a time or a level field, or, failing that, many lines of
a few repeated shapes. Test runs, build diagnostics, diffs, JSON, CSV and markup are left to their
engines. Cheap: the router asks every part, so only a sample of lines is read."""

from __future__ import annotations

import re

from headroom_cli.engines.base import hint_score, Part, share_at_least
from headroom_cli.engines.logs.mine import mine, Template
from headroom_cli.engines.logs.shapes import mask, PLAIN, severity

HINTS = frozenset(("logs", "log", "syslog"))
SURE = 0.96  # above the test-and-log engine's 0.9 for timestamped lines: a system log is ours
LIKELY = 0.92
CEILING = SURE  # the highest score without a kind hint
SHAPED = 0.52  # many lines of few shapes and nothing else claims it: over MIN_SCORE, under the others
MIN_LINES = 20
RECORDS = 0.3  # share of stamped or levelled lines that makes a part a log of records
RARE_SHARE = 0.1  # share of lines of rare templates under which they stand out in any output
REDRAWN_SHARE = 0.25  # of the sampled lines, redrawn with carriage returns: terminal output, not a log
SHAPED_MIN_CHARS = 3_000  # about 1,000 tokens: a smaller output without times is left to the others
_SAMPLE_HEAD, _SAMPLE_TAIL = 200, 50
_HEAD_CHARS = 64  # a record's time sits near its start

# A time of day with seconds, a date, a syslog or Apache stamp, a Unix epoch, HDFS's yymmdd hhmmss.
_STAMP = re.compile(r"(?<![A-Za-z])(?<![A-Za-z]-)(?:\d\d?:\d\d:\d\d|\d{4}[-/.]\d\d[-/.]\d\d|\d\d/[A-Z][a-z]{2}/\d{4}|\b1\d{9}(?:\.\d+)?\b|"
                    r"^\d{6} \d{6}\b|^\[\s*\d+\.\d{3,}\])")
# Output of a test runner or a compiler: the test-and-log engine's. Lines that start so, and lines
# holding such a phrase (searched only where a cheap test finds its mark: most lines have none).
_RUNNER_START = re.compile(r"test \S+ \.\.\. (?:ok|FAILED|ignored)|(?:not )?ok \d+ |--- (?:PASS|FAIL):|Ran \d+ tests? in|"
                           r"Tests?:\s+\d+|\s*(?:✓|✗|√|×|PASS|FAIL) |\S+:\d+:\d+: (?:fatal )?(?:error|warning|note):")
_RUNNER_BANNER = re.compile(r"=+ .*(?:test session starts|passed|failed|errors?)\b.*=+$")  # a line ending in "="
_RUNNER_PHRASE = re.compile(r"collected \d+ items|\S::\S+ (?:PASSED|FAILED|SKIPPED|ERROR)|\*\*\* FAILED \*\*\*|"
                            r"\b\d+ tests?, \d+ passed")
_DIFF = re.compile(r"^(?:diff --git |@@ -\d|\+\+\+ |--- a/)")
# Listings whose columns hold a date: `ls -l --full-time`, `git log` with dates (a hash first), `git log`'s
# "commit <hash>" blocks. The listing engine's, not ours.
_LISTING = re.compile(r"^(?:[-dlcbps][rwxsStT-]{9}[.+@]?\s|(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\s|commit [0-9a-f]{7,40}\b)")
# grep's output: a file name with an extension (and a line number) before each line. The search engine's.
_LISTING_STARTS = frozenset("-dlcbps0123456789abcdef")  # every character _LISTING can start with
_GREP = re.compile(r"^(?:\.{0,2}/)?[\w.-]+(?:/[\w.-]+)*\.[A-Za-z]\w{0,9}(?::\d+)?[:-]")
_DRAWN_ROW = re.compile(r"\s*[|│┃├└┌┏┗┣╭╰+]")
_GIT_LOG = re.compile(r"(?:commit [0-9a-f]{7,40}\b|Author: |Date: )")
# A table's header line: column names in capitals (`ps`, `docker ps`, `kubectl get`), the table engine's.
_HEADER = re.compile(r"^\s*[A-Z][A-Z%_/-]*(?:\s+[A-Z%][A-Z%_/()-]*){2,}\s*$")


def score(part: Part) -> float:
    lines = _sample(part.text)
    hinted = hint_score(part, HINTS)
    if hinted == 0.0:
        return 0.0
    if len(lines) < MIN_LINES or _not_a_log(part.text, lines) or _table_like(lines):
        return 0.9 if hinted else 0.0  # under the test-and-log engine's 1.0 for the same hint
    stamped = sum(1 for line in lines if _STAMP.search(line[:_HEAD_CHARS])) / len(lines)
    runner = sum(1 for line in lines if _runner(line))
    if runner >= 2 or runner * 20 >= len(lines):
        return 0.9 if hinted else 0.3
    if hinted:
        return 1.0
    if stamped >= 0.6:
        return SURE
    shapes = mask("\n".join(lines)).split("\n")  # masked once for both tests below
    if stamped >= 0.3 or _levelled(shapes) >= 0.5:
        return LIKELY
    if len(part.text) < SHAPED_MIN_CHARS or _terminal_repeats(part.text, lines):
        return 0.0
    return SHAPED if _few_shapes(shapes) else 0.0


def _runner(line: str) -> bool:
    if _RUNNER_START.match(line):
        return True
    if line.endswith("=") and _RUNNER_BANNER.search(line):
        return True
    # the marks, one of which every _RUNNER_PHRASE match holds, tested in line (a generator costs ~5 times more)
    marked = "collected " in line or "::" in line or "***" in line or " passed" in line
    return marked and bool(_RUNNER_PHRASE.search(line))


def rarity_is_news(lines: list[str], templates: list[Template], rare: int) -> bool:
    """Whether lines of rare templates are the anomalies: in a log of records (at least RECORDS of
    the non-blank lines are of templates whose first line has a time near its start or a level
    field), or where they are few (at most RARE_SHARE of the lines) against a background of repeated
    ones. In a tool's output where many lines are printed once, rarity says nothing. Read per template."""
    stamped = scarce = total = 0
    for template in templates:
        if template.tokens:
            total += template.count
            scarce += template.count if template.count <= rare else 0
            if template.level >= PLAIN or _STAMP.search(lines[template.first][:_HEAD_CHARS]):
                stamped += template.count
    return stamped >= RECORDS * total or scarce <= RARE_SHARE * total


def _terminal_repeats(text: str, lines: list[str]) -> bool:
    """One line printed over and over, or frames redrawn with carriage returns on a good share of the
    lines: the plain-text engine folds those without a template (and without losing a word). A log
    with a progress line here and there (apt's "Reading database ... 45%") stays a log."""
    if text.count("\r") > text.count("\r\n") and \
            sum(1 for line in lines if "\r" in line.rstrip("\r")) >= REDRAWN_SHARE * len(lines):
        return True
    most = max(lines.count(line) for line in dict.fromkeys(lines[:50]))
    return most >= 0.5 * len(lines)


def _sample(text: str) -> list[str]:
    """Non-blank lines from the head and the tail of the text."""
    head = text[:60_000].split("\n")[:_SAMPLE_HEAD]
    tail = text[-15_000:].split("\n")[1:][-_SAMPLE_TAIL:] if len(text) > 60_000 else []
    return [line for line in head + tail if line.strip()]


def _not_a_log(text: str, lines: list[str]) -> bool:
    start = text.lstrip()[:1]
    if start in "{<" or text.lstrip()[:2] in ('["', "[{", "[\n"):
        return True  # JSON, markup
    if _HEADER.match(lines[0]):
        return True  # a table under its header
    # each share read only until it is settled (share_at_least), each pattern tried only on lines starting
    # with a character it can start with (the lines are non-blank)
    if share_at_least(lines, lambda line: line[0] in _LISTING_STARTS and _LISTING.match(line), 0.3):
        return True
    if share_at_least(lines, _GREP.match, 0.5):
        return True
    if sum(1 for line in lines if line[0] in "cAD" and _GIT_LOG.match(line)) >= 4:
        return True  # `git log`: commit, Author and Date lines
    return sum(1 for line in lines if line[0] in "d@+-" and _DIFF.match(line)) >= 2


def _table_like(lines: list[str]) -> bool:
    """Most lines have the same number (3 or more) of commas or tabs and almost no spaces (CSV/TSV), or
    are rows of a drawn table (markdown, `sqlite3 -box`, psql)."""
    if sum(1 for line in lines if _DRAWN_ROW.match(line)) >= 0.5 * len(lines):
        return True
    for sep in (",", "\t"):
        counts = [line.count(sep) for line in lines]
        common = max(set(counts), key=counts.count)
        if common >= 3 and counts.count(common) >= 0.8 * len(lines):
            spaced = sum(1 for line in lines if line.count(" ") > common)
            if sep == "\t" or spaced < 0.2 * len(lines):
                return True
    return False


def _levelled(shapes: list[str]) -> float:
    return sum(1 for shape in shapes if severity(shape) >= PLAIN) / len(shapes)


def _few_shapes(shapes: list[str]) -> bool:
    """Many lines of a few templates: those seen three times or more hold at least half the sample."""
    if len(shapes) < 40:
        return False
    _, templates = mine(shapes)
    covered = sum(t.count for t in templates if t.count >= 3)
    return covered >= 0.5 * len(shapes) and len(templates) <= 0.5 * len(shapes)
