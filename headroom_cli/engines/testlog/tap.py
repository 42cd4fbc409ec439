"""TAP (``node --test``'s default reporter, tape, prove): ``ok 3 - title``, ``not ok 4``, the plan
``1..12`` and the ``# tests 12`` / ``ℹ tests 12`` tallies (node's spec reporter)."""

from __future__ import annotations

from headroom_cli.engines.testlog.format import Format

FORMAT = Format(
    name="tap",
    passing=(("tap", r"ok \d+\b", "passing tests"),),
    passing_starts="o",
    summary=("[#\u2139] (?:tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\\b", r"1\.\.\d+$"),
    summary_starts="#\u21391",
    runner=(r"TAP version \d+", "[#\u2139] tests \\d+"),
    failure_shape=(r"not ok\b",),
    failure_shape_starts="n",
)
