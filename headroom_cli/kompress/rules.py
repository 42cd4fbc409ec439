"""The keep-floor: lines that rules say an agent needs, kept whatever the model scores them.

The model ranks; these rules protect (a hybrid). Each rule is one that a specialised engine already
applies to its own format, written here on shapes rather than on any program, so it holds for
formats nobody wrote an engine for:
- alerts (errors, failures, warnings, tracebacks, asserts) and the two lines after one, which
  carry its message or the expected/received pair;
- lines holding a word of the agent's question or focus;
- result lines: counts of passed/failed/errors/warnings, totals, timings;
- a summary section: the lines under a short heading such as ``SUMMARY``, ``Results`` or
  ``Failures``, up to the next blank line after content (or ``SECTION_MAX`` lines);
- the first and last non-blank lines (what ran, how it ended).
"""

from __future__ import annotations

import re

ALERT = re.compile(r"\b(error|errors|fail|failed|failure|failures|fatal|panic|panicked|exception|traceback|"
                   r"warning|warnings|denied|abort|aborted|assert\w*|critical|refused|timeout|timed out|"
                   r"segmentation fault|not found|cannot|unable)\b|[✗✘×]|\*\*\*", re.I)
RESULT = re.compile(r"\b\d+ (passed|failed|errors?|warnings?|tests?|skipped|completed|succeeded|failures?|"
                    r"problems?|issues?)\b|^\s*(total|totals|time|duration|elapsed|result|status)\b\s*[:=]", re.I)
SECTION = re.compile(r"^[\s=#*\-]*(summary|results?|stats|statistics|totals?|overview|errors?|failures?|"
                     r"warnings?|problems?|short test summary info)\b[\s=#*:\-]*$", re.I)
AFTER_ALERT = 2  # lines after an alert that stay with it
SECTION_MAX = 40  # a summary section longer than this is not a summary


def protected(lines: list[str], terms: tuple[str, ...] = ()) -> list[bool]:
    """Per line: whether a rule keeps it regardless of the model."""
    keep = [False] * len(lines)
    lowered = [line.lower() for line in lines] if terms else []
    after = 0
    for i, line in enumerate(lines):
        alert = bool(ALERT.search(line))
        if alert or RESULT.search(line) or (terms and any(t in lowered[i] for t in terms)):
            keep[i] = True
        elif after > 0 and line.strip():
            keep[i] = True
        after = AFTER_ALERT if alert else after - 1
    _keep_sections(lines, keep)
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in nonblank[:1] + nonblank[-1:]:
        keep[i] = True
    return keep


def _keep_sections(lines: list[str], keep: list[bool]) -> None:
    for i, line in enumerate(lines):
        if len(line) > 60 or not SECTION.match(line):
            continue
        keep[i] = True
        seen = False
        for j in range(i + 1, min(len(lines), i + 1 + SECTION_MAX)):
            if not lines[j].strip():
                if seen:
                    break
                continue
            seen = True
            keep[j] = True
