"""CacheAligner: automatic Anthropic breakpoints, volatile prefixes, OpenAI prefixes, cache-break warnings."""

from __future__ import annotations

import http.client
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli import cache_aligner, jsonspan
from headroom_cli.cache_aligner import ConversationTracker, add_breakpoints, diff_prefix, plan_breakpoints
from headroom_cli.config import Settings
from headroom_cli.context_fit import context_window
from headroom_cli.ledger import Ledger
from headroom_cli.mock_cache import PromptCache
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.tokens import count_tokens

from samples import FAILED_TEST, pytest_verbose_log

HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
OPENAI_HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-openai-test"}
EPHEMERAL = b',"cache_control":{"type":"ephemeral"}'
SYSTEM = "You are a support agent for the order service. " * 120  # over Anthropic's 1,024-token minimum


def sdk_body(turns: int, system=SYSTEM, tools=True, log: str | None = None, **extra) -> bytes:
    """A plain Anthropic SDK app: no cache_control anywhere; ``turns`` tool calls with their results."""
    messages: list[dict] = [{"role": "user", "content": "Why do the refunds fail?"}]
    for i in range(turns):
        messages.append({"role": "assistant", "content": [{"type": "text", "text": f"Step {i}."},
                                                          {"type": "tool_use", "id": f"toolu_{i}", "name": "Bash",
                                                           "input": {"command": f"pytest -k refund_{i}"}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                      "content": log or f"ok {i}\n" * 300}]})
    body = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": system, "messages": messages, **extra}
    if tools:
        body["tools"] = [{"name": "Bash", "description": "Run a shell command.", "input_schema": {"type": "object"}},
                         {"name": "Read", "description": "Read a file.", "input_schema": {"type": "object"}}]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _marked(raw: bytes) -> tuple[bytes, int]:
    text, n = add_breakpoints(raw.decode(), json.loads(raw))
    return text.encode(), n


# -- where breakpoints go --------------------------------------------------------------------------

def test_four_breakpoints_end_of_tools_system_and_the_last_two_turns_everything_else_byte_identical():
    raw = sdk_body(3)
    marked, n = _marked(raw)
    assert n == 4
    body = json.loads(marked)
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"} and "cache_control" not in body["tools"][0]
    assert body["system"] == [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}  # this request's end
    assert body["messages"][-3]["content"][-1]["cache_control"] == {"type": "ephemeral"}  # the previous request's end
    assert sum(json.dumps(m).count("cache_control") for m in body["messages"]) == 2
    # Undo the splice: the rest is exactly what the client sent.
    undone = marked.replace(EPHEMERAL, b"").replace(
        b'[{"type":"text","text":' + json.dumps(SYSTEM).encode() + b"}]", json.dumps(SYSTEM).encode())
    assert undone == raw


def test_breakpoints_are_the_same_every_time_and_move_with_the_conversation():
    assert _marked(sdk_body(3)) == _marked(sdk_body(3))
    assert [p for p in plan_breakpoints(json.loads(sdk_body(4))) if p[0] == "messages"] == [
        ("messages", 6, "content", 0), ("messages", 8, "content", 0)]


@pytest.mark.parametrize("client_marks", [
    {"system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]},
    {"cache_control": {"type": "ephemeral"}},  # top-level automatic caching
])
def test_a_client_that_sets_any_cache_control_is_left_alone(client_marks):
    raw = sdk_body(2, **client_marks) if "cache_control" in client_marks else sdk_body(2, system=client_marks["system"])
    assert _marked(raw) == (raw, 0)


def test_no_breakpoint_on_thinking_empty_text_or_deferred_tools():
    body = {"model": "claude-sonnet-4-5", "tools": [{"name": "A"}, {"name": "B", "defer_loading": True}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "  "}]},
                         {"role": "assistant", "content": [{"type": "thinking", "thinking": "…", "signature": "s"}]}]}
    assert plan_breakpoints(body) == [("tools", 0), ("messages", 0, "content", 0)]
    raw = json.dumps(body)
    text, n = add_breakpoints(raw, body)
    assert n == 2 and json.loads(text)["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_string_content_becomes_one_text_block_with_the_marker():
    body = {"model": "m", "messages": [{"role": "user", "content": "caf\u00e9 \\ \"quoted\""}]}
    raw = json.dumps(body, ensure_ascii=True)
    text, n = add_breakpoints(raw, body)
    assert n == 1
    assert json.loads(text)["messages"][0]["content"] == [
        {"type": "text", "text": "caf\u00e9 \\ \"quoted\"", "cache_control": {"type": "ephemeral"}}]
    assert "\\u00e9" in text  # the client's own escapes are kept


def test_jsonspan_finds_values_and_rejects_broken_json():
    text = '{"a": [1, {"b": "x\\"}y"}], "c": {"d": null}}'
    root = jsonspan.index(text)
    node = root.get("a", 1, "b")
    assert text[node.start:node.end] == '"x\\"}y"'
    assert text[root.get("c").start:root.get("c").end] == '{"d": null}'
    with pytest.raises(jsonspan.SpanError):
        jsonspan.index('{"a": [1, 2}')


# -- volatile prefixes ------------------------------------------------------------------------------

def test_a_changing_timestamp_and_uuid_are_found_where_they_are():
    assert diff_prefix("system", "Now: 2026-03-02T11:42:10Z. Go.", "Now: 2026-03-02T11:43:55Z. Go.").kind == "timestamp"
    found = diff_prefix("tool Bash", 'run id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 ok',
                        'run id 9c0e11aa-0000-4d2f-883f-00aa00bb00cc ok')
    assert (found.kind, found.offset, found.line, found.before_chars, found.after_chars) == ("uuid", 7, 1, 36, 36)
    assert "1b4e28ba" not in found.describe() + found.before and "9c0e11aa" not in found.describe() + found.after
    assert diff_prefix("system", "You help.\nAPI_TOKEN=sk-live-4f9a8b7c6d5e4f3a2b1c\n",
                       "You help.\nAPI_TOKEN=sk-live-0a1b2c3d4e5f6a7b8c9d\n").line == 2
    assert diff_prefix("system", "request 41 of the day", "request 42 of the day").kind == "counter"
    assert diff_prefix("system", "same", "same") is None


def test_the_tracker_reports_each_place_once_per_conversation():
    tracker = ConversationTracker()
    first = tracker.observe("k", {"system": "t=2026-01-01 10:00:00"}, ["a"], ["a"], [1])
    second = tracker.observe("k", {"system": "t=2026-01-01 10:00:07"}, ["a", "b"], ["a", "b"], [1, 1])
    third = tracker.observe("k", {"system": "t=2026-01-01 10:00:09"}, ["a", "b", "c"], ["a", "b", "c"], [1, 1, 1])
    assert first.findings == [] and [f.location for f in second.findings] == ["system"] and third.findings == []


def test_the_conversation_is_the_same_when_only_a_volatile_value_changes():
    one = json.loads(sdk_body(1, system="Current time: 2026-03-02T11:42:10Z. " + SYSTEM))
    two = json.loads(sdk_body(2, system="Current time: 2026-03-02T11:45:00Z. " + SYSTEM))
    other = json.loads(sdk_body(1, system="Another agent. " + SYSTEM))
    key = cache_aligner.conversation_key
    assert key(one, "anthropic-messages") == key(two, "anthropic-messages") != key(other, "anthropic-messages")


# -- through the proxy, against the simulated prompt cache -------------------------------------------

def _send(port: int, body: bytes, path: str = "/v1/messages", headers=HEADERS) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


@pytest.fixture
def cached_upstream():
    mock = MockUpstream([ToolStep("Bash", {"command": "true"})] * 100)
    mock.prompt_cache = PromptCache(count=count_tokens, windows=context_window)
    with mock:
        yield mock


def _proxy(mock: MockUpstream, home: Path, **settings) -> ProxyServer:
    return ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                                compress=True, home=home, **settings))  # started by `with`


def test_a_plain_sdk_app_gets_cache_hits_through_the_proxy_and_not_with_breakpoints_off(cached_upstream, headroom_home):
    log = pytest_verbose_log(400)
    with _proxy(cached_upstream, headroom_home) as proxy:
        for turns in (1, 2, 3):
            assert _send(proxy.port, sdk_body(turns, log=log)) == 200
        proxy.recorder.flush()
        ledger = Ledger(headroom_home / "ledger.sqlite3")
        rows = ledger.recent(3)
    charges = cached_upstream.prompt_cache.charges
    assert charges[0].cache_write > 0 and charges[0].cache_read == 0
    assert charges[2].cache_read == charges[1].total  # the whole previous request read back
    assert all(r.cache_breakpoints == 4 for r in rows)
    sent = cached_upstream.requests[-1].body
    assert sent.count(b'"cache_control"') == 4 and FAILED_TEST.encode() in sent

    cached_upstream.prompt_cache.charges.clear()
    with _proxy(cached_upstream, headroom_home / "off", cache_breakpoints=False) as proxy:
        for turns in (1, 2):
            _send(proxy.port, sdk_body(turns, log=log))
    assert b"cache_control" not in cached_upstream.requests[-1].body
    assert [c.cache_read for c in cached_upstream.prompt_cache.charges] == [0, 0]


def test_volatile_system_prompt_is_reported_in_the_ledger_stats_and_the_log_once(cached_upstream, headroom_home, caplog):
    caplog.set_level(logging.WARNING, logger="headroom")
    with _proxy(cached_upstream, headroom_home) as proxy:
        for turns, stamp in ((1, "11:42:10"), (2, "11:42:31"), (3, "11:43:02")):
            assert _send(proxy.port, sdk_body(turns, system=f"Current time: 2026-03-02T{stamp}Z\n" + SYSTEM)) == 200
        proxy.recorder.flush()
    assert [r.message for r in caplog.records].count(
        next(r.message for r in caplog.records if "volatile prompt prefix" in r.message)) == 1
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "stats", "--json"], capture_output=True, text=True,
                          timeout=60, check=True)
    stats = json.loads(done.stdout)
    [found] = stats["volatile_prefixes"]
    assert found["location"] == "system" and found["kind"] == "timestamp" and found["offset"] == 14
    assert "11:42" not in found["before"] + found["after"]  # where and what kind, never the values
    assert found["before"] == found["after"] == "line 1: 20-character value"
    table = subprocess.run([sys.executable, "-m", "headroom_cli", "stats"], capture_output=True, text=True,
                           timeout=60, check=True, env={**__import__("os").environ, "COLUMNS": "200"}).stdout
    assert "volatile prompt prefix" in table and "timestamp" in table


def test_openai_prefix_and_prompt_cache_key_pass_untouched(cached_upstream, headroom_home):
    log = pytest_verbose_log(300)
    body = {"model": "gpt-4o", "prompt_cache_key": "session-7f3a", "messages": [
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": "why?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                               "function": {"name": "bash", "arguments": "{\"cmd\":\"pytest\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": log}]}
    raw = json.dumps(body, separators=(",", ":")).encode()
    with _proxy(cached_upstream, headroom_home, retrieval_tool=False) as proxy:
        assert _send(proxy.port, raw, "/v1/chat/completions", OPENAI_HEADERS) == 200
    sent = cached_upstream.requests[-1].body
    assert b"cache_control" not in sent
    got = json.loads(sent)
    assert got["prompt_cache_key"] == "session-7f3a" and got["messages"][:3] == body["messages"][:3]
    assert sent.startswith(raw[: raw.index(b'{"role":"tool"')])  # every byte before the tool output as sent


def test_history_sent_differently_is_a_cache_write_warning(cached_upstream, headroom_home):
    """A decision made again (here: frozen decisions wiped between turns, and the user's question
    changed) sends old history differently: the provider writes what it could have read."""
    from headroom_cli.store import Store

    output = (Path(__file__).parents[2] / "shared/corpus/json/sqlite_ci_jobs_500.txt").read_text()
    first = json.loads(sdk_body(1, log=output))
    first["messages"][-1]["content"].append({"type": "text", "text": "Which jobs ran on runner-14?"})
    second = json.loads(json.dumps(first))  # the same history, and one more turn with a new question
    second["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "Bash", "input": {"command": "date"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "Tue Mar  3 10:00:00 UTC"},
                                     {"type": "text", "text": "Which billing-api jobs failed?"}]}]

    with _proxy(cached_upstream, headroom_home) as proxy:
        assert _send(proxy.port, json.dumps(first).encode()) == 200
        Store(headroom_home / "store.sqlite3").clear()
        proxy.addon.pipeline._memo.clear()
        assert _send(proxy.port, json.dumps(second).encode()) == 200
        proxy.recorder.flush()
        ledger = Ledger(headroom_home / "ledger.sqlite3")
        [latest, first] = ledger.recent(2)
    assert first.cache_warning is None
    assert latest.cache_warning and "cache write caused by Headroom" in latest.cache_warning
    assert ledger.totals().cache_warnings == 1
    # The first request's saving sat in what the provider wrote to its cache: worth 1.25× the input price.
    # (Priced per tool output, as the provider tokenizes it; dollars_saved is the whole JSON bodies' difference.)
    removed = sum(before - after for _, before, after in first.engines.values())
    assert first.net_dollars_saved == pytest.approx(removed * 1.25 * 3 / 1e6, rel=0.02)
