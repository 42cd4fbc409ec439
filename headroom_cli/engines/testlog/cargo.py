"""cargo test (Rust's libtest): ``running N tests`` and ``test result:`` per test binary, the
``failures:`` list; once a binary failed, the binaries that passed whole fold away."""

from __future__ import annotations

import re

from headroom_cli.engines.testlog.format import Format
from headroom_cli.engines.testlog.lines import KEEP_CLASSES, Lines

FORMAT = Format(
    name="cargo test",
    summary=(r"test result:", r"failures:$", r"running \d+ tests?$", r"error: test failed"),
    summary_starts="tfre",
    runner=(r"running \d+ tests?$", r"test result: "),
)

_BINARY_OK = re.compile(r"test result: ok\. \d+ passed; 0 failed\b")  # a test binary that passed


def is_binary_line(c0: str, s: str) -> bool:
    """A binary's ``running N tests`` or ``test result:`` line (s is a summary line)."""
    return c0 in "rt" and s.startswith(("running ", "test result: "))


def fold_passing_binaries(binary_lines: list[int], lines: Lines) -> None:
    """Once some test binary failed, fold the ``running N tests`` and ``test result: ok.`` lines of the
    binaries that passed whole (nothing kept between them), with their ``... ok`` lines."""
    contents, cls = lines.contents, lines.cls
    if not any(contents[j].lstrip().startswith("test result: FAILED") for j in binary_lines):
        return
    run_at = -1
    for j in binary_lines:
        s = contents[j].lstrip()
        if s.startswith("running "):
            run_at = j
            continue
        if s.startswith("test result: ok.") and _BINARY_OK.match(s):
            if run_at >= 0 and all(cls[x] not in KEEP_CLASSES for x in range(run_at + 1, j)):
                for x in (run_at, j):
                    lines.fold(x, "passing suites")
        run_at = -1
