"""What every engine test checks about markers: expanding them gives back the original."""

from __future__ import annotations

import re

from headroom_cli.engines.base import split_lines
from headroom_cli.markers import MARKER_RE


def markers_in(text: str, part_id: str) -> list[re.Match[str]]:
    """The marker lines of text that name part_id."""
    return [m for line in text.split("\n") if (m := MARKER_RE.fullmatch(line)) and m["id"] == part_id]


def expand_markers(original: str, compressed: str, part_id: str) -> str:
    """compressed with each marker line replaced by the original lines it names: what
    `headroom retrieve ID --lines A-B` gives back. Equal to original when nothing else changed."""
    orig_lines, _ = split_lines(original)
    out_lines, ends_nl = split_lines(compressed)
    rebuilt: list[str] = []
    for line in out_lines:
        m = MARKER_RE.fullmatch(line)
        if m and m["id"] == part_id:
            a, b = int(m["a"]), int(m["b"])
            assert 1 <= a <= b <= len(orig_lines), line
            rebuilt.extend(orig_lines[a - 1 : b])
        else:
            rebuilt.append(line)
    return "\n".join(rebuilt) + ("\n" if ends_nl else "")
