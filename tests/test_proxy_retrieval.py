"""Proxy-answered retrieval: the official anthropic and openai SDKs through `headroom proxy`, against a
mock upstream whose model calls headroom_retrieve on the marker it sees. The SDK gets the final answer;
the upstream gets the original lines in the continuation."""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest

from headroom_cli.config import Settings
from headroom_cli.ledger import Ledger
from headroom_cli.markers import MARKER_RE, original_lines
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream, ToolStep
from headroom_cli.proxy.relay import MAX_ROUNDS
from headroom_cli.proxy.retrieval import TOOL_NAME
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.retrieve import MAX_ANSWER_CHARS
from headroom_cli.tokens import count_tokens

from samples import pytest_verbose_log

RETRIEVE = ToolStep(TOOL_NAME, {"id": "{marker.id}", "lines": "{marker.lines}"})
BASH = ToolStep("Bash", {"command": "pytest -v"})
LOG = pytest_verbose_log(1999)


def _proxy(upstream: MockUpstream, home) -> ProxyServer:
    return ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url,
                                openai_upstream=upstream.url, compress=True, home=home)).start()


@pytest.fixture
def run(headroom_home):
    """Start a mock upstream with a script and the proxy in front of it."""
    started = []

    def start(*script: ToolStep) -> tuple[MockUpstream, ProxyServer]:
        upstream = MockUpstream(list(script)).start()
        proxy = _proxy(upstream, headroom_home)
        started.append((upstream, proxy))
        return upstream, proxy

    yield start
    for upstream, proxy in started:
        proxy.stop()
        upstream.stop()


def _anthropic_messages() -> list[dict]:
    return [
        {"role": "user", "content": "Run the tests and tell me what failed."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": LOG}]},
    ]


def _openai_messages() -> list[dict]:
    return [
        {"role": "user", "content": "Run the tests and tell me what failed."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "pytest -v"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": LOG},
    ]


BASH_ANTHROPIC = [{"name": "Bash", "description": "Run a shell command.",
                   "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
BASH_OPENAI = [{"type": "function", "function": {"name": "Bash", "description": "Run a shell command.",
                                                 "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]


def _check_continuation(upstream: MockUpstream) -> None:
    """The first request carried a marker; the second carried exactly the lines it hid."""
    assert len(upstream.requests) == 2
    first, second = (upstream.tool_results(r) for r in upstream.requests)
    marker = MARKER_RE.search(first[-1]["text"])
    assert marker is not None and marker.group("a")
    a, b = int(marker.group("a")), int(marker.group("b"))
    expected, got = "".join(original_lines(LOG)[a - 1:b]), second[-1]["text"]
    if len(expected) > MAX_ANSWER_CHARS:  # the first page, and a note saying which lines come next
        got, _, note = got.partition("[headroom: answer cut")
        assert f'lines "{a + got.count(chr(10))}-{b}"' in note and len(got) > MAX_ANSWER_CHARS - 200
        expected = expected[:len(got)]
    assert got == expected
    assert second[-2]["text"] == first[-1]["text"]  # the compressed history itself is unchanged
    body = upstream.requests[0].json()
    assert [t.get("name") or t.get("function", {}).get("name") for t in body["tools"]][-1] == TOOL_NAME


def _ledger_row(home, proxy: ProxyServer | None = None):
    """The latest ledger row. A streaming client may finish reading before the proxy has recorded the
    exchange (mitmproxy's response hook runs after the last byte went out): wait for it."""
    ledger = Ledger(home / "ledger.sqlite3")
    try:
        deadline = time.monotonic() + 10
        while proxy is not None and not ledger.recent(1) and time.monotonic() < deadline:
            time.sleep(0.02)
            proxy.recorder.flush()
        return ledger.recent(1)[0], ledger.retrieval_count()
    finally:
        ledger.close()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_anthropic_sdk_gets_the_final_answer_and_the_upstream_the_original(run, stream, headroom_home):
    upstream, proxy = run(BASH, RETRIEVE)
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    kwargs = dict(model="claude-sonnet-4-5", max_tokens=1024, tools=BASH_ANTHROPIC, messages=_anthropic_messages())
    if stream:
        with client.messages.stream(**kwargs) as events:
            kinds = [event.type for event in events]
            message = events.get_final_message()
        assert kinds.count("message_start") == 1 and kinds[-1] == "message_stop"
    else:
        message = client.messages.create(**kwargs)
    assert message.stop_reason == "end_turn"
    assert all(block.type == "text" for block in message.content)  # the client never sees our tool call
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    assert [b.type for b in message.content] == ["text", "text"]  # "Next step: …" and the answer, indices in order
    _check_continuation(upstream)
    # Only a streamed reply needs the relay's second HTTP hop; a whole one is answered in the addon.
    assert proxy.addon.relay.served == (1 if stream else 0)
    proxy.recorder.flush()
    row, retrievals = _ledger_row(headroom_home, proxy)
    assert row.retrieval_rounds == 1 and row.stream_rebuilt is stream and retrievals == 1
    # Both rounds' input is in the ledger, summed (the mock charges a quarter of the body's bytes).
    charged = row.usage.input + (row.usage.cache_read or 0) + (row.usage.cache_write or 0)
    assert charged == sum(len(r.body) // 4 for r in upstream.requests)


def test_a_whole_reply_that_does_not_call_the_tool_never_goes_through_the_relay(run):
    upstream, proxy = run()  # the model answers at once
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, tools=BASH_ANTHROPIC,
                                     messages=_anthropic_messages())
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    body = upstream.requests[0].json()
    assert body["tools"][-1]["name"] == TOOL_NAME  # offered: a marker is in the request
    assert len(upstream.requests) == 1 and proxy.addon.relay.served == 0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_openai_sdk_gets_the_final_answer_and_the_upstream_the_original(run, stream, headroom_home):
    upstream, proxy = run(BASH, RETRIEVE)
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-test", max_retries=0)
    kwargs = dict(model="gpt-4o", tools=BASH_OPENAI, messages=_openai_messages())
    if stream:
        chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finishes == ["stop"]
    else:
        reply = client.chat.completions.create(**kwargs)
        assert reply.choices[0].finish_reason == "stop" and not reply.choices[0].message.tool_calls
        text = reply.choices[0].message.content
    assert FINAL_PREFIX in text
    _check_continuation(upstream)
    # Only a streamed reply needs the relay's second HTTP hop; a whole one is answered in the addon.
    assert proxy.addon.relay.served == (1 if stream else 0)
    proxy.recorder.flush()
    row, retrievals = _ledger_row(headroom_home, proxy)
    assert row.retrieval_rounds == 1 and row.stream_rebuilt is stream and retrievals == 1


def test_an_unknown_id_gets_a_tool_error_and_the_turn_still_ends(run):
    upstream, proxy = run(BASH, ToolStep(TOOL_NAME, {"id": "hr_0123456789abcdef"}))
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH_ANTHROPIC,
                                      messages=_anthropic_messages())
    assert message.content[-1].text.startswith(FINAL_PREFIX)
    body = upstream.requests[-1].json()
    result = body["messages"][-1]["content"][0]
    assert result["is_error"] is True and "No stored original for hr_0123456789abcdef" in result["content"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_model_that_keeps_retrieving_gets_a_clear_error_after_a_few_rounds(run, stream):
    upstream, proxy = run(BASH, *[RETRIEVE] * (MAX_ROUNDS + 3))
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    kwargs = dict(model="claude-sonnet-4-5", max_tokens=100, tools=BASH_ANTHROPIC, messages=_anthropic_messages())
    with pytest.raises(anthropic.APIError, match="more than 3 times"):
        if stream:
            with client.messages.stream(**kwargs) as events:
                for _ in events:
                    pass
        else:
            client.messages.create(**kwargs)
    assert len(upstream.requests) == MAX_ROUNDS + 1


def test_a_client_with_the_mcp_tool_answers_it_itself(run):
    upstream, proxy = run(BASH, ToolStep("mcp__headroom__headroom_retrieve", {"id": "{marker.id}"}))
    tools = BASH_ANTHROPIC + [{"name": "mcp__headroom__headroom_retrieve", "description": "MCP", "input_schema": {"type": "object"}}]
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=tools, messages=_anthropic_messages())
    assert message.stop_reason == "tool_use" and message.content[-1].name == "mcp__headroom__headroom_retrieve"
    assert len(upstream.requests) == 1
    assert [t["name"] for t in upstream.requests[0].json()["tools"]] == ["Bash", "mcp__headroom__headroom_retrieve"]


def test_the_same_tools_array_is_sent_on_every_turn(run):
    upstream, proxy = run()
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    messages = _anthropic_messages()[:1]
    for turn in range(3):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH_ANTHROPIC, messages=messages)
        messages = messages + [{"role": "assistant", "content": "ok"}, {"role": "user", "content": f"again {turn}"}]
    tools = [json.dumps(r.json()["tools"]) for r in upstream.requests]
    assert len(set(tools)) == 1 and TOOL_NAME in tools[0]


def test_the_tool_costs_each_request_what_it_adds_and_at_most_300_tokens(run, headroom_home):
    """Issue 14: the tool rides on every request of a session (under `wrap claude` it is the only thing
    wrap adds), so it must stay small; and the ledger charges it as spliced (compact JSON), not as a
    pretty-printed copy that counts some 20% more tokens than were sent."""
    from headroom_cli.prompt import prompt_tokens
    from headroom_cli.proxy.retrieval import definition_text

    upstream, proxy = run()
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH_ANTHROPIC,
                           messages=_anthropic_messages()[:1])
    sent, tool = upstream.requests[0].body.decode(), definition_text(ANTHROPIC_API)
    assert "," + tool + "]" in sent  # spliced after the client's last tool, byte for byte
    added = count_tokens(sent) - count_tokens(sent.replace("," + tool, "", 1))
    assert 0 < count_tokens(definition_text(ANTHROPIC_API)) <= 300
    assert count_tokens(definition_text(OPENAI_CHAT_API)) <= 300
    assert abs(added - count_tokens(definition_text(ANTHROPIC_API))) <= 2  # a token may merge at the splice
    row, _ = _ledger_row(headroom_home, proxy)
    # what went upstream, as the model reads it (the tool as spliced)
    assert row.tokens_after == prompt_tokens(sent, count_tokens, "anthropic")
    without = prompt_tokens(sent.replace("," + tool, "", 1), count_tokens, "anthropic")
    assert abs(row.tokens_after - without - count_tokens(tool)) <= 3  # the prompt renders it with sorted keys


# -- the pieces, on their own ---------------------------------------------------------------------

from headroom_cli.proxy.retrieval import ANTHROPIC_API, OPENAI_CHAT_API, definition, offer  # noqa: E402
from headroom_cli.proxy.rounds import SseParser, StreamRound  # noqa: E402


def _offered(body: dict, api: str = ANTHROPIC_API, **dumps) -> dict | None:
    raw = json.dumps(body, **dumps).encode()
    new = offer(raw, body, api)
    return None if new is None else json.loads(new)


def test_the_tool_is_offered_by_one_splice_and_only_when_it_helps():
    tools = [{"name": "Bash", "input_schema": {"type": "object"}}]
    raw = json.dumps({"model": "m", "tools": tools, "messages": []}, indent=2).encode()
    new = offer(raw, json.loads(raw), ANTHROPIC_API)
    head, _, tail = raw.rpartition(b"}\n  ]")
    assert new.startswith(head) and new.endswith(b"}\n  ]" + tail)  # everything else byte for byte
    assert json.loads(new)["tools"] == tools + [definition(ANTHROPIC_API)]
    # No tools: offered once a marker is in the conversation, not before.
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert _offered(plain) is None
    marked = {"model": "m", "messages": [{"role": "user", "content": "[headroom: 5 lines omitted · retrieve hr_0123456789abcdef]"}]}
    assert _offered(marked)["tools"] == [definition(ANTHROPIC_API)]
    # The client has the MCP tool, or forces a tool choice: never.
    assert _offered({"tools": [{"name": "mcp__headroom__headroom_retrieve"}], "messages": []}) is None
    assert _offered({"tools": tools, "tool_choice": {"type": "any"}, "messages": []}) is None
    assert _offered({"tools": [], "messages": []}) is None
    openai_tools = [{"type": "function", "function": {"name": "Bash", "parameters": {}}}]
    assert _offered({"tools": openai_tools, "messages": []}, OPENAI_CHAT_API)["tools"][-1] == definition(OPENAI_CHAT_API)
    assert _offered({"tools": openai_tools, "tool_choice": "required", "messages": []}, OPENAI_CHAT_API) is None
    assert _offered({"tools": tools, "messages": []}, "openai-responses") is None
    # Non-ASCII escaped or not, the splice proves itself.
    assert _offered({"tools": tools, "messages": [{"role": "user", "content": "héllo ✓"}]}, ensure_ascii=True) is not None


def _sse(*events: tuple[str | None, dict | str]) -> bytes:
    out = b""
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out += (f"event: {name}\n" if name else "").encode() + f"data: {payload}\n\n".encode()
    return out


def _feed(round_: StreamRound, stream: bytes, chunk: int = 7) -> bytes:
    parser, shown = SseParser(), b""
    for at in range(0, len(stream), chunk):  # arbitrary cuts, as a network gives them
        for event in parser.feed(stream[at:at + chunk]):
            shown += b"".join(round_.feed(event))
    return shown


def _block(index: int, block: dict, *deltas: dict) -> list[tuple[str, dict]]:
    return ([("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})]
            + [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
            + [("content_block_stop", {"type": "content_block_stop", "index": index})])


def test_an_anthropic_stream_that_also_calls_a_client_tool_reaches_the_client_without_our_call():
    stream = _sse(("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 10}}}),
                  *_block(0, {"type": "tool_use", "id": "t0", "name": TOOL_NAME, "input": {}},
                          {"type": "input_json_delta", "partial_json": '{"id": "hr_0123456789abcdef"}'}),
                  *_block(1, {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}},
                          {"type": "input_json_delta", "partial_json": '{"command": "ls"}'}),
                  ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
                  ("message_stop", {"type": "message_stop"}))
    round_ = StreamRound(ANTHROPIC_API, first=True, offset=0)
    shown = _feed(round_, stream)
    assert round_.theirs and [c.arguments for c in round_.calls()] == [{"id": "hr_0123456789abcdef"}]
    shown += b"".join(round_.held(ending=True))
    events = [json.loads(e.data) for e in SseParser().feed(shown)]
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "content_block_delta",
                                           "content_block_stop", "message_delta", "message_stop"]
    assert events[1]["index"] == 0 and events[1]["content_block"]["name"] == "Bash"  # moved up to index 0
    assert TOOL_NAME.encode() not in shown


def test_an_openai_stream_keeps_its_text_and_holds_only_after_our_call_starts():
    def chunk(delta: dict, finish=None) -> dict:
        return {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    stream = _sse((None, chunk({"role": "assistant", "content": "Let me look."})),
                  (None, chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                                "function": {"name": TOOL_NAME, "arguments": ""}}]})),
                  (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"id": "hr_0123456789abcdef",'}}]})),
                  (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "lines": "3-4"}'}}]})),
                  (None, chunk({}, "tool_calls")), (None, "[DONE]"))
    round_ = StreamRound(OPENAI_CHAT_API, first=True, offset=0)
    shown = _feed(round_, stream, chunk=11)
    assert b"Let me look." in shown and TOOL_NAME.encode() not in shown and b"[DONE]" not in shown
    assert not round_.theirs and json.loads(round_.calls()[0].arguments) == {"id": "hr_0123456789abcdef", "lines": "3-4"}
    assert round_.held(ending=False) == []  # the finish and [DONE] go when the turn goes on
    message = round_.assistant_message()
    assert message["content"] == "Let me look." and message["tool_calls"][0]["id"] == "call_a"


def test_stats_and_the_dashboard_show_retrievals_and_count_them_against_the_savings(run, headroom_home):
    from typer.testing import CliRunner

    from headroom_cli.cli import app
    from headroom_cli.prompt import prompt_tokens
    from headroom_cli.ui.dashboard import frame
    from rich.console import Console

    upstream, proxy = run(BASH, RETRIEVE)
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=BASH_ANTHROPIC, messages=_anthropic_messages())
    proxy.recorder.flush()
    row, _ = _ledger_row(headroom_home, proxy)
    # The continuation re-sent the compressed request plus the lines read back: that cost is counted,
    # so "after" is both requests as they went upstream.
    sent = [prompt_tokens(r.body.decode(), count_tokens, "anthropic") for r in upstream.requests[:2]]
    assert sent[1] > sent[0]
    assert row.tokens_after == sum(sent)
    result = CliRunner().invoke(app, ["stats", "--json"])
    detail = json.loads(result.stdout)["retrievals"]["session_detail"]
    assert detail["retrievals"] == 1 and detail["proxy_rounds"] == 1 and detail["bytes_read_back"] > 0
    console = Console(record=True, width=160)
    ledger = Ledger(headroom_home / "ledger.sqlite3")
    try:
        console.print(frame(ledger, None))
    finally:
        ledger.close()
    screen = console.export_text()
    assert "retrievals: 1" in screen and "1 answered by the proxy" in screen and "1 retrieval round(s)" in screen


def test_a_streamed_request_reaches_the_relay_without_its_body_and_the_upstream_with_all_of_it(run, monkeypatch):
    """The addon hands the body over in the relay's ticket: mitmproxy forwards an empty one to the relay
    (one ~100 KB copy and parse fewer per request), and the upstream still gets every byte."""
    from headroom_cli.proxy import relay as relay_module

    received = []
    real = relay_module._read_request

    async def _read_request(conn, reader):
        request, body = await real(conn, reader)
        if request is not None:
            received.append(body)
        return request, body

    monkeypatch.setattr(relay_module, "_read_request", _read_request)
    upstream, proxy = run(BASH)
    client = anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1024, tools=BASH_ANTHROPIC,
                                messages=_anthropic_messages()) as events:
        message = events.get_final_message()
    assert message.content and received == [b""] and proxy.addon.relay.served == 1
    sent = upstream.requests[-1].json()
    assert sent["tools"][-1]["name"] == TOOL_NAME and MARKER_RE.search(json.dumps(sent["messages"], ensure_ascii=False))
    assert not any(ticket.body for ticket in proxy.addon.relay._tickets.values())
