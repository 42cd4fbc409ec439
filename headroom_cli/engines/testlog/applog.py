"""Application logs: records with a level (``INFO``, ``[warn]``, glog's ``E0612 ...``, ``level=error``)
or a timestamp. Low levels fold, counted by level; warnings stay once per shape; errors stay with
the block under them (a traceback, a Java stack).

The level word is looked for where it sat in the last record (one slice, no regex), and searched
for only when it is not there; a long stretch without any level stops the search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UPPER = re.compile(r"[A-Z]{3,9}\b")
_WINDOW = 100  # a level word starts within the first this many characters
_PROBE = 400  # lines without any level after which a part is taken not to be a levelled log
_BEFORE = frozenset("./=-_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_GLOG = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d\d")
_LOWER = re.compile(r"(?i)\[?(trace|debug|info|notice|verbose|warn|warning|error|fatal|critical)\]?:? ")
_KV = re.compile(r"(?i)\b(?:level|severity)\"?\s*[=:]\s*\"?([a-z]+)")
LEVEL_NAME = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "DBG": "DEBUG", "INFO": "INFO", "INF": "INFO", "NOTICE": "NOTICE",
    "VERBOSE": "VERBOSE", "FINEST": "FINEST", "FINER": "FINER", "FINE": "FINE", "I": "INFO",
    "WARNING": "WARN", "WARN": "WARN", "WRN": "WARN", "W": "WARN",
    "ERROR": "ERROR", "ERR": "ERROR", "FATAL": "FATAL", "FTL": "FATAL", "CRITICAL": "CRITICAL",
    "CRIT": "CRITICAL", "SEVERE": "SEVERE", "PANIC": "PANIC", "ALERT": "ALERT", "EMERGENCY": "EMERG",
    "EMERG": "EMERG", "E": "ERROR", "F": "FATAL",
}
LOW_LEVELS = frozenset(("TRACE", "DEBUG", "INFO", "NOTICE", "VERBOSE", "FINEST", "FINER", "FINE"))
# a timestamp at the start of the line: ISO dates, syslog, clock times, epoch seconds, access logs
TIMESTAMP = re.compile(
    r"\[?(?:\d{4}[-/]\d\d[-/]\d\d[T ]?\d\d:\d\d|\d\d:\d\d:\d\d|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
    r"|\d{10}(?:\.\d+)?\b|\d\d/[A-Z][a-z]{2}/\d{4}:)"
)


def find_level(s: str, c0: str) -> tuple[str | None, int, int]:
    """The log level of a line (canonical name), where its word starts and ends; (None, -1, 0) if none."""
    m = _UPPER.search(s, 0, _WINDOW)
    while m:
        word = m.group()
        lvl = LEVEL_NAME.get(word)
        st = m.start()
        if lvl and (st == 0 or s[st - 1] not in _BEFORE) and s[m.end():m.end() + 1] not in ("/", "-", "_"):
            return lvl, st, m.end()
        m = _UPPER.search(s, m.end(), _WINDOW)
    if c0 in "IWEF" and (g := _GLOG.match(s)):
        return LEVEL_NAME[g.group(1)], -1, 1
    if (m := _LOWER.match(s)) or ("level" in s[:200] and (m := _KV.search(s, 0, 200))):
        lvl = LEVEL_NAME.get(m.group(1).upper())
        if lvl:
            return lvl, -1, m.end()
    return None, -1, 0


@dataclass
class Levels:
    """Where the level word sat in the last levelled line, how many lines had one, and whether it is
    still worth searching for."""

    col: int = -1
    searching: bool = True
    levelled: int = 0

    def level(self, i: int, s: str, c0: str) -> tuple[str | None, int]:
        """Line i's level and where its word ends (None, 0 when it has none)."""
        col = self.col
        if col >= 0:
            tok = s[col:col + 12].split(None, 1)
            if tok:
                word = tok[0].rstrip("]:>)|,")
                lvl = LEVEL_NAME.get(word) if len(word) > 2 else None
                if lvl and (col == 0 or not s[col - 1].isalnum()):
                    return lvl, s.find(word, col) + len(word)
        if not self.searching:
            return None, 0
        lvl, start, end = find_level(s, c0)
        if lvl:
            self.levelled += 1
            if start >= 0:
                self.col = start
        elif i >= _PROBE and self.levelled * 20 < i:
            # hardly any levels in a long stretch: not a levelled log, so stop looking (error and
            # warning lines are still found by their words)
            self.searching = False
        return lvl, end
