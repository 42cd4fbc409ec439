"""``git log --oneline`` (``--graph`` and ``--decorate`` too): the newest and oldest commits and the
notable ones (reverts, merges, tickets such as ``ABC-123``, security words and CVEs, releases and tags,
breaking changes, hotfixes); a rule that fires on too many commits is routine there and stops counting."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from headroom_cli.engines.listing.selection import CHECK_EVERY, Selection
from headroom_cli.engines.listing.words import line_starts, lines_with

LOG_HEAD = 5  # newest commits, always kept
LOG_TAIL = 1  # oldest commits, always kept
RULE_SHARE = 0.12  # a "notable" rule that fires on more than this share of commits is routine
RULE_FLOOR = 8  # ... unless it fires on at most this many

# graph characters, an abbreviated or full hash, the subject
LINE = re.compile(r"([*|\\/ _.-]*?)\b([0-9a-f]{7,12}|[0-9a-f]{40})\b\s+(\S.*)$")
LINE_STARTS = frozenset("*|\\/ _.-0123456789abcdef")  # every character LINE can start with
DECORATION = re.compile(r"\((?:HEAD\b|tag: |[\w.\-]+/[\w.\-/]+(?:,|\)))[^)]*\)\s*")
CONVENTIONAL = re.compile(r"([A-Za-z]+)(?:\([^)]*\))?(!)?: ")
NOTABLE_RULES = (  # (name, regex on the subject); each rule is dropped when it fires too often
    ("revert", re.compile(r"(?i)\brevert")),
    ("security", re.compile(r"(?i)\b(?:security|vulnerab\w*|cve-\d{4}-\d+|ghsa-[\w-]+|xss|csrf|ssrf|injection"
                            r"|exploit\w*|rce|privilege escalation|sanitiz\w*|(?:auth\w* )?bypass\w*"
                            r"|unauthori[sz]ed|path traversal|open redirect|leak(?:s|ed|ing)? (?:of )?(?:secrets?"
                            r"|credentials?|tokens?|keys?|passwords?))\b")),
    ("ticket", re.compile(r"\b(?!(?:UTF|SHA|ISO|RFC|MD|ES|X|ECMA|PEP|HTTP)-)[A-Z][A-Z0-9]{1,9}-\d+\b")),
    ("release", re.compile(r"(?i)\brelease[ds]?\b|\bbump(?:ed|s)? (?:the )?version\b|\bversion bump\b"
                           r"|^v?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?$")),
    ("breaking", re.compile(r"^[A-Za-z]+(?:\([^)]*\))?!: |BREAKING")),
    ("hotfix", re.compile(r"(?i)\b(?:hotfix|rollback|roll back|data loss|regression)\b")),
    ("merge", re.compile(r"^Merge (?:pull request|branch|remote-tracking|tag|commit)\b|^Merge .* into ")),
)
# words (lower case) and shapes that point at a line worth running the rules on: a superset of the rules
_NOTABLE_WORDS = ("revert", "secur", "vulnerab", "cve-", "ghsa-", "xss", "csrf", "ssrf", "inject", "exploit", "rce",
                  "privilege", "sanitiz", "bypass", "unauthori", "traversal", "redirect", "leak", "releas",
                  "version", "hotfix", "rollback", "roll back", "data loss", "regression", "merge", "breaking", "!: ")
_TICKET_SHAPE, _VERSION_SHAPE = "-\\d", "\\.\\d"  # tickets ("SEC-1042"), versions ("2.8.0")
_NOTABLE_SHAPES = (re.compile(_TICKET_SHAPE), re.compile(_VERSION_SHAPE))
# in ASCII text, the words and shapes each rule needs (its matches hold one of them), so that a rule
# runs only on the lines it can fire on; other text runs every rule on every candidate line
_TRIGGERS = {
    "revert": ("revert",),
    "security": ("secur", "vulnerab", "cve-", "ghsa-", "xss", "csrf", "ssrf", "inject", "exploit", "rce", "privilege",
                 "sanitiz", "bypass", "unauthori", "traversal", "redirect", "leak"),
    "ticket": (_TICKET_SHAPE,),
    "release": ("releas", "version", _VERSION_SHAPE),
    "breaking": ("!: ", "breaking"),
    "hotfix": ("hotfix", "rollback", "roll back", "data loss", "regression"),
    "merge": ("merge",),
}
_GRAPH_ONLY = " *|\\/_.-"


@dataclass
class History:
    commits: list[int] = field(default_factory=list)  # the lines of commits, newest first
    tagged: list[int] = field(default_factory=list)  # commits with a tag: releases
    subjects: dict[int, str] = field(default_factory=dict)  # without the decoration


def _commit_label(subject: str, labels: dict[str, str]) -> str:
    """"merge commits", "fix commits" (a conventional type), else "commits"; ``labels``: those made so far."""
    if subject.startswith("Merge "):
        return "merge commits"
    c = CONVENTIONAL.match(subject)
    if c is None:
        return "commits"
    kind = c.group(1)
    label = labels.get(kind)
    if label is None:
        label = labels[kind] = f"{kind.lower()} commits"
    return label


def parse(sel: Selection) -> History:
    """The commits; lines of something else (not graph lines or blanks) are kept."""
    keep, label = sel.keep, sel.label
    h = History()
    labels: dict[str, str] = {}
    commits, subjects, match, decoration = h.commits, h.subjects, LINE.match, DECORATION.match
    for i, s in enumerate(sel.lines):
        if not i % CHECK_EVERY:
            sel.check()
        m = match(s)
        if not m:
            if not s.strip() or s.strip(_GRAPH_ONLY) == "":
                label[i] = "graph lines" if s.strip() else "blank lines"
            else:
                keep[i] = 1
            continue
        subject = m.group(3)
        if subject[0] == "(" and (d := decoration(subject)):
            if "tag: " in d.group(0):
                h.tagged.append(i)  # git log --decorate: a release
            subject = subject[d.end():]
        commits.append(i)
        subjects[i] = subject
        label[i] = _commit_label(subject, labels)
    return h


def _candidates(lines: list[str]) -> dict[str, list[int]]:
    """Per rule, the lines a cheap search over the whole text points at: the only ones it runs on."""
    n = len(lines)
    text = "\n".join(lines)
    starts = line_starts(lines)
    low = text.lower()
    found: dict[str, list[int]] = {}
    if len(low) == len(text):
        for word in _NOTABLE_WORDS:
            found[word] = lines_with(low, starts, word)
    else:  # a character whose lower case is longer: every line is a candidate
        found[""] = list(range(n))
    for rx in _NOTABLE_SHAPES:
        hits = found[rx.pattern] = []
        p = -1
        for m in rx.finditer(text):
            if m.start() > p:  # once per line
                li = bisect_right(starts, m.start()) - 1
                hits.append(li)
                p = starts[li + 1] if li + 1 < n else len(text)
    if not text.isascii():
        every = sorted({i for hits in found.values() for i in hits})
        return {name: every for name in _TRIGGERS}
    return {name: sorted({i for key in keys for i in found[key]}) for name, keys in _TRIGGERS.items()}


def _notable(sel: Selection, h: History) -> list[int]:
    """The commits a rule fires on, each rule counted only where it fires on few commits."""
    tagged = set(h.tagged)
    subjects = h.subjects
    candidates = _candidates(sel.lines)
    limit = max(RULE_FLOOR, int(len(h.commits) * RULE_SHARE))
    notable: list[int] = []
    for name, rx in NOTABLE_RULES:
        fired = list(h.tagged) if name == "release" else []
        for i in candidates[name]:
            subject = subjects.get(i)
            if subject is not None and rx.search(subject) and not (name == "release" and i in tagged):
                fired.append(i)
        if len(fired) <= limit:
            notable += fired
    return notable


def select(sel: Selection) -> None:
    h = parse(sel)
    if not h.commits:
        return
    keep = sel.keep
    for i in _notable(sel, h):
        keep[i] = 1
    for i in h.commits[:LOG_HEAD] + h.commits[-LOG_TAIL:]:
        keep[i] = 1
    for i in h.commits:
        if sel.query[i]:
            keep[i] = 1
