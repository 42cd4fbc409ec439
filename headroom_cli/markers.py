"""The one marker grammar and ID format for omissions (CCR).

A gap in compressed output is replaced by one line such as
``[headroom: 1,995 lines omitted (1,995 PASSED) · retrieve hr_3fa92c1e0b7d5a41 --lines 3-1997]``.
The ID names the whole original part; ``--lines`` says which of its lines (1-based, inclusive) the
gap held, so ``headroom retrieve ID --lines A-B`` gives exactly what was left out.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

ID_PREFIX = "hr_"
MARKER_RE = re.compile(r"\[headroom: (?P<what>[^\]\n]*?) · retrieve (?P<id>hr_[0-9a-f]{16})(?: --lines (?P<a>\d+)-(?P<b>\d+))?\]")


def ccr_id(original: str) -> str:
    """hr_ + the first 16 hex digits of the SHA-256 of the original part."""
    return ID_PREFIX + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def describe_counts(counts: Counter[str] | dict[str, int], limit: int = 3) -> str:
    """'1,995 PASSED, 12 INFO' — the biggest categories first, ties by name for determinism."""
    items = sorted(((n, k) for k, n in counts.items() if n), key=lambda item: (-item[0], item[1]))
    shown = [f"{n:,} {_singular(k) if n == 1 else k}" for n, k in items[:limit]]
    rest = sum(n for n, _ in items[limit:])
    if rest:
        shown.append(f"{rest:,} other")
    return ", ".join(shown)


def _singular(label: str) -> str:
    """'1 blank line', not '1 blank lines': plural phrases ("blank lines", "repeated warnings") lose the s."""
    return label[:-1] if " " in label and label.endswith("s") else label


def _singular_noun(unit: str) -> str:
    if unit.endswith("ies"):
        return unit[:-3] + "y"  # entries → entry
    return unit[:-1] if unit.endswith("s") else unit


def marker(part_id: str, what: str, lines: tuple[int, int] | None = None) -> str:
    """The one marker grammar every omission uses: ``[headroom: WHAT · retrieve ID[ --lines A-B]]``.
    ``lines`` (1-based, inclusive) are the original's lines the gap held; ``what`` has no "]" or line break."""
    span = f" --lines {lines[0]}-{lines[1]}" if lines else ""
    return f"[headroom: {what} · retrieve {part_id}{span}]"


def line_marker(part_id: str, first_line: int, last_line: int, counts: Counter[str] | dict[str, int]) -> str:
    """The marker for lines first_line..last_line (1-based, inclusive) of the part."""
    n = last_line - first_line + 1
    unit = "line" if n == 1 else "lines"
    detail = describe_counts(counts)
    what = f"{n:,} {unit} omitted" + (f" ({detail})" if detail else "")
    return marker(part_id, what, (first_line, last_line))


def span_marker(part_id: str, first_line: int, last_line: int, what: str) -> str:
    """A marker for lines first_line..last_line (1-based, inclusive) that held one named thing, e.g.
    ``[headroom: body of parse_args · retrieve hr_… --lines 120-153]``: the line range says how much,
    so the marker does not repeat it (source code has many small gaps, each paying for its marker).
    ``what`` must not hold "]" or a line break."""
    return marker(part_id, what, (first_line, last_line))


def omission_marker(part_id: str, count: int, unit: str, counts: Counter[str] | dict[str, int] | None = None,
                    lines: tuple[int, int] | None = None) -> str:
    """A marker for omitted items counted in their own unit (records, rows, matches, blocks).

    ``unit`` is plural ("records", "rows"); the whole original is retrievable by the ID, and ``lines``
    names the original lines the items came from when they were one run of them.
    e.g. ``[headroom: 480 records omitted (470 status=ok, 10 status=skipped) · retrieve hr_…]``
    """
    noun = _singular_noun(unit) if count == 1 else unit
    detail = describe_counts(counts or {})
    what = f"{count:,} {noun} omitted" + (f" ({detail})" if detail else "")
    return marker(part_id, what, lines)


def original_lines(text: str) -> list[str]:
    """The lines marker ranges count: split at "\n" only (a lone "\r" or form feed is not a line
    break here, whatever str.splitlines thinks), each keeping its "\n"."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def find_markers(text: str) -> list[re.Match[str]]:
    return list(MARKER_RE.finditer(text))
