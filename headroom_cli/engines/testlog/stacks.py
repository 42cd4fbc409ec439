"""Stack traces of any language: Python tracebacks, Java/JavaScript ``at`` frames, exception chaining,
Go goroutine dumps. An error line pulls the stack under it into its block (select.py)."""

from __future__ import annotations

import re

FRAME = re.compile(
    r"(?:at \S.*:\d+(?::\d+)?\)?$|at \S+\((?:Native Method|Unknown Source)\)$|File \"[^\"]*\", line \d+"
    r"|Caused by:|Suppressed:"
    r"|\.\.\. \d+ (?:more|common frames omitted)|The above exception was the direct cause"
    r"|During handling of the above exception)"
)
FRAME_CHARS = frozenset("aFCS.TD")  # first letters of FRAME
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|goroutine \d+ \[")
