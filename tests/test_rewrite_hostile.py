"""What the proxy fuzz test (test_proxy_fuzz.py) found in body rewriting, one deterministic case each:
never an exception other than NotRewritable, and never a re-serialized body where a splice will do."""

from __future__ import annotations

import json

import pytest

from headroom_cli import jsonspan
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import NotRewritable, rewrite_body
from headroom_cli.store import Store

from samples import pytest_verbose_log

ANTHROPIC, CHAT = adapter_for("/v1/messages"), adapter_for("/v1/chat/completions")
LOG = pytest_verbose_log(800)


def _anthropic(*outputs: tuple[str, object], head: str = '{"n":1E5,') -> bytes:
    messages = [{"role": "user", "content": "go"}]
    for i, (tool, output) in enumerate(outputs):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": tool, "input": {}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": output}]})
    return (head + json.dumps({"model": "claude-sonnet-4-5", "messages": messages})[1:]).encode()


def test_an_output_identical_to_an_earlier_untouched_one_is_spliced_in_its_own_place():
    # The model retrieved the whole log (never compressed again); later a tool printed it once more.
    raw = _anthropic(("mcp__headroom__headroom_retrieve", LOG), ("Bash", LOG))
    result = rewrite_body(raw, ANTHROPIC, Pipeline(part_budget_s=60))  # the first call warms the engines up
    assert result.changed
    assert result.body.startswith(b'{"n":1E5,'), "re-serialized: 1E5 would read 100000.0"
    sent = json.loads(raw)["messages"]
    got = json.loads(result.body)["messages"]
    assert got[2] == sent[2] and got[4] != sent[4]  # the retrieved one whole, the later one compressed


def test_a_number_json_cannot_write_keeps_the_body_as_sent():
    # 1e999 reads as inf; written back it would be "Infinity", which no JSON reader takes.
    raw = _anthropic(("mcp__headroom__headroom_retrieve", LOG), ("Bash", LOG), head='{"n":1e999,')
    assert b"Infinity" not in rewrite_body(raw, ANTHROPIC, Pipeline(part_budget_s=60)).body


@pytest.mark.parametrize("raw, why", [
    (b'{"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deep"),
    ('{"model": "x", "messages": []}'.encode("utf-16"), "not JSON in UTF-8"),
])
def test_unreadable_bodies_are_not_rewritable(raw, why):
    with pytest.raises(NotRewritable, match=why):
        rewrite_body(raw, ANTHROPIC, Pipeline())


@pytest.mark.parametrize("adapter, body", [
    (ANTHROPIC, {"messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": {"an": "object"}, "content": LOG}]}]}),
    (CHAT, {"messages": [{"role": "assistant", "tool_calls": 5.5}, {"role": "tool", "content": LOG}]}),
    (CHAT, {"messages": [{"role": "tool", "tool_call_id": "c", "content": "\ud800 a lone surrogate\n" + LOG}]}),
])
def test_wrong_types_and_lone_surrogates_do_not_raise(adapter, body, tmp_path):
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \ud800
    store = Store(tmp_path / "store.sqlite3")  # SQLite cannot hold a lone surrogate
    try:
        result = rewrite_body(raw, adapter, Pipeline(frozen=store), keep_original=store.put)
    finally:
        store.close()
    assert json.loads(result.body)["messages"][:-1] == body["messages"][:-1]


def _deep(leaf: object) -> object:
    for _ in range(5000):
        leaf = {"content": [leaf]}
    return leaf


def test_structural_equality_of_a_deep_tree():
    assert jsonspan.same(_deep("x"), _deep("x"))
    assert not jsonspan.same(_deep(1), _deep(1.0))
