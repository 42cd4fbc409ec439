"""Routing, Read-format parts, frozen decisions, explanations, repeats within a request."""

from __future__ import annotations

import json

from headroom_cli.engines import Part
from headroom_cli.markers import find_markers
from headroom_cli.pipeline import Pipeline, part_hash
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import rewrite_body
from headroom_cli.store import Store

from samples import FAILED_TEST, PYTEST_SUMMARY, pytest_verbose_log


def _read_format(text: str, start: int = 1) -> str:
    return "".join(f"{n}\t{line}" for n, line in enumerate(text.splitlines(keepends=True), start))


def test_read_format_keeps_line_numbers_and_markers_redeem_the_numbered_lines(tmp_path):
    log = _read_format(pytest_verbose_log(1500), start=1)
    outcome = Pipeline().run(Part(log, tool_name="Read", tool_input="/srv/app/test-output.log"))
    assert outcome.engine == "testlog" and outcome.part_id
    lines = log.splitlines(keepends=True)
    for line in outcome.text.splitlines(keepends=True):
        assert find_markers(line) or line in lines or not line.strip()  # every kept line carries its number
    assert any(FAILED_TEST in line and line.split("\t")[0].isdigit() for line in outcome.text.splitlines())
    marker = find_markers(outcome.text)[0]
    store = Store(tmp_path / "s.sqlite3")
    store.put(outcome.part_id, outcome.kind, outcome.original)
    from headroom_cli.retrieve import retrieve

    a, b = int(marker.group("a")), int(marker.group("b"))
    assert retrieve(store, outcome.part_id, lines=f"{a}-{b}") == "".join(lines[a - 1:b])


def test_decisions_are_frozen_on_first_sight(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    log = pytest_verbose_log(1500)
    first = Pipeline(frozen=store).run(Part(log))
    assert first.changed and store.get(first.part_id) == log  # the original went in with the decision
    # A later process whose engine would give up at once still replays the first decision.
    replay = Pipeline(frozen=store, part_budget_s=0.0).run(Part(log))
    assert replay.text == first.text and replay.part_id == first.part_id
    # And a part first seen when its engine timed out stays as it was, even when it could compress now.
    other = pytest_verbose_log(1400)
    assert not Pipeline(frozen=store, part_budget_s=0.0).run(Part(other)).changed
    assert not Pipeline(frozen=store).run(Part(other)).changed
    assert store.recall(part_hash(other), other) is not None


def test_code_is_outlined_and_a_read_keeps_its_line_numbers(corpus_dir):
    source = (corpus_dir / "code" / "python_rich_table.txt").read_text()
    pipeline = Pipeline()
    assert pipeline.route(Part(source)).name == "code"
    plain = pipeline.run(Part(source))
    assert plain.engine == "code" and plain.part_id and "    def add_row(" in plain.text
    read = _read_format(source)
    outcome, why = pipeline.explain(Part(read, tool_name="Read", tool_input="rich/table.py"))
    assert why.read_format and why.chosen == "code" and outcome.changed
    numbered = read.splitlines(keepends=True)
    for line in outcome.text.splitlines(keepends=True):
        assert find_markers(line) or line in numbered or not line.strip()
    # A marker's range is lines of the Read output; the line after the gap has the number after the range.
    lines = outcome.text.splitlines()
    for i, line in enumerate(lines[:-1]):
        marker = find_markers(line)
        if marker and lines[i + 1].split("\t")[0].isdigit():
            assert int(lines[i + 1].split("\t")[0]) > int(marker[0]["b"])


def test_explain_names_every_engine_and_the_choice():
    outcome, why = Pipeline().explain(Part(pytest_verbose_log(1000)))
    assert why.chosen == "testlog" and "testlog" in why.scores and "code" in why.scores
    assert why.decision.startswith("compressed by testlog") and outcome.changed
    small, why_small = Pipeline().explain(Part("tiny"))
    assert not small.changed and "under" in why_small.decision


def test_identical_tool_output_in_one_request_becomes_a_reference():
    log = pytest_verbose_log(1200)
    body = {"messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_a", "content": log}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_b", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_b", "content": log}]}]}
    kept = {}
    raw = json.dumps(body).encode()
    result = rewrite_body(raw, adapter_for("/v1/messages"), Pipeline(), lambda i, k, t: kept.setdefault(i, t))
    got = json.loads(result.body)
    first, second = got["messages"][1]["content"][0]["content"], got["messages"][3]["content"][0]["content"]
    assert FAILED_TEST in first and PYTEST_SUMMARY in first
    (marker,) = find_markers(second)
    assert second == marker.group(0) and "identical to the earlier output of Bash (toolu_a)" in second
    assert kept[marker.group("id")] == log
    again = rewrite_body(raw, adapter_for("/v1/messages"), Pipeline(), lambda *_: None)
    assert again.body == result.body  # the same request gives the same bytes


def test_the_users_latest_words_are_the_query():
    body = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                     {"type": "text", "text": "why does the refund test fail?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}]}
    assert adapter_for("/v1/messages").query(body) == "why does the refund test fail?"
    chat = {"messages": [{"role": "user", "content": "first"}, {"role": "user", "content": "latest question"},
                         {"role": "tool", "tool_call_id": "c", "content": "out"}]}
    assert adapter_for("/v1/chat/completions").query(chat) == "latest question"
    responses = {"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "what broke?"}]},
                           {"type": "function_call_output", "call_id": "c", "output": "x"}]}
    assert adapter_for("/v1/responses").query(responses) == "what broke?"


def test_a_client_cut_is_kept_and_each_side_compressed_on_its_own(tmp_path):
    head = pytest_verbose_log(1999)[:5000]
    tail = pytest_verbose_log(1999)[-5000:]
    cut = "Exit code 1\n" + head + "\n\n... [109921 characters truncated] ...\n\n" + tail
    outcome = Pipeline().run(Part(cut, tool_name="Bash"))
    assert outcome.changed and "... [109921 characters truncated] ..." in outcome.text
    assert PYTEST_SUMMARY in outcome.text
    store = Store(tmp_path / "s.sqlite3")
    store.put(outcome.part_id, outcome.kind, cut)
    from headroom_cli.retrieve import retrieve

    lines = cut.splitlines(keepends=True)
    for marker in find_markers(outcome.text):  # markers after the cut count the part's lines, not the section's
        a, b = int(marker.group("a")), int(marker.group("b"))
        assert retrieve(store, outcome.part_id, lines=f"{a}-{b}") == "".join(lines[a - 1:b])
    assert any(int(m.group("a")) > cut[:cut.index("... [")].count("\n") for m in find_markers(outcome.text))


def test_persisted_output_notes_are_read_only_from_tool_results_folders(tmp_path):
    from headroom_cli import persisted
    from headroom_cli.providers.base import ToolCall

    root = tmp_path / ".claude" / "projects"
    saved = root / "-proj" / "session" / "tool-results" / "t.txt"
    saved.parent.mkdir(parents=True)
    (root / "-proj" / "session.jsonl").write_text("{}\n")  # the session's transcript, beside its folder
    whole = pytest_verbose_log(1999)
    saved.write_text(whole)
    outside = tmp_path / "secrets.txt"
    outside.write_text("api key")
    bash = ToolCall("Bash", "pytest", "t")

    def note(path) -> str:
        return (f"<persisted-output>\nOutput too large (92KB). Full output saved to: {path}\n\n"
                f"Preview (first 2KB):\n{whole[:2000]}\n...\n</persisted-output>")

    assert persisted.saved_output(note(saved), root, "session", bash) == whole
    assert persisted.saved_output(note(outside), root, "session", bash) is None  # not a tool-results folder
    assert persisted.saved_output(note(saved), tmp_path / "elsewhere", "session", bash) is None  # not under the root
    assert persisted.saved_output("plain text", root, "session", bash) is None
    body = {"metadata": {"user_id": json.dumps({"session_id": "session"})}, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "pytest"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": note(saved)}]}]}
    store = Store(tmp_path / "s.sqlite3")
    result = rewrite_body(json.dumps(body).encode(), adapter_for("/v1/messages"), Pipeline(frozen=store),
                          store.put, root)
    text = json.loads(result.body)["messages"][1]["content"][0]["content"]
    assert FAILED_TEST in text and f"Full output saved to: {saved}" in text
    (marker,) = find_markers(text)[:1]
    assert store.get(marker.group("id")) == whole  # markers redeem the whole output, not the note
    saved.write_text("changed later")  # frozen on first sight: the same note gives the same bytes
    again = rewrite_body(json.dumps(body).encode(), adapter_for("/v1/messages"), Pipeline(frozen=store), store.put, root)
    assert again.body == result.body


def test_when_the_surest_engine_passes_the_fallback_still_cleans_up():
    # npm on a terminal: a spinner redrawn with \r hundreds of times. testlog claims it (log-like)
    # but finds nothing to fold; the text engine's redraw replay then does the work.
    frames = "".join(f"\r{'⠋⠙⠹⠸⠼⠴⠦⠧'[i % 8]} reify:lodash: timing reifyNode:node_modules/pkg{i} Completed in {i}ms"
                     for i in range(400))
    npm = "npm WARN deprecated inflight@1.0.6: This module is not supported\n" + frames + "\r\x1b[K\n" + \
          "added 412 packages, and audited 413 packages in 9s\n\nfound 0 vulnerabilities\n"
    pipeline = Pipeline()
    assert [e.name for e in pipeline.candidates(Part(npm))][:2] == ["testlog", "text"]
    outcome, why = pipeline.explain(Part(npm))
    assert outcome.engine == "text" and why.chosen == "text"
    assert "added 412 packages, and audited 413 packages in 9s" in outcome.text and len(outcome.text) < len(npm) // 10


def test_json_inside_a_log_is_routed_on_its_own(tmp_path):
    records = [{"id": i, "sku": f"SKU-{1000 + i}", "status": "ok", "qty": i % 7} for i in range(300)]
    records[123].update(status="error", reason="warehouse EU-2 returned 503")
    body = json.dumps({"items": records}, indent=2)
    log = ("".join(f"2026-03-02T10:00:{i % 60:02d}Z INFO  sync - page {i} fetched\n" for i in range(200))
           + "2026-03-02T10:04:00Z ERROR sync - inventory sync failed; response body follows\n"
           + body + "\n"
           + "".join(f"2026-03-02T10:05:{i % 60:02d}Z INFO  sync - retry {i} scheduled\n" for i in range(200)))
    store = Store(tmp_path / "s.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(log, query="why did the inventory sync fail?"))
    assert outcome.engine == "logs" and "inventory sync failed; response body follows" in outcome.text
    assert '"reason": "warehouse EU-2 returned 503"' in outcome.text  # the JSON engine kept the anomaly
    assert len(outcome.text) < len(log) // 5
    from headroom_cli.markers import original_lines
    from headroom_cli.retrieve import retrieve

    lines = original_lines(log)
    for marker in find_markers(outcome.text):
        if marker.group("a"):
            a, b = int(marker.group("a")), int(marker.group("b"))
            assert retrieve(store, outcome.part_id, lines=f"{a}-{b}") == "".join(lines[a - 1:b])


def test_a_data_literal_inside_code_is_not_split_out(corpus_dir):
    source = (corpus_dir / "code" / "go_cobra_command.txt").read_text()
    literal = json.dumps({"flags": [{"name": f"flag{i}", "usage": "x"} for i in range(20)]}, indent=2)
    code = source[:5000] + "\n" + literal + "\n" + source[5000:]
    assert not Pipeline().run(Part(code)).changed


def test_explain_says_why_a_part_passed_through():
    """--explain names the reason: no engine sure enough (and the surest), an engine with nothing to
    remove, a lossy result too small to pay for its marker."""
    prose = "".join(f"Paragraph {i} tells how the fox jumped over the lazy dog on day {i * 7}.\n" for i in range(30))
    outcome, why = Pipeline().explain(Part(prose))
    assert not outcome.changed and why.decision.startswith("passed through: no engine scored")
    assert "the surest" in why.decision
    rows = "NAME      READY   STATUS    RESTARTS   AGE\n" + "".join(
        f"web-{i:03d}   1/1     Running   0          {i % 9 + 1}d\n" for i in range(30))
    outcome, why = Pipeline().explain(Part(rows))
    assert not outcome.changed
    assert "table would omit lines, but a part of" in why.decision and "stays whole" in why.decision
    assert why.reasons and why.reasons[-1] in why.decision
    small = "NAME      READY   STATUS\n" + "".join(f"web-{i:03d}   1/1     Running {'x' * 40}\n" for i in range(40))
    _, why = Pipeline().explain(Part(small, kind_hint="json"))
    assert "json found nothing to remove" in why.decision or "no engine scored" in why.decision


def test_a_section_repeated_byte_for_byte_is_compressed_once(tmp_path, monkeypatch):
    """The same test run on each side of a client's cut notices: each copy gets the outcome of the
    first (engines are pure), with its markers pointing at its own lines; detect() asked once per text."""
    from headroom_cli import engines
    from headroom_cli.markers import original_lines
    from headroom_cli.retrieve import retrieve

    run = pytest_verbose_log(passing=300)
    log = "".join(f"{run}... [{n}2,345 characters truncated] ...\n" for n in range(1, 4)) + run
    testlog, calls = engines.get("testlog"), []
    real_compress, real_detect = testlog.compress, testlog.detect
    monkeypatch.setattr(testlog, "compress", lambda part, ctx: calls.append("compress") or real_compress(part, ctx))
    monkeypatch.setattr(testlog, "detect", lambda part: calls.append(part.text) or real_detect(part))
    store = Store(tmp_path / "s.sqlite3")
    outcome = Pipeline(frozen=store).run(Part(log))
    assert outcome.engine == "testlog" and calls.count("compress") == 1
    assert len(calls) - 1 == len(set(calls) - {"compress"})  # no text scored twice
    lines = original_lines(log)
    ranges = [(int(m.group("a")), int(m.group("b"))) for m in find_markers(outcome.text) if m.group("a")]
    assert len(ranges) >= 4 and len(set(ranges)) == len(ranges)  # each copy's markers: its own lines
    for a, b in ranges:
        assert retrieve(store, outcome.part_id, lines=f"{a}-{b}") == "".join(lines[a - 1:b])


def test_only_a_repeated_section_is_asked_whether_its_outcome_holds_elsewhere(monkeypatch):
    """Whether a section's outcome holds for a copy of it elsewhere in the part asks the engines that read
    where it starts (detect() on a new part is the router's main cost): asked only for a section that repeats."""
    asked = []
    real = Pipeline._position_free
    monkeypatch.setattr(Pipeline, "_position_free", lambda self, section, seen: asked.append(section.text)
                        or real(self, section, seen))
    run, other = pytest_verbose_log(passing=300), pytest_verbose_log(passing=280)
    cut = "... [12,345 characters truncated] ...\n"
    Pipeline().run(Part(run + cut + other))
    assert asked == []
    Pipeline().run(Part(run + cut + run))
    assert asked and set(asked) == {run}
