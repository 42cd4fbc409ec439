"""Write a source file with its cuts applied: each cut's lines become one marker line, written so that
the language still reads it (a comment, Python's ``...`` placeholder, or plain text inside a string)."""

from __future__ import annotations

from headroom_cli.engines.code.languages import Language
from headroom_cli.engines.code.outline import Cut
from headroom_cli.markers import span_marker


def marker_line(cut: Cut, lang: Language, part_id: str, shift: int = 0) -> str:
    """``shift``: rows before the text's first line (a framed window's made-up head), not counted."""
    marker = span_marker(part_id, cut.first + 1 - shift, cut.last + 1 - shift, cut.what)
    if cut.style == "statement":
        return f"{cut.indent}...  {lang.comment} {marker}"
    if cut.style == "comment":
        return f"{cut.indent}{lang.comment} {marker}"
    return f"{cut.indent}{marker}"


def apply(text: str, cuts: list[Cut], lang: Language, part_id: str, shift: int = 0) -> tuple[str, int, list[str]]:
    """(the text with every cut replaced by its marker line, how many lines were omitted, the marker
    line of each cut)."""
    lines = text.split("\n")
    out: list[str] = []
    at = 0
    omitted = 0
    markers = []
    for cut in cuts:
        out.extend(lines[at:cut.first])
        line = marker_line(cut, lang, part_id, shift)
        if lines[cut.last].endswith("\r"):
            line += "\r"  # a CRLF file keeps its line endings
        out.append(line)
        markers.append(line)
        omitted += cut.last - cut.first + 1
        at = cut.last + 1
    out.extend(lines[at:])
    return "\n".join(out), omitted, markers
