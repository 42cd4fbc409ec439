"""What the engine classifies of each line: the program's own text, without the wrappers around it.

Taken off: a Read-format line number, ANSI colour codes, a trailing CR, and a prefix that most lines
share and that says nothing about the line (a CI job/step column, an ISO timestamp, a ``service  | ``
or ``[pod/...]`` source tag), so that levels, indentation and stack frames are seen as the program
printed them. Kept lines are still copied whole, prefix included.
"""

from __future__ import annotations

import re

from headroom_cli.engines.base import ANSI, has_ansi, share_at_least

READ_PREFIX = re.compile(r" *\d+(?:\t|\u2192)")
LINE_PREFIXES = (  # tried in this order, each taken off when most lines have it
    re.compile(r"[^\t]+\t[^\t]+\t(?=\d{4}-\d\d-\d\dT)"),  # gh run view --log: job, step, then a timestamp
    re.compile(r"[A-Za-z][\w.\-]*\s+\| "),  # docker compose logs: "web-1  | "
    re.compile(r"\[pod/[^\]\s]+\] "),  # kubectl logs --prefix
    re.compile(r"\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?(?: |$)"),  # ISO time
)
# What every match of each holds: a text without it has no line with that prefix, and its lines need not be tried.
_PREFIX_MARKS = ("\t", "| ", "[pod/", "-")


def contents(lines: list[str], text: str) -> tuple[list[str], bool]:
    """The text to classify for each line, and whether a shared prefix was taken off."""
    sample = [ln for ln in lines[:200] if ln] + [ln for ln in lines[-50:] if ln]
    if sample and share_at_least(sample, READ_PREFIX.match, 0.9):
        out = [_after(READ_PREFIX, ln) for ln in lines]
    else:
        out = lines
    coloured = has_ansi(text)
    if coloured:
        out = [ANSI.sub("", ln) if "\x1b[" in ln else ln for ln in out]
    if "\r" in text:
        out = [ln.rstrip("\r") for ln in out]
    stripped = False
    probe = None  # the first non-blank lines, taken again only once a prefix is taken off
    for rx, mark in zip(LINE_PREFIXES, _PREFIX_MARKS):
        # without colour codes taken out, every line is a piece of the text's: one without the mark has none
        if not coloured and mark not in text:
            continue
        if probe is None:
            probe = [ln for ln in out[:80] if ln.strip()][:50]
        if len(probe) < 5 or not share_at_least(probe, rx.match, 0.7):
            continue
        out = [_after(rx, ln) for ln in out]
        probe = None
        stripped = True
    return out, stripped


def _after(rx: re.Pattern[str], line: str) -> str:
    m = rx.match(line)
    return line[m.end():] if m else line
