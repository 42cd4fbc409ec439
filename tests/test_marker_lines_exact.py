"""Marker line numbers are exact in every case (issue 14, item 5).

For corpus samples and synthetic shapes of how a client sends them (Claude Code's numbered Read, a Read
with an offset, a cut the client made with `... [N characters truncated] ...`, an `Exit code` line,
CRLF lines), every marker's ``--lines A-B``, retrieved from the store, is exactly the lines missing
between the kept lines around it; and in Read output, where the model reads the file's own line
numbers, the marker also names the file lines it held whenever those differ from A-B.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from headroom_cli.engines import Part
from headroom_cli.markers import MARKER_RE, marker, original_lines
from headroom_cli.pipeline import Pipeline
from headroom_cli.retrieve import retrieve
from headroom_cli.store import Store

from marker_checks import expand_markers, inexact_markers

CORPORA = [Path(__file__).resolve().parents[1].parent / "shared" / name for name in ("corpus", "corpus-rtk")]
_NUMBER = re.compile(r" *(\d+)(?:\t|\u2192)")
_FILE_LINES = re.compile(r", file lines (\d+)-(\d+)$")


def read(text: str, start: int = 1) -> str:
    """text as Claude Code's Read shows it: every line numbered from start."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return "".join(f"{i:>6}\t{line}\n" for i, line in enumerate(lines, start))


def cut(text: str, exit_code: bool = False) -> str:
    """text with its middle cut as Claude Code cuts a long output (mid-line, both sides)."""
    a, b = len(text) // 8, len(text) - len(text) // 3
    return ("Exit code 1\n" if exit_code else "") + text[:a] + f"\n\n... [{b - a} characters truncated] ...\n\n" + text[b:]


SHAPES = {
    "plain": lambda t: t,
    "read": read,
    "read@500": lambda t: read(t, 500),
    "cut": cut,
    "read-cut": lambda t: cut(read(t)),
    "read@40-cut-exit": lambda t: cut(read(t, 40), True),
    "crlf-read-cut": lambda t: cut(read(t.replace("\n", "\r\n"))),
    "read-tail-cut": lambda t: read(t)[: len(read(t)) * 2 // 3] + "\n... [12345 characters truncated] ...\n",
}


def _log(n: int = 1500) -> str:
    return "".join(f"2024-01-01 12:{i // 60 % 60:02d}:{i % 60:02d} INFO worker-{i % 7} processed item {i} ok\n"
                   if i % 97 else f"2024-01-01 12:00:00 ERROR failed item {i}: timeout\n" for i in range(n))


def _samples() -> list:
    found = [pytest.param("synthetic-log", _log(), None, id="synthetic-log")]
    for corpus in CORPORA:
        if (corpus / "needles.json").is_file():
            for entry in json.loads((corpus / "needles.json").read_text(encoding="utf-8")):
                name = f"{corpus.name}/{entry['file']}"
                found.append(pytest.param(name, (corpus / entry["file"]).read_text(encoding="utf-8"),
                                          entry.get("query"), id=name))
    return found


def check_exact(sent: str, outcome, store: Store) -> None:
    """Every marker of the outcome's ID is exact against the text as the client sent it."""
    problems = inexact_markers(sent, outcome.text, outcome.part_id)
    assert not problems, problems[:3]
    lines = original_lines(sent)
    for m in MARKER_RE.finditer(outcome.text):
        if m["id"] != outcome.part_id or m["a"] is None:
            continue
        a, b = int(m["a"]), int(m["b"])
        assert retrieve(store, m["id"], lines=f"{a}-{b}") == "".join(lines[a - 1:b])
        first, last = _NUMBER.match(lines[a - 1]), _NUMBER.match(lines[b - 1])
        if not (first and last) or int(last[1]) - int(first[1]) != b - a:
            continue  # not a run of numbered Read lines: A-B is the only number the marker gives
        shown = (int(first[1]), int(last[1]))
        named = _FILE_LINES.search(m["what"])
        said = (int(named[1]), int(named[2])) if named else (a, b)
        assert said == shown, f"{m.group(0)} stands for the file's lines {shown[0]}-{shown[1]}"


@pytest.mark.parametrize("name,text,query", _samples())
def test_markers_are_exact_in_every_shape(name, text, query, tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for shape, make in SHAPES.items():
        sent = make(text)
        tool = "Read" if "read" in shape else "Bash"
        outcome = Pipeline().run(Part(sent, query=query, tool_name=tool))
        if outcome.part_id:
            store.put(outcome.part_id, outcome.kind or "text", sent)
            check_exact(sent, outcome, store)


def test_offset_read_marker_names_the_file_lines(tmp_path):
    sent = read(_log(600), 500)
    outcome = Pipeline().run(Part(sent, tool_name="Read"))
    assert outcome.part_id
    first = next(m for m in MARKER_RE.finditer(outcome.text) if m["a"])
    a, b = int(first["a"]), int(first["b"])
    assert f"file lines {a + 499}-{b + 499}" in first["what"]
    assert expand_markers(sent, outcome.text, outcome.part_id) == sent


def test_client_cut_read_marker_names_the_file_lines(tmp_path):
    """After the client's cut, the part's line k is no longer the file's line k."""
    sent = cut(read(_log(3000)))
    outcome = Pipeline().run(Part(sent, tool_name="Read"))
    store = Store(tmp_path / "s.sqlite3")
    store.put(outcome.part_id, outcome.kind, sent)
    check_exact(sent, outcome, store)
    after_cut = outcome.text.split("characters truncated] ...", 1)[1]
    assert _FILE_LINES.search(next(m for m in MARKER_RE.finditer(after_cut) if m["a"])["what"])


def test_the_check_finds_a_marker_one_line_off():
    """inexact_markers is no rubber stamp: a range shifted by one line is caught on either side."""
    original = "".join(f"line {i}\n" for i in range(1, 21))
    good = "line 1\nline 2\n" + marker("hr_0123456789abcdef", "16 lines omitted", (3, 18)) + "\nline 19\nline 20\n"
    assert inexact_markers(original, good, "hr_0123456789abcdef") == []
    for a, b in ((4, 18), (3, 17), (2, 18), (3, 19)):
        bad = good.replace("--lines 3-18", f"--lines {a}-{b}")
        assert inexact_markers(original, bad, "hr_0123456789abcdef")
