"""A cell's value as a number: plain numbers, sizes (``4.0G``, ``12Mi``), percentages, durations
(``250ms``, ``5d3h``), clock times (``01:02:03``, ps's ``2-03:04:05``), and ``47 (2m ago)``."""

from __future__ import annotations

import re

_UNIT_NUM = re.compile(r"[$€£¥]?([+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s?([A-Za-z%µ]{0,3})$")
_MULT = {
    "": 1.0, "%": 1.0, "B": 1.0, "b": 1.0,
    "k": 1e3, "K": 1e3, "KB": 1e3, "kB": 1e3, "Ki": 1024.0, "KiB": 1024.0,
    "M": 1e6, "MB": 1e6, "Mi": 1024.0 ** 2, "MiB": 1024.0 ** 2,
    "G": 1e9, "GB": 1e9, "Gi": 1024.0 ** 3, "GiB": 1024.0 ** 3,
    "T": 1e12, "TB": 1e12, "Ti": 1024.0 ** 4, "TiB": 1024.0 ** 4, "P": 1e15, "PB": 1e15,
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0,
    "h": 3600.0, "hr": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0,
}
_CLOCK = re.compile(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d\d(?:\.\d+)?)$")  # [dd-][hh:]mm:ss (ps etime, TIME)
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|us|ns|d|h|m|s|w|y))+$")  # kubectl AGE "5d3h", go "1m30s"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|d|h|m|s|w|y)")
SAMPLE_TYPE = 40  # values sampled to decide whether a column is numeric


def is_number(s: str) -> bool:
    return num(s) is not None


def num(s: str) -> float | None:
    """The value of a cell as a number (units and clock times understood), or None."""
    try:
        v = float(s)
    except ValueError:
        return _spelled(s.strip())
    if v != v or v in (float("inf"), float("-inf")):
        return None
    return v


def _spelled(s: str) -> float | None:
    """A number float() does not read: with a unit, a clock time, a duration, a note after it."""
    if not s or len(s) > 24:
        return None
    m = _UNIT_NUM.match(s)
    if m:
        mult = _MULT.get(m.group(2))
        if mult is None:
            return None
        try:
            return float(m.group(1).replace(",", "")) * mult
        except ValueError:
            return None
    m = _CLOCK.match(s)
    if m:
        d, h, mi, sec = m.groups()
        return ((int(d or 0) * 24 + int(h or 0)) * 60 + int(mi)) * 60 + float(sec)
    if _DURATION.match(s):
        return sum(float(a) * _MULT[u] for a, u in _DURATION_PART.findall(s))
    if s[-1] == ")" and 0 < s.find("(") and s[0] != "(":  # "47 (2m ago)": the number before the note
        return num(s[:s.find("(")])
    return None


def numeric_columns(recs: list[list[str]], k: int) -> int:
    """How many of the k columns hold numbers in most of these records."""
    if not recs:
        return 0
    typed = 0
    for col in range(k):
        vals = [r[col] for r in recs[:SAMPLE_TYPE] if r[col].strip()]
        if vals and sum(1 for v in vals if num(v) is not None) >= 0.8 * len(vals):
            typed += 1
    return typed
