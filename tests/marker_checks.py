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


def assert_line_compression(text: str, compress, needles: list[str], min_reduction: float | None = None, **part_kw):
    """The properties every line-keeping compression must have; ``compress(text, **part_kw)`` returns
    (result, part_id). Returns the result for further checks."""
    from headroom_cli.tokens import count_tokens

    result, part_id = compress(text, **part_kw)
    assert result is not None, "expected the engine to compress this"
    out = result.text
    missing = [n for n in needles if n not in out]
    assert not missing, f"needles lost: {missing}\n---\n{out}"
    assert expand_markers(text, out, part_id) == text, "markers do not expand back to the original"
    assert len(out) < len(text)
    marks = markers_in(out, part_id)
    assert marks, "no marker in the output"
    assert result.omitted == sum(int(m["b"]) - int(m["a"]) + 1 for m in marks)
    again, _ = compress(text, **part_kw)
    assert again is not None and again.text == out, "not deterministic"
    if min_reduction is not None:
        before, after = count_tokens(text), count_tokens(out)
        assert after <= (1 - min_reduction) * before, f"tokens {before} -> {after} ({1 - after / before:.1%} saved)"
    return result


def inexact_markers(original: str, compressed: str, part_id: str) -> list[str]:
    """Markers whose ``--lines A-B`` are not exactly the original lines missing where the marker is:
    a verbatim line just before a marker must be original line A-1 (none before it when A is 1), and
    one just after it line B+1. A neighbour that is no line of the original (a rewritten line, text an
    engine wrote) says nothing and is not checked; nor is a neighbour that is itself a marker of
    another ID. Returns one description per problem (empty: all exact)."""
    orig_lines, _ = split_lines(original)
    present = set(orig_lines)
    out_lines, _ = split_lines(compressed)
    problems = []
    for k, line in enumerate(out_lines):
        for m in MARKER_RE.finditer(line):
            if m["id"] != part_id or m["a"] is None:
                continue
            a, b = int(m["a"]), int(m["b"])
            if not 1 <= a <= b <= len(orig_lines):
                problems.append(f"out of range: {m.group(0)}")
                continue
            if MARKER_RE.fullmatch(line) is None:
                continue  # a marker inside a line (a body elided after its signature): no line neighbours
            before = out_lines[k - 1] if k else None
            after = out_lines[k + 1] if k + 1 < len(out_lines) else None
            if before is not None and before in present and (a < 2 or orig_lines[a - 2] != before):
                problems.append(f"line before {m.group(0)} is {before!r}, not original line {a - 1}")
            if after is not None and after in present and (b >= len(orig_lines) or orig_lines[b] != after):
                problems.append(f"line after {m.group(0)} is {after!r}, not original line {b + 1}")
    return problems
