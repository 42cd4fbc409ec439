"""What one test runner or tool prints, as regex fragments.

Each format module (pytest.py, jest.py, gotest.py, ...) declares a ``FORMAT``; patterns.py joins the
fragments of all of them into one regex per question (is this a passing test? a summary? a failure
report's header?), so that a line costs one match per question however many formats there are.
The fragments of one question must not overlap in what they capture (only whether one matches
counts, and for the passing-test groups, which one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Format:
    name: str
    # passing or skipped tests, matched at the start of the line: (group name, pattern, marker label)
    passing: tuple[tuple[str, str, str], ...] = ()
    passing_starts: str = ""  # the first characters the ``passing`` patterns can match
    # passing or skipped tests recognised by how the line ends: (group name, pattern holding that
    # group, label of the group's text), and the endings that make such a line worth matching
    passing_end: tuple[tuple[str, str, Callable[[str], str]], ...] = ()
    passing_end_tokens: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()  # summary lines, matched at the start of the line
    summary_starts: str = ""
    runner: tuple[str, ...] = ()  # lines only a test runner prints (its header or summary): detect()
    failure_shape: tuple[str, ...] = ()  # lines that report a failure by their shape, not by a word
    failure_shape_starts: str = ""
    # a failure report's first line: the report runs on over blank lines (message, diff, stack)
    failure_header: tuple[str, ...] = ()
