"""The formats' fragments joined into one regex per question, with the first characters each can
match (a cheap test before the regex runs)."""

from __future__ import annotations

import re

from headroom_cli.engines.testlog import build, cargo, gotest, jest, jvm_dotnet, mocha, pytest, tap, unittest
from headroom_cli.engines.testlog.stacks import TRACEBACK

FORMATS = tuple(m.FORMAT for m in (pytest, unittest, jest, mocha, tap, gotest, cargo, jvm_dotnet, build))


def _either(fragments: list[str]) -> str:
    return "(?:" + "|".join(fragments) + ")"


def _chars(field: str) -> frozenset[str]:
    return frozenset("".join(getattr(f, field) for f in FORMATS))


PASS_START = re.compile(_either([f"(?P<{g}>{p})" for f in FORMATS for g, p, _ in f.passing]))
PASS_START_CHARS = _chars("passing_starts")
PASS_START_LABEL = {g: label for f in FORMATS for g, _, label in f.passing}
PASS_END = re.compile(r"\s" + _either([p for f in FORMATS for _, p, _ in f.passing_end]) + r"\s*$")
PASS_END_TOKENS = tuple(t for f in FORMATS for t in f.passing_end_tokens)
_PASS_END_LABELS = {g: label for f in FORMATS for g, _, label in f.passing_end}
SUMMARY = re.compile(_either([p for f in FORMATS for p in f.summary]))
SUMMARY_CHARS = _chars("summary_starts")
RUNNER = re.compile(_either([p for f in FORMATS for p in f.runner]))
FAILURE_SHAPE = re.compile(_either([p for f in FORMATS for p in f.failure_shape]))
FAILURE_SHAPE_CHARS = _chars("failure_shape_starts")
FAIL_HEADER = re.compile(_either([p for f in FORMATS for p in f.failure_header]))
BLOCK_HEADER = re.compile(FAIL_HEADER.pattern + "|" + TRACEBACK.pattern)  # a block an error block may hold
RULE = re.compile(r"([-=_*#~\u23af\u2500\u2501])\1{5,}")  # a horizontal rule, maybe with a title


def pass_end_label(m: re.Match[str]) -> str:
    """What a marker calls a passing line found by PASS_END (each alternative holds one named group)."""
    return _PASS_END_LABELS[m.lastgroup](m.group(m.lastgroup))
