"""The mock Anthropic/OpenAI upstream: scripted agent loop, SSE shapes and timing, errors, keep-alive."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream, RecordedRequest, ToolStep

REPO = Path(__file__).resolve().parents[1]

FAILED_LINE = "tests/test_module_04.py::test_case_0400 FAILED - AssertionError: expected 42, got 41"
PYTEST_LOG = "\n".join(
    ["============================= test session starts =============================="]
    + [f"tests/test_module_04.py::test_case_{i:04d} PASSED" for i in range(400)]
    + [FAILED_LINE]
    + ["=========================== 1 failed, 400 passed in 12.34s ==========================="]
)
SCRIPT = [
    ToolStep("Bash", {"command": "python3 gen.py", "description": "Run the tests"}),
    ToolStep("Read", {"file_path": "/abs/log.txt"}),
]


# ------------------------------------------------------------------------------------------- helpers


def _conn(mock: MockUpstream) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)


def post(mock: MockUpstream, path: str, body, headers: dict | None = None, conn=None):
    """POST and read the whole reply: (status, headers, bytes)."""
    own = conn is None
    conn = conn or _conn(mock)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    raw = resp.read()
    if own:
        conn.close()
    return resp.status, resp, raw


def read_sse(resp: http.client.HTTPResponse) -> list[tuple[float, str | None, str]]:
    """Events as (arrival time, event name, data), read line by line as they arrive."""
    events, name, data = [], None, []
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line == "":
            if data or name:
                events.append((time.monotonic(), name, "\n".join(data)))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return events


def post_sse(mock: MockUpstream, path: str, body: dict, headers: dict | None = None, conn=None):
    own = conn is None
    conn = conn or _conn(mock)
    conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    t0 = time.monotonic()
    events = read_sse(resp)
    if own:
        conn.close()
    return resp, t0, events


def anthropic_body(messages: list, stream: bool = False, **extra) -> dict:
    return {"model": "claude-opus-4-8", "max_tokens": 64000, "messages": messages, "stream": stream,
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}], **extra}


def first_user() -> list:
    return [{"role": "user", "content": [{"type": "text", "text": "run the tests and tell me what failed"}]},
            {"role": "system", "content": "Available agent types for the Agent tool: ..."}]


def assistant_from(message: dict) -> dict:
    return {"role": "assistant", "content": message["content"]}


@pytest.fixture
def mock():
    with MockUpstream(list(SCRIPT)) as m:
        yield m


# --------------------------------------------------------------------------------- Anthropic, scripted


def test_scripted_loop_non_stream(mock: MockUpstream) -> None:
    messages = first_user()
    status, resp, raw = post(mock, "/v1/messages?beta=true", anthropic_body(messages))
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    first = json.loads(raw)
    assert first["stop_reason"] == "tool_use" and first["model"] == "claude-opus-4-8"
    assert first["content"][0]["type"] == "text"
    tool = first["content"][1]
    assert tool == {"type": "tool_use", "id": "toolu_mock_000001", "name": "Bash", "input": SCRIPT[0].input}
    assert first["usage"]["output_tokens"] >= 1 and first["usage"]["input_tokens"] > 0

    messages += [assistant_from(first), {"role": "user", "content": [
        {"tool_use_id": "toolu_mock_000001", "type": "tool_result", "content": PYTEST_LOG, "is_error": False}]}]
    status, _, raw = post(mock, "/v1/messages?beta=true", anthropic_body(messages))
    second = json.loads(raw)
    assert status == 200 and second["stop_reason"] == "tool_use"
    assert second["content"][1]["name"] == "Read" and second["content"][1]["id"] == "toolu_mock_000002"
    assert second["content"][1]["input"] == {"file_path": "/abs/log.txt"}

    read_text = "1\timport os\n2\t[headroom: 40 lines omitted · retrieve hr_0123456789abcdef --lines 3-42]\n43\tFATAL: boom"
    messages += [assistant_from(second), {"role": "user", "content": [
        {"tool_use_id": "toolu_mock_000002", "type": "tool_result",
         "content": [{"type": "text", "text": read_text}], "cache_control": {"type": "ephemeral"}}]}]
    status, _, raw = post(mock, "/v1/messages?beta=true", anthropic_body(messages))
    final = json.loads(raw)
    assert status == 200 and final["stop_reason"] == "end_turn"
    text = final["content"][0]["text"]
    first_line = text.splitlines()[0]
    assert first_line.startswith(FINAL_PREFIX)
    assert "toolu_mock_000001" in first_line and FAILED_LINE in first_line
    assert f"{len(PYTEST_LOG)} chars / {len(PYTEST_LOG.splitlines())} lines" in first_line
    assert "toolu_mock_000002" in first_line and "43\tFATAL: boom" in first_line
    assert "headroom marker: no" in first_line.split(";")[0] and "headroom marker: yes" in first_line.split(";")[1]

    assert len(mock.requests) == 3 and all(r.path == "/v1/messages" and r.query == "beta=true" for r in mock.requests)
    assert mock.tool_results(mock.requests[-1]) == [
        {"tool_use_id": "toolu_mock_000001", "text": PYTEST_LOG},
        {"tool_use_id": "toolu_mock_000002", "text": read_text},
    ]
    # cache_control in the request: a deterministic share is reported as cache reads
    assert final["usage"]["cache_read_input_tokens"] > 0
    assert json.loads(post(mock, "/v1/messages", anthropic_body(first_user()))[2])["usage"]["cache_read_input_tokens"] == 0
    assert mock.errors == []


def test_no_script_answers_final_at_once() -> None:
    with MockUpstream() as m:
        _, _, raw = post(m, "/v1/messages", anthropic_body(first_user()))
    reply = json.loads(raw)
    assert reply["stop_reason"] == "end_turn" and reply["content"][0]["text"].startswith(FINAL_PREFIX)


def test_title_request_gets_structured_text_not_a_tool_call(mock: MockUpstream) -> None:
    body = anthropic_body(first_user(), tools=[], output_config={"format": {"type": "json_schema", "schema": {
        "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}})
    reply = json.loads(post(mock, "/v1/messages", body)[2])
    assert reply["stop_reason"] == "end_turn"
    assert isinstance(json.loads(reply["content"][0]["text"])["title"], str)


def test_streamed_anthropic_sequence(mock: MockUpstream) -> None:
    resp, _, events = post_sse(mock, "/v1/messages?beta=true", anthropic_body(first_user(), stream=True))
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Transfer-Encoding") == "chunked" and resp.getheader("Content-Length") is None
    names = [n for _, n, _ in events]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    payloads = [json.loads(d) for _, _, d in events]
    assert all(p["type"] == n for p, n in zip(payloads, names))
    start = payloads[0]["message"]
    assert start["model"] == "claude-opus-4-8" and start["id"].startswith("msg_")
    assert set(start["usage"]) == {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}
    assert start["usage"]["output_tokens"] == 1

    # rebuild the blocks the way a client does
    blocks: dict[int, dict] = {}
    for p in payloads:
        if p["type"] == "content_block_start":
            blocks[p["index"]] = dict(p["content_block"], _json="")
        elif p["type"] == "content_block_delta":
            d = p["delta"]
            if d["type"] == "text_delta":
                blocks[p["index"]]["text"] += d["text"]
            else:
                assert d["type"] == "input_json_delta"
                blocks[p["index"]]["_json"] += d["partial_json"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    assert blocks[0]["type"] == "text" and blocks[0]["text"]
    assert blocks[1]["type"] == "tool_use" and blocks[1]["id"] == "toolu_mock_000001"
    assert json.loads(blocks[1]["_json"]) == SCRIPT[0].input
    delta = payloads[-2]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] >= 1

    # the final turn, streamed
    messages = first_user() + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_mock_000001", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_mock_000001", "content": PYTEST_LOG}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_mock_000002", "name": "Read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_mock_000002", "content": "short"}]},
    ]
    _, _, events = post_sse(mock, "/v1/messages?beta=true", anthropic_body(messages, stream=True))
    payloads = [json.loads(d) for _, _, d in events]
    text = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta")
    assert text.startswith(FINAL_PREFIX) and FAILED_LINE in text and "toolu_mock_000002: 5 chars / 1 lines" in text
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"


def test_sse_events_are_spaced_by_the_delay() -> None:
    delay = 0.12
    with MockUpstream(sse_delay=delay) as m:
        _, t0, events = post_sse(m, "/v1/messages", anthropic_body(first_user(), stream=True))
        times = [t for t, _, _ in events]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(events) >= 6
        assert times[0] - t0 < delay * 0.8  # the first event is not held back
        assert min(gaps) > delay * 0.6, gaps  # each later event arrives on its own, about `delay` later
        assert times[-1] - times[0] >= delay * (len(events) - 1) * 0.9

        # the header overrides the delay per request
        _, t0, events = post_sse(m, "/v1/messages", anthropic_body(first_user(), stream=True), {"x-mock-sse-delay": "0"})
        assert events[-1][0] - t0 < delay


def test_count_tokens(mock: MockUpstream) -> None:
    body = json.dumps({"model": "claude-opus-4-8", "messages": [{"role": "user", "content": "x" * 4000}], "tools": []}).encode()
    status, _, raw = post(mock, "/v1/messages/count_tokens?beta=true", body)
    assert status == 200 and json.loads(raw) == {"input_tokens": len(body) // 4}
    assert mock.requests[-1].path == "/v1/messages/count_tokens" and mock.requests[-1].body == body


# ---------------------------------------------------------------------------------------------- OpenAI


def chat_body(stream: bool, **extra) -> dict:
    return {"model": "gpt-4o", "stream": stream, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "I ran this command:\n\npytest\n\nAnd got this output:\n\n" + PYTEST_LOG},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "FATAL: disk full\nbye"}]},
        {"role": "user", "content": "short question"},
    ], **extra}


def test_chat_completions_non_stream(mock: MockUpstream) -> None:
    status, resp, raw = post(mock, "/v1/chat/completions", chat_body(False))
    reply = json.loads(raw)
    assert status == 200 and reply["object"] == "chat.completion" and reply["model"] == "gpt-4o"
    text = reply["choices"][0]["message"]["content"]
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert text.startswith(FINAL_PREFIX) and "call_1" in text and "FATAL: disk full" in text and FAILED_LINE in text
    assert "short question" not in text and text.count("chars /") == 2
    usage = reply["usage"]
    assert usage["prompt_tokens"] == len(mock.requests[-1].body) // 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert mock.tool_results(mock.requests[-1]) == [{"tool_use_id": "call_1", "text": "FATAL: disk full\nbye"}]


def test_chat_completions_stream_with_usage(mock: MockUpstream) -> None:
    resp, _, events = post_sse(mock, "/v1/chat/completions", chat_body(True, stream_options={"include_usage": True}))
    assert resp.getheader("Content-Type") == "text/event-stream"
    datas = [d for _, _, d in events]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith(FINAL_PREFIX) and "call_1" in text
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0

    # without include_usage there is no usage chunk
    _, _, events = post_sse(mock, "/v1/chat/completions", chat_body(True))
    chunks = [json.loads(d) for _, _, d in events[:-1]]
    assert all(c["choices"] for c in chunks) and not any(c.get("usage") for c in chunks)


def responses_body(stream: bool) -> dict:
    return {"model": "gpt-5", "stream": stream, "instructions": "", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run the tests"}]},
        {"type": "function_call", "name": "exec_command", "arguments": "{}", "call_id": "call_mock_11"},
        {"type": "function_call_output", "call_id": "call_mock_11", "output": "Process exited with code 1\n" + PYTEST_LOG},
    ]}


def test_responses_stream(mock: MockUpstream) -> None:
    resp, _, events = post_sse(mock, "/v1/responses", responses_body(True))
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    names = [n for _, n, _ in events]
    deltas = names.count("response.output_text.delta")
    assert deltas >= 1
    assert names == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added"] + ["response.output_text.delta"] * deltas + [
                     "response.output_text.done", "response.content_part.done", "response.output_item.done",
                     "response.completed"]
    payloads = [json.loads(d) for _, _, d in events]
    assert [p["type"] for p in payloads] == names
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    assert text == payloads[names.index("response.output_text.done")]["text"]
    assert text.startswith(FINAL_PREFIX) and "call_mock_11" in text and FAILED_LINE in text
    done = payloads[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == text
    usage = done["usage"]
    assert usage["input_tokens"] == len(mock.requests[-1].body) // 4 and usage["output_tokens"] >= 1
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert mock.tool_results(mock.requests[-1])[0]["tool_use_id"] == "call_mock_11"


def test_responses_non_stream(mock: MockUpstream) -> None:
    status, _, raw = post(mock, "/v1/responses", responses_body(False))
    reply = json.loads(raw)
    assert status == 200 and reply["object"] == "response" and reply["status"] == "completed"
    assert reply["output"][0]["content"][0]["text"].startswith(FINAL_PREFIX)
    assert reply["usage"]["total_tokens"] > 0


# ---------------------------------------------------------------------------------- errors, odd input


def test_fail_status_is_provider_shaped() -> None:
    with MockUpstream(list(SCRIPT), fail_status=529) as m:
        status, _, raw = post(m, "/v1/messages?beta=true", anthropic_body(first_user(), stream=True))
        assert status == 529
        err = json.loads(raw)
        assert err["type"] == "error" and err["error"]["type"] == "overloaded_error" and err["error"]["message"]
        for path in ("/v1/chat/completions", "/v1/responses"):
            status, _, raw = post(m, path, chat_body(True))
            assert status == 529
            err = json.loads(raw)["error"]
            assert set(err) >= {"message", "type", "code"} and "type" not in json.loads(raw)
        assert len(m.requests) == 3  # recorded all the same
        m.fail_status = None
        assert post(m, "/v1/messages", anthropic_body(first_user()))[0] == 200
        # and per request by header
        status, _, raw = post(m, "/v1/chat/completions", chat_body(False), {"x-mock-fail-status": "429"})
        assert status == 429 and json.loads(raw)["error"]["type"] == "rate_limit_exceeded"


def test_unknown_path_is_404_anthropic_shaped(mock: MockUpstream) -> None:
    status, _, raw = post(mock, "/v1/nope", {"a": 1})
    assert status == 404
    err = json.loads(raw)
    assert err["type"] == "error" and err["error"]["type"] == "not_found_error"
    conn = _conn(mock)
    conn.request("GET", "/v1/models")
    resp = conn.getresponse()
    models = json.loads(resp.read())
    assert resp.status == 200 and models["data"] and all("id" in d for d in models["data"])
    conn.request("GET", "/v1/messages")
    resp = conn.getresponse()
    assert resp.status == 404 and json.loads(resp.read())["error"]["type"] == "not_found_error"
    conn.close()
    assert [r.method for r in mock.requests] == ["POST", "GET", "GET"]


def test_non_json_body_is_400_and_recorded(mock: MockUpstream) -> None:
    conn = _conn(mock)
    status, _, raw = post(mock, "/v1/messages?beta=true", b"\xff\x00 this is not json", conn=conn)
    assert status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
    assert mock.requests[-1].body == b"\xff\x00 this is not json" and mock.requests[-1].json() is None
    status, _, raw = post(mock, "/v1/chat/completions", b"[1, 2]", conn=conn)  # JSON, but not an object
    assert status == 400 and "message" in json.loads(raw)["error"]
    # the connection is still usable afterwards
    assert post(mock, "/v1/messages", anthropic_body(first_user()), conn=conn)[0] == 200
    conn.close()
    assert len(mock.requests) == 3


def test_gzip_body_is_recorded_raw_and_understood(mock: MockUpstream) -> None:
    plain = json.dumps(anthropic_body(first_user())).encode()
    packed = gzip.compress(plain)
    status, _, raw = post(mock, "/v1/messages", packed, {"Content-Encoding": "gzip"})
    assert status == 200 and json.loads(raw)["content"][1]["type"] == "tool_use"
    rec = mock.requests[-1]
    assert rec.body == packed and rec.json()["model"] == "claude-opus-4-8"
    assert rec.headers["content-encoding"] == "gzip"  # lookups ignore case
    status, _, _ = post(mock, "/v1/messages", b"\x1f\x8b garbage", {"Content-Encoding": "gzip"})
    assert status == 400


def test_chunked_request_body(mock: MockUpstream) -> None:
    plain = json.dumps(anthropic_body(first_user())).encode()
    conn = _conn(mock)
    conn.request("POST", "/v1/messages", body=iter([plain[:100], plain[100:]]), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["stop_reason"] == "tool_use"
    assert mock.requests[-1].body == plain
    # and the connection carries on
    assert post(mock, "/v1/messages/count_tokens", {"messages": []}, conn=conn)[0] == 200
    conn.close()


def test_keep_alive_two_requests_one_connection(mock: MockUpstream) -> None:
    conn = _conn(mock)
    resp, _, events = post_sse(mock, "/v1/messages?beta=true", anthropic_body(first_user(), stream=True), conn=conn)
    sock = conn.sock
    assert resp.status == 200 and events[-1][1] == "message_stop" and sock is not None
    status, resp, raw = post(mock, "/v1/chat/completions", chat_body(False), conn=conn)
    assert status == 200 and json.loads(raw)["object"] == "chat.completion"
    assert conn.sock is sock  # http.client reconnects silently otherwise
    assert resp.getheader("Content-Length") == str(len(raw))
    conn.close()


def test_fast_on_keep_alive_no_delayed_ack_stall(mock: MockUpstream) -> None:
    body = anthropic_body([{"role": "user", "content": "x" * 160_000}])
    conn = _conn(mock)
    times = []
    for i in range(30):
        t = time.perf_counter()
        status, _, _ = post(mock, "/v1/messages", body, conn=conn)
        times.append(time.perf_counter() - t)
        assert status == 200
    conn.close()
    # a Nagle/delayed-ACK stall costs ~40 ms per request; the work itself takes a few ms
    assert statistics.median(times) < 0.03, times


def test_thread_safe_under_concurrency(mock: MockUpstream) -> None:
    failures: list = []

    def worker(i: int) -> None:
        try:
            conn = _conn(mock)
            for _ in range(5):
                _, _, events = post_sse(mock, "/v1/messages", anthropic_body(first_user(), stream=True), conn=conn)
                assert events[-1][1] == "message_stop"
            conn.close()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures and len(mock.requests) == 40
    assert isinstance(mock.requests[0], RecordedRequest)


def test_stop_closes_port_and_kept_alive_connections() -> None:
    m = MockUpstream().start()
    conn = _conn(m)
    assert post(m, "/v1/messages/count_tokens", {"messages": []}, conn=conn)[0] == 200
    m.stop()
    with pytest.raises(OSError):
        post(m, "/v1/messages/count_tokens", {"messages": []}, conn=conn)  # the kept-alive socket was shut
    with pytest.raises(OSError):
        post(m, "/v1/messages/count_tokens", {"messages": []})  # and nothing listens any more


def test_cli_writes_port_file_and_serves(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "headroom_cli.mock_upstream", "--port", "0",
                             "--port-file", str(port_file), "--sse-delay", "0"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.02)
        port = int(port_file.read_text())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/messages", body=json.dumps(anthropic_body(first_user())),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["content"][0]["text"].startswith(FINAL_PREFIX)
        conn.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
