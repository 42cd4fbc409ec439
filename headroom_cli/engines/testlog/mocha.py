"""Mocha: ``N passing (2s)`` / ``N failing``, and the numbered failure list (``  1) suite title``)."""

from __future__ import annotations

import re

from headroom_cli.engines.testlog.format import Format

FORMAT = Format(
    name="mocha",
    summary=(r"\d+ (?:passing|failing|pending)\b",),
    summary_starts="0123456789",
    runner=(r"\d+ (?:passing|failing) \(",),
    failure_header=(r"\d+\) \S",),
)

# "  1) suite title", indented, in the failure list: a failure by its shape
FAILURE = re.compile(r"\d+\) \S")
