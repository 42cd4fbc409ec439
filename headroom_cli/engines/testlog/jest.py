"""Jest, Vitest and Bun: `` PASS  src/a.test.js`` per suite, ``✓ test (3 ms)`` per test, ``● suite ›
test`` over each failure's report, and the ``Tests:``/``Test Suites:`` summary. The check marks are
the spec reporters' (mocha, node --test) as well."""

from __future__ import annotations

from headroom_cli.engines.testlog.format import Format

FORMAT = Format(
    name="jest",
    passing=(
        ("check", "[\u2713\u2714\u221a] ", "passing tests"),  # ✓ ✔ √ (jest, mocha, node spec)
        ("suite", r"PASS +\S", "passing suites"),  # jest " PASS  src/x.test.js"
    ),
    passing_starts="\u2713\u2714\u221aP",
    summary=(r"(?:Tests|Test Suites|Test Files|Snapshots|Suites|Time|Duration):\s", r"Ran all test suites"),
    summary_starts="TSDR",
    runner=(r"Test Suites: ",),
    failure_shape=("[\u2717\u2715\u2716\u00d7\u2718\u25cf]",),  # failure bullets: ✗ ✕ ✖ × ✘ ●
    failure_shape_starts="\u2717\u2715\u2716\u00d7\u2718\u25cf",
    failure_header=(r"FAIL +\S", "\u25cf "),  # " FAIL  src/a.test.ts > b", "● a › b"
)
