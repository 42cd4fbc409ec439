"""One request's store writes in one transaction (Store.batch, Pipeline.batch), committed before the
request goes on; a decision another request has not committed yet is written again by whoever uses it."""

from __future__ import annotations

import json
import threading

import pytest

from headroom_cli.config import Settings
from headroom_cli.engines import Part
from headroom_cli.pipeline import Outcome, Pipeline, part_hash
from headroom_cli.providers import adapter_for
from headroom_cli.runtime import build_pipeline, open_store, prepare_request
from headroom_cli.shaping import RequestShaper
from headroom_cli.store import Store

from samples import app_log_with_fatal, pytest_verbose_log


def _body(outputs: list[str]) -> bytes:
    messages = [{"role": "user", "content": [{"type": "text", "text": "run the tests"}]}]
    for n, output in enumerate(outputs):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{n}", "name": "Bash", "input": {"command": f"step {n}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": output}]})
    body = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": messages,
            "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]}
    return json.dumps(body).encode()


def _commits(store: Store) -> list[str]:
    """The COMMITs the store's connection runs from now on (SQLite's statement trace)."""
    seen: list[str] = []
    with store._db.use() as conn:
        conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper().startswith("COMMIT") else None)
    return seen


def test_a_request_with_several_new_outputs_commits_once_and_every_marker_is_stored(headroom_home):
    settings = Settings.resolve()
    store = open_store(settings)
    pipeline = build_pipeline(settings, store)
    shaper = RequestShaper(settings, store)
    commits = _commits(store)
    outputs = [pytest_verbose_log(600, seed=1), app_log_with_fatal(2000), pytest_verbose_log(700, seed=2)]
    rewrite = prepare_request(_body(outputs), adapter_for("/v1/messages"), pipeline, store, settings, shaper)
    omitted = [o for o in rewrite.outcomes if o.part_id]
    assert len(omitted) == 3
    assert len(commits) == 1  # three originals and three decisions, one transaction
    assert all(store.get(o.part_id) == o.original for o in omitted)  # in the store when the request goes on
    assert all(store.recall(part_hash(o.original), o.original) == o for o in omitted)


def test_a_batch_writes_nothing_until_it_ends_and_nothing_when_it_raises(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    outcome = Outcome("x" * 2000, "short", "logs", "logs", "hr_" + "1" * 16)
    with store.batch():
        store.freeze("h1", outcome)
        store.put("hr_" + "2" * 16, "text", "kept")
        assert not store.has(outcome.part_id)  # not committed yet ...
        assert store.missing([outcome.part_id, "hr_" + "2" * 16, "hr_" + "3" * 16]) == {"hr_" + "3" * 16}
    assert store.get(outcome.part_id) == outcome.original and store.get("hr_" + "2" * 16) == "kept"
    with pytest.raises(RuntimeError), store.batch():
        store.freeze("h2", Outcome("y" * 2000, "short", "logs", "logs", "hr_" + "4" * 16))
        raise RuntimeError("the request failed")
    assert store.recall("h2", "y" * 2000) is None and not store.has("hr_" + "4" * 16)


def test_a_decision_another_request_has_not_committed_is_written_by_the_request_that_uses_it(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    pipeline = Pipeline(frozen=store)
    log = pytest_verbose_log(600)
    decided, go_on = threading.Event(), threading.Event()
    first: list[Outcome] = []

    def request_a():  # decides the part, then fails before its batch commits
        with pytest.raises(RuntimeError), pipeline.batch():
            first.append(pipeline.run(Part(log)))
            decided.set()
            go_on.wait(30)
            raise RuntimeError("upstream of the commit")

    a = threading.Thread(target=request_a)
    a.start()
    assert decided.wait(30)
    with pipeline.batch():  # request B, meanwhile: the memo's answer, not yet in the store
        second = pipeline.run(Part(log))
    assert second == first[0] and second.part_id
    go_on.set()
    a.join(30)
    # B committed it although A never did: every worker now replays the decision B sent
    assert store.recall(part_hash(log), log) == second
    assert store.get(second.part_id) == log


def test_a_failed_commit_leaves_no_pending_decision_in_the_memo(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    pipeline = Pipeline(frozen=store)
    log = pytest_verbose_log(600)
    with pytest.raises(RuntimeError), pipeline.batch():
        pipeline.run(Part(log))
        raise RuntimeError("failed before the commit")
    key = (part_hash(log), None)
    assert pipeline._memo.get(key, log) is None  # decided again (or recalled) next time, never replayed unstored
    again = pipeline.run(Part(log))  # outside a batch: written at once, then memoised as durable
    assert pipeline._memo.lookup(key, log) == (again, True)
    assert store.recall(part_hash(log), log) == again
