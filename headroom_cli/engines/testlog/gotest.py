"""go test: ``=== RUN``/``--- PASS:`` progress, ``ok  pkg 0.3s`` per package, goroutine dumps, and,
with ``-v``, a failing test's own output between its ``=== RUN`` and its ``--- FAIL``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.testlog.format import Format
from headroom_cli.engines.testlog.lines import B, E, F, N, W

FORMAT = Format(
    name="go test",
    passing=(
        ("gorun", r"=== (?:RUN|PAUSE|CONT|NAME)\b", "test progress"),
        ("gopass", r"--- (?:PASS|SKIP):", "passing tests"),
        ("notest", r"\? +\S+ +\[no test files\]", "packages without tests"),
    ),
    passing_starts="=-?",
    summary=(r"(?:ok|FAIL)\s+\S+\s+(?:[\d.]+m?s\b|\(cached\)|\[)", r"(?:FAIL|PASS|OK)$"),
    summary_starts="oFPO",
    runner=(r"=== RUN ", r"--- (?:PASS|FAIL): "),
    failure_shape=(r"goroutine \d+ \[",),
    failure_shape_starts="g",
)

FAIL = re.compile(r"--- FAIL: (\S+)")
SPAN_LIMIT = 400  # the most lines between a test's === RUN and its --- FAIL that are kept


@dataclass
class GoTests:
    """The tests seen starting (name -> line) and the failing ones' spans (RUN line, FAIL line)."""

    runs: dict[str, int] = field(default_factory=dict)
    fails: list[tuple[int, int]] = field(default_factory=list)

    def started(self, i: int, s: str) -> None:
        if s.startswith("=== RUN"):
            self.runs[s[7:].strip()] = i

    def failed(self, i: int, fail: re.Match[str]) -> None:
        j = self.runs.get(fail.group(1))
        if j is not None and i - j <= SPAN_LIMIT:
            self.fails.append((j, i))

    def keep_failing_output(self, cls: list[int], keep: bytearray) -> None:
        """A failing test's own output: its RUN line and what it printed up to its FAIL line."""
        for j, i in self.fails:
            keep[j] = 1
            for x in range(j + 1, i):
                if cls[x] in (N, B, F, E, W):
                    keep[x] = 1
