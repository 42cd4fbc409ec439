"""pytest: ``-v`` (``PASSED``/``SKIPPED`` at the end of the line), ``-q`` (rows of dots), ``-rA``
(``PASSED tests/...``), xdist (``[gw0] [ 42%] PASSED``), and its report sections.

In the ``FAILURES``/``ERRORS`` sections everything is kept (a long report is then cut to its frames'
ends by pytest_report.py) except the captured output, which is read like any log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headroom_cli.engines.testlog.format import Format
from headroom_cli.engines.testlog.lines import K, Lines, S

_END_LABEL = {"PASSED": "PASSED", "SKIPPED": "SKIPPED", "XFAIL": "xfailed", "XFAILED": "xfailed",
              "XPASS": "xpassed", "XPASSED": "xpassed"}

FORMAT = Format(
    name="pytest",
    passing=(
        ("passed", r"PASSED +\S", "PASSED"),  # -rA "PASSED tests/..."
        ("skip", r"(?:SKIPPED|XFAIL|XPASS) ", "skipped"),
        ("gw", r"\[gw\d+\] \[ *\d+%\] (?:PASSED|SKIPPED|XFAIL|XPASS)\b", "PASSED"),
    ),
    passing_starts="PSX[",
    passing_end=(("pyt", r"(?P<pyt>PASSED|SKIPPED|XFAILED|XFAIL|XPASSED|XPASS)(?: \(.*\))?(?:\s+\[\s*\d+%\])?",
                  _END_LABEL.__getitem__),),
    passing_end_tokens=("PASSED", "SKIPPED", "XFAIL", "XFAILED", "XPASS", "XPASSED", "%]"),
    summary=(r"\d+ (?:passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)\b",
             r"(?:collecting \.\.\. )?collected \d+ items?\b"),
    summary_starts="0123456789c",
    runner=(r"=+ test session starts =+", r"collected \d+ items?",
            r"=+ (?:FAILURES|ERRORS|short test summary info|warnings summary) =+$",
            r"\d+ (?:failed|passed)\b.* in [\d.]+m?s\b"),
    failure_shape=(r"E(?: +\S|$)",),  # "E       assert 500 == 200"
    failure_shape_starts="E",
    failure_header=(r"FAILED(?::| +\S)",),
)

# section rules: "==== FAILURES ====", "____ test_x ____", "---- Captured log ----"
SECTION = re.compile(r"([=_-])\1{2,} (.*?) ?\1{3,}$")
# progress lines: "tests/test_x.py ....s..F  [ 42%]", "........F...", "tests/a.py ....."
PROGRESS = re.compile(r"(?:(\S+) +)?([.sSxXFEfp*]+)(?: +\[ *\d+%\])?$")
PROGRESS_END = frozenset(".sSxXFEfp*]")


@dataclass
class Sections:
    """Where the scan stands in pytest's report, and the failing tests' reports found so far."""

    in_fail: bool = False  # inside FAILURES / ERRORS: keep everything (but see pytest_report.py)
    in_captured: bool = False  # ... except captured output there, which is treated like any log
    in_warnings: bool = False  # inside the warnings summary
    reports: list[tuple[int, int]] = field(default_factory=list)  # one failing test's report: [start, end)
    report_start: int = -1

    def rule(self, i: int, sec: re.Match[str], lines: Lines) -> bool:
        """Classify section rule i; True for a top-level (``====``) one, which only a runner prints."""
        rule, title = sec.group(1), sec.group(2)
        if self.report_start >= 0:
            self.reports.append((self.report_start, i))
        self.report_start = i + 1 if rule == "_" and self.in_fail else -1
        if rule == "=":
            self.in_fail = title in ("FAILURES", "ERRORS")
            self.in_warnings = title == "warnings summary"
            self.in_captured = False
            lines.cls[i] = S
            return True
        if rule == "_":
            self.in_captured = False
            if self.in_fail:
                lines.cls[i] = K
            else:
                lines.label[i] = "test headers"
        elif title.startswith("Captured"):
            if self.in_fail:
                self.in_captured = True
                lines.cls[i] = K
            else:
                lines.label[i] = "captured output"
        else:
            lines.cls[i] = S
        return False

    def close(self, n: int) -> list[tuple[int, int]]:
        """The reports, the last one ended by the end of the part."""
        if self.report_start >= 0:
            self.reports.append((self.report_start, n))
            self.report_start = -1
        return self.reports
