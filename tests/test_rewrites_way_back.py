"""A rewrite never makes a line unfindable without a way back (issue 14, item 4).

An output is either the input with lines left out (every kept line byte for byte, padding and all,
so the model can quote and grep it) or it carries a marker whose ID gives the original back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headroom_cli.engines import Part
from headroom_cli.markers import find_markers
from headroom_cli.pipeline import Pipeline
from headroom_cli.retrieve import retrieve
from headroom_cli.sections import lines_kept
from headroom_cli.store import Store

from marker_checks import expand_markers

CORPORA = [Path(__file__).resolve().parents[1].parent / "shared" / name for name in ("corpus", "corpus-rtk")]
QUERY = "which proto fields changed type"
KINDS = {"json", "table", "listing", "search", "logs", "tests"}  # the kinds whose engines render lines


def _samples(kinds: set[str]) -> list[tuple[str, str, str | None]]:
    found = []
    for corpus in CORPORA:
        if not (corpus / "needles.json").is_file():
            continue
        for entry in json.loads((corpus / "needles.json").read_text(encoding="utf-8")):
            if entry["kind"] in kinds:
                text = (corpus / entry["file"]).read_text(encoding="utf-8")
                found.append((f"{corpus.name}/{entry['file']}", text, entry.get("query")))
    return found


def _redeemed(outcome, tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.sqlite3")
    store.put(outcome.part_id, outcome.kind or "text", outcome.original)
    return store


def _json_lines(n: int = 120) -> str:
    rows = [{"path": f"api/v1/thing{i}.proto", "line": i, "status": "ok" if i != 57 else "error",
             "message": f"Field \"{i}\" on message \"Thing{i}\" changed type."} for i in range(n)]
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


def test_json_lines_keep_their_lines(tmp_path):
    """JSON Lines are not redrawn as rows: the records kept are the original lines, byte for byte, and
    each run of the others is a line marker that gives them back."""
    text = _json_lines()
    outcome = Pipeline().run(Part(text, query=QUERY))
    assert outcome.changed and outcome.engine == "json" and outcome.part_id
    assert lines_kept(outcome.text, text)
    assert text.split("\n")[57] in outcome.text  # the one record in error, as it was
    assert expand_markers(text, outcome.text, outcome.part_id) == text


def test_json_rewritten_as_rows_can_be_given_back(tmp_path):
    """An array of records, with a question, becomes a table of rows: not verbatim, so it carries an ID."""
    text = json.dumps([json.loads(line) for line in _json_lines(60).splitlines()], indent=1) + "\n"
    outcome = Pipeline().run(Part(text, query=QUERY))
    assert outcome.changed and not lines_kept(outcome.text, text)
    assert outcome.part_id, "a rewrite must store the original under an ID"
    assert {m["id"] for m in find_markers(outcome.text)} == {outcome.part_id}
    assert [m for m in find_markers(outcome.text) if m["a"] is None]  # one that gives the whole original
    assert retrieve(_redeemed(outcome, tmp_path), outcome.part_id) == text


def test_pretty_json_compacted_carries_its_id(tmp_path):
    doc = [{"name": f"pkg{i}", "version": "1.0.0", "license": "MIT", "registry": "https://registry.example.org/pkgs",
            "size": 1000 + i} for i in range(40)]
    text = json.dumps(doc, indent=2) + "\n"
    outcome = Pipeline().run(Part(text))
    assert outcome.changed and outcome.part_id
    assert outcome.part_id in outcome.text
    assert retrieve(_redeemed(outcome, tmp_path), outcome.part_id) == text


def test_a_rewrite_that_only_drops_indentation_is_not_used():
    """Compacting white space saves few tokens and costs every line its verbatim form: not worth it."""
    doc = {"settings": {f"option_{i}": f"value number {i} for the {i}th option" for i in range(40)}}
    text = json.dumps(doc, indent=4) + "\n"
    outcome = Pipeline().run(Part(text))
    assert not outcome.changed


def test_without_a_store_no_rewrite_is_used():
    """lossy=False (nothing could redeem a marker): a rewrite is not used at all."""
    text = _json_lines()
    outcome = Pipeline(lossy=False).run(Part(text, query=QUERY))
    assert not find_markers(outcome.text)
    assert lines_kept(outcome.text, text)


def test_box_table_rows_stay_verbatim():
    widths = [10, 8, 9]
    border = "┌" + "┬".join("─" * (w + 2) for w in widths) + "┐"
    sep = "├" + "┼".join("─" * (w + 2) for w in widths) + "┤"
    end = "└" + "┴".join("─" * (w + 2) for w in widths) + "┘"
    rows = [(f"box-{i:03d}", "ok" if i != 57 else "FAILED", f"{10 + i % 7}ms") for i in range(120)]
    body = ["│ " + " │ ".join(f"{v:<{w}}" for v, w in zip(r, widths)) + " │" for r in rows]
    head = "│ " + " │ ".join(f"{v:<{w}}" for v, w in zip(("host", "status", "latency"), widths)) + " │"
    text = "\n".join([border, head, sep, *body, end]) + "\n"
    outcome = Pipeline().run(Part(text))
    assert outcome.engine == "table" and outcome.part_id
    assert body[57] in outcome.text and head in outcome.text  # the padded lines themselves
    assert lines_kept(outcome.text, text)
    assert expand_markers(text, outcome.text, outcome.part_id) == text


@pytest.mark.parametrize("name,text,query", [pytest.param(*s, id=s[0]) for s in _samples(KINDS)])
def test_corpus_outputs_keep_lines_or_a_way_back(name, text, query, tmp_path):
    outcome = Pipeline().run(Part(text, query=query))
    if not outcome.changed or lines_kept(outcome.text, text):
        if outcome.engine == "table":  # tables keep their rows as the original lines: markers expand back
            assert expand_markers(text, outcome.text, outcome.part_id) == text
        return
    assert outcome.part_id, f"{name}: rewritten by {outcome.engine} with nothing stored"
    assert any(m["id"] == outcome.part_id for m in find_markers(outcome.text))
    assert retrieve(_redeemed(outcome, tmp_path), outcome.part_id) == text
