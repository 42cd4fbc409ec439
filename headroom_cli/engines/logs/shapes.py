"""Tokenising: each line's shape, its variables masked, and the severity its shape names.

A variable is any word-like token that holds a digit (times, dates, ids, IPs, ports, sizes, hex,
``blk_-695…``, ``worker-7``, ``core.2275``): the whole text is masked in one regex pass (C speed),
so a 50K-token log costs a few milliseconds. Words without digits (user names, paths) stay; the
template miner (mine.py) wildcards those where lines of one shape differ in them.
"""

from __future__ import annotations

import re

WILD = "\x00"  # what a masked variable becomes in a shape
# A word-like run holding a digit; the look-behind makes it start at a word's first character only,
# which keeps the scan linear.
VARIABLE = re.compile(r"(?<![\w./+~@#-])(?!(?<=\" )[1-5]\d\d )[\w./+~@#-]*\d[\w./+~@#-]*")
# The same matches in an ASCII text, about twice as fast: ASCII classes (the same as Unicode's on ASCII
# characters), and the letters before the first digit taken possessively (no backtracking over a word).
_VARIABLE_ASCII = re.compile(r"(?<![\w./+~@#-])(?!(?<=\" )[1-5]\d\d )[A-Za-z_./+~@#-]*+\d[\w./+~@#-]*+", re.ASCII)
# One value, as a marker describes it: a time stays whole (its colons are part of it).
VALUE = re.compile(r"(?<![\w.:/+~@#-])[\w.:/+~@#-]*\d[\w.:/+~@#-]*")

# Severity, read from a shape (variables masked). Bare upper-case level words count near the start of
# a record only (a level field); bracketed, "level=" and lower-case forms where a logger writes them.
ERROR, WARN, PLAIN, NONE = 3, 2, 1, 0
_HEAD_CHARS = 160
_LEVEL_WORD = re.compile(
    r"(?<![\w-])(?:(?P<e>FATAL|CRITICAL|CRIT|EMERG|EMERGENCY|ALERT|PANIC|SEVERE|ERROR|ERR)"
    r"|(?P<w>WARNING|WARN)|(?P<p>INFO|NOTICE|DEBUG|TRACE|VERBOSE|FINE|FINER|FINEST|CONFIG))(?![\w-])")
# A level right after a bracket, "=" or ":" ([error], level=warn, <crit>): any case. The prefix character
# comes first in the pattern so that the scan is quick (a case-blind alternation tried everywhere is not).
# The look-ahead (each level's first letter) only makes a bracket or "=" before other words fail fast.
_LEVEL_TAGGED = re.compile(
    r"[\[<(=:]\s*\"?(?=(?i:[acdefinpstvw]))(?i:(?P<e>fatal|crit(?:ical)?|emerg(?:ency)?|alert|panic|severe|err(?:or)?)"
    r"|(?P<w>warn(?:ing)?)|(?P<p>info|notice|debug|trace|verbose))\b")
# An access log's status after the request ("GET / HTTP/1.1" 500): a 5xx is the server's error. A 4xx
# is the client's (bots probing paths): it stays a template of its own, not an error.
_HTTP_STATUS = re.compile(r'" 5\d\d ')
# Android logcat and similar: masked time and ids, then a one-letter level, then the tag. Possessive
# (the same matches): with backtracking, a run of padding split five ways cost milliseconds a line.
_LEVEL_LETTER = re.compile(r"^(?:[\x00\[\]().,:|-]*+[ \t]++){1,5}(?P<l>[VDIWEF])[ \t/]+\S")
_LEVEL_PREFIX = re.compile(r"(?i)^\s*(?:(?P<e>error|fatal|panic)|(?P<w>warning|warn))(?:\[[^\]]*\])?:")
_EXCEPTION = re.compile(r"Traceback \(most recent call last\)|\w(?:Exception|Error)\b[:\s]|\bpanic:|"
                        r"Segmentation fault|core dumped|\bOOM\b|Out of memory")
_LETTER_LEVEL = {"E": ERROR, "F": ERROR, "W": WARN}
# What every match of _LEVEL_WORD and of _EXCEPTION starts with or holds: literals that a search finds
# quickly (a pattern that starts with a look-behind is tried at every position), so that the full
# pattern runs only from the first of them, or only where one is.
_LEVEL_WORD_STARTS = re.compile("FATAL|CRIT|EMERG|ALERT|PANIC|SEVERE|ERR|WARN|INFO|NOTICE|DEBUG|TRACE|VERBOSE|FINE|CONFIG")
_EXCEPTION_HOLDS = re.compile("Traceback|Exception|Error|panic:|Segmentation fault|core dumped|OOM|Out of memory")


def mask(text: str) -> str:
    """The text with every variable replaced by WILD; lines stay where they are."""
    return (_VARIABLE_ASCII if text.isascii() else VARIABLE).sub(WILD, text)


def severity(shape: str) -> int:
    """ERROR, WARN, PLAIN (a level field naming neither) or NONE (no level field) for one shape."""
    head = shape[:_HEAD_CHARS]
    found = _level_field(head)
    if found is not None:
        return found
    if _HTTP_STATUS.search(shape):
        return ERROR
    if _EXCEPTION_HOLDS.search(shape) and _EXCEPTION.search(shape):
        return ERROR
    return NONE


def _level_word(head: str) -> re.Match[str] | None:
    """_LEVEL_WORD's first match (its look-behind still reads the character before the start given)."""
    start = _LEVEL_WORD_STARTS.search(head)
    return start and _LEVEL_WORD.search(head, start.start())


def _level_field(head: str) -> int | None:
    # the first of these that finds a level decides (_LEVEL_PREFIX starts with "^"), written out rather than
    # looped over: this runs once for every shape a part has
    match = _LEVEL_PREFIX.match(head) or _LEVEL_TAGGED.search(head) or _level_word(head)
    if match:
        return _OF_GROUP[match.lastgroup]  # the one named group that matched
    match = _LEVEL_LETTER.match(head)
    if match:
        return _LETTER_LEVEL.get(match["l"], PLAIN)
    return None


_OF_GROUP = {"e": ERROR, "w": WARN, "p": PLAIN}


def display(template: str, limit: int = 90) -> str:
    """A template as a marker shows it: variables as one * per run of them (bracketed ones dropped),
    leading variables (the timestamp) dropped, no brackets that would end the marker, at most
    ``limit`` characters."""
    words = [w for w in template.split() if w == WILD or w.strip(WILD + "[]()<>{}") or WILD not in w]
    while words and words[0].strip(WILD + "[]():,.-") == "":
        words.pop(0)
    if not words:  # nothing but variables, or a blank line
        return "blank line" if not template.strip() else "*"
    shown = _STARS.sub("*", " ".join(words).replace(WILD, "*"))
    shown = shown.replace("[", "(").replace("]", ")").replace("·", "-").replace('"', "'")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


_STARS = re.compile(r"\*+(?: \*+)+|\*{2,}")
