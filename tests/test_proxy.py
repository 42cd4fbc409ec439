"""The proxy through real mitmproxy, against the local mock upstream: routing, compression, bad input."""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import socket
import time
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.proxy.retrieval import ANTHROPIC_API, definition
from headroom_cli.proxy.server import ProxyServer, ProxyStartError
from headroom_cli.tokens import count_tokens

from samples import (FAILED_MESSAGE, FAILED_TEST, FATAL_LINE, FATAL_STACK, PYTEST_SUMMARY, TRACEBACK_LINE,
                     app_log_with_fatal, pytest_verbose_log)

ANTHROPIC_HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-secret-key", "anthropic-version": "2023-06-01"}
OPENAI_HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-openai-secret"}


@pytest.fixture
def upstream():
    with MockUpstream() as mock:
        yield mock


def _proxy(upstream_url: str, home: Path, compress: bool = True, retrieval_tool: bool = True) -> ProxyServer:
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream_url, openai_upstream=upstream_url,
                        compress=compress, home=home, retrieval_tool=retrieval_tool)
    return ProxyServer(settings).start()


@pytest.fixture
def proxy(upstream, headroom_home):
    server = _proxy(upstream.url, headroom_home)
    yield server
    server.stop()


def _send(port: int, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def _anthropic_body(tool_output, stream: bool = False, **extra) -> bytes:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "run the tests"}]},
            {"role": "system", "content": "Available agent types: claude"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -v"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_output,
                                          "cache_control": {"type": "ephemeral"}}]},
        ],
        "stream": stream,
        **extra,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _with_retrieve_tool(body: bytes) -> bytes:
    """What the proxy sends for an Anthropic body from _anthropic_body: our tool after the client's."""
    ours = json.dumps(definition(ANTHROPIC_API), ensure_ascii=False, separators=(",", ":")).encode()
    client_tools = b'"input_schema":{"type":"object"}}]'
    assert body.count(client_tools) == 1
    return body.replace(client_tools, client_tools[:-1] + b"," + ours + b"]")


def _received_tool_output(upstream: MockUpstream) -> str:
    return upstream.tool_results(upstream.requests[-1])[0]["text"]


# -- compression ---------------------------------------------------------------------------------

def test_pytest_log_is_90_percent_smaller_and_keeps_the_failure(proxy, upstream):
    log = pytest_verbose_log(1999)
    assert len(log.splitlines()) > 2000
    status, _, _ = _send(proxy.port, "POST", "/v1/messages?beta=true", _anthropic_body(log), ANTHROPIC_HEADERS)
    assert status == 200
    got = _received_tool_output(upstream)
    assert count_tokens(got) <= 0.10 * count_tokens(log), (count_tokens(got), count_tokens(log))
    for needle in (FAILED_TEST, FAILED_MESSAGE, TRACEBACK_LINE, PYTEST_SUMMARY,
                   ">       assert stock(sku) == 7, f'stock for {sku} must be 7 after the refund, got {stock(sku)}'"):
        assert needle in got


def test_app_log_is_90_percent_smaller_and_keeps_the_fatal_stack(proxy, upstream):
    log = app_log_with_fatal(3000)
    status, _, _ = _send(proxy.port, "POST", "/v1/messages", _anthropic_body(log), ANTHROPIC_HEADERS)
    assert status == 200
    got = _received_tool_output(upstream)
    assert count_tokens(got) <= 0.10 * count_tokens(log)
    assert FATAL_LINE in got
    assert "\n".join(FATAL_STACK) in got


def test_only_the_tool_output_changes_and_the_rest_stays_byte_identical(proxy, upstream):
    log = pytest_verbose_log(1999)
    sent = _anthropic_body(log)
    _send(proxy.port, "POST", "/v1/messages?beta=true", sent, ANTHROPIC_HEADERS)
    received = upstream.requests[-1].body
    compressed = _received_tool_output(upstream)
    # Put the original text back where the compressed one is: the bytes must be exactly what was sent,
    # with the retrieve tool the proxy answers itself after the client's tools.
    restored = received.replace(json.dumps(compressed, ensure_ascii=False).encode(), json.dumps(log, ensure_ascii=False).encode())
    assert restored == _with_retrieve_tool(sent)
    assert upstream.requests[-1].query == "beta=true"


def test_same_request_gives_byte_identical_upstream_bodies(proxy, upstream):
    body = _anthropic_body(app_log_with_fatal(2000))
    _send(proxy.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    _send(proxy.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    first, second = upstream.requests[-2].body, upstream.requests[-1].body
    assert first == second and len(first) < len(body)


def test_tool_result_as_a_list_of_text_blocks_is_compressed_and_images_untouched(proxy, upstream):
    log = pytest_verbose_log(1500)
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    content = [{"type": "text", "text": log}, image]
    _send(proxy.port, "POST", "/v1/messages", _anthropic_body(content), ANTHROPIC_HEADERS)
    block = upstream.requests[-1].json()["messages"][3]["content"][0]
    assert block["content"][1] == image
    assert FAILED_TEST in block["content"][0]["text"]
    assert len(block["content"][0]["text"]) < len(log) // 5


def test_openai_chat_tool_message_is_compressed(proxy, upstream):
    log = pytest_verbose_log(1999)
    body = {"model": "gpt-4o", "stream": False, "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "run the tests"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": log}]}
    status, _, reply = _send(proxy.port, "POST", "/v1/chat/completions", json.dumps(body).encode(), OPENAI_HEADERS)
    assert status == 200 and json.loads(reply)["choices"][0]["message"]["content"].startswith("MOCK-FINAL")
    got = upstream.requests[-1].json()
    assert got["messages"][:3] == body["messages"][:3]
    assert FAILED_TEST in got["messages"][3]["content"]
    assert count_tokens(got["messages"][3]["content"]) <= 0.1 * count_tokens(log)


def test_openai_responses_function_call_output_is_compressed(proxy, upstream):
    log = app_log_with_fatal(3000)
    body = {"model": "gpt-5", "stream": True, "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "why did it crash?"}]},
        {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log}]}
    status, headers, reply = _send(proxy.port, "POST", "/v1/responses", json.dumps(body).encode(), OPENAI_HEADERS)
    assert status == 200 and "response.completed" in reply.decode()
    got = upstream.requests[-1].json()["input"][2]["output"]
    assert FATAL_LINE in got and count_tokens(got) <= 0.1 * count_tokens(log)


def test_no_compress_passes_bodies_byte_for_byte(upstream, headroom_home):
    server = _proxy(upstream.url, headroom_home, compress=False)
    try:
        body = _anthropic_body(pytest_verbose_log(1999))
        _send(server.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
        assert upstream.requests[-1].body == body
    finally:
        server.stop()


# -- pass-through ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/messages/count_tokens?beta=true", "/v1/some/unknown/endpoint"])
def test_other_paths_are_forwarded_byte_for_byte(proxy, upstream, path):
    body = _anthropic_body(pytest_verbose_log(1999))
    _send(proxy.port, "POST", path, body, ANTHROPIC_HEADERS)
    assert upstream.requests[-1].body == body
    assert upstream.requests[-1].path == path.partition("?")[0]


def test_a_request_with_nothing_to_compress_is_forwarded_byte_for_byte(upstream, headroom_home):
    body = _anthropic_body("3 passed in 0.01s")
    server = _proxy(upstream.url, headroom_home, retrieval_tool=False)
    try:
        _send(server.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    finally:
        server.stop()
    assert upstream.requests[-1].body == body


def test_with_the_retrieve_tool_offered_only_the_tools_array_grows(proxy, upstream):
    body = _anthropic_body("3 passed in 0.01s")
    _send(proxy.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    assert upstream.requests[-1].body == _with_retrieve_tool(body)


def test_auth_headers_pass_through_unchanged(proxy, upstream):
    _send(proxy.port, "POST", "/v1/messages", _anthropic_body("ok"), ANTHROPIC_HEADERS)
    _send(proxy.port, "POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": []}).encode(), OPENAI_HEADERS)
    anthropic, openai = upstream.requests[-2], upstream.requests[-1]
    assert anthropic.headers["x-api-key"] == "sk-ant-secret-key"
    assert anthropic.headers["anthropic-version"] == "2023-06-01"
    assert openai.headers["authorization"] == "Bearer sk-openai-secret"


def test_secrets_never_reach_the_log(proxy, upstream, headroom_home, caplog):
    caplog.set_level(logging.DEBUG, logger="headroom")
    _send(proxy.port, "POST", "/v1/messages", b"{not json", ANTHROPIC_HEADERS)
    _send(proxy.port, "POST", "/v1/messages", _anthropic_body(pytest_verbose_log(500)), ANTHROPIC_HEADERS)
    assert "sk-ant-secret-key" not in caplog.text
    assert FAILED_TEST not in caplog.text  # no request bodies either


def test_sse_reaches_the_client_event_by_event(upstream, proxy):
    upstream.sse_delay = 0.2
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    start = time.perf_counter()
    conn.request("POST", "/v1/messages", _anthropic_body(pytest_verbose_log(1000), stream=True), ANTHROPIC_HEADERS)
    response = conn.getresponse()
    assert response.getheader("content-type") == "text/event-stream"
    arrivals = [time.perf_counter() - start for line in response if line.startswith(b"event:")]
    conn.close()
    assert len(arrivals) >= 6
    assert arrivals[0] < 0.15, "the first event must not wait for the rest"
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(gap > 0.1 for gap in gaps), gaps  # spaced like the upstream sent them, not buffered


def test_upstream_usage_is_recorded_streamed_and_not(proxy, upstream):
    for stream in (True, False):
        _send(proxy.port, "POST", "/v1/messages", _anthropic_body(pytest_verbose_log(800), stream=stream), ANTHROPIC_HEADERS)
    proxy.recorder.flush()
    rows = proxy.ledger.recent(2, proxy.session)
    assert len(rows) == 2
    for row in rows:
        assert row.usage.input and row.usage.input > 0
        assert row.usage.output and row.usage.output > 0
        assert row.usage.cache_read is not None  # the request carried cache_control
        assert row.tokens_after < row.tokens_before
        assert row.engines and row.model == "claude-sonnet-4-5"
        assert row.dollars_saved > 0


def test_upstream_errors_are_returned_verbatim(proxy, upstream):
    upstream.fail_status = 429
    status, _, body = _send(proxy.port, "POST", "/v1/messages", _anthropic_body("x"), ANTHROPIC_HEADERS)
    assert status == 429
    assert "configured to fail with status 429" in json.loads(body)["error"]["message"]


def test_own_endpoints(proxy, upstream):
    _send(proxy.port, "POST", "/v1/messages", _anthropic_body(pytest_verbose_log(1999)), ANTHROPIC_HEADERS)
    status, _, health = _send(proxy.port, "GET", "/headroom/health", None, {})
    assert status == 200 and json.loads(health)["status"] == "ok"
    assert json.loads(health)["database"] == {"kind": "sqlite", "reachable": True}
    proxy.recorder.flush()  # the stats never wait for a busy recorder (they trail it by `pending_records`)
    status, _, stats = _send(proxy.port, "GET", "/headroom/stats", None, {})
    stats = json.loads(stats)
    assert stats["this_session"]["requests"] == 1
    assert stats["this_session"]["tokens_saved"] > 0
    assert stats["engines"]["testlog"]["parts"] == 1
    assert all(r.path.startswith("/v1/") for r in upstream.requests), "own endpoints never go upstream"


def test_upstream_path_prefix_is_kept(headroom_home, upstream):
    server = _proxy(upstream.url + "/gateway/anthropic", headroom_home)
    try:
        status, _, _ = _send(server.port, "POST", "/v1/messages", _anthropic_body("hi"), ANTHROPIC_HEADERS)
    finally:
        server.stop()
    assert upstream.requests[-1].path == "/gateway/anthropic/v1/messages"
    assert status == 404  # the mock serves no such prefix: proof the prefix went upstream


# -- bad input: forwarded unchanged, one log line, never a crash ------------------------------------

def _one_warning(caplog) -> str:
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("headroom") and r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("body, why", [
    (b'{"model": "claude", "messages": [', "not JSON"),
    (b"\x00\x01 plainly not json \xff", "not JSON"),
    (b'["a", "list"]', "not a JSON object"),
])
def test_bad_bodies_are_forwarded_unchanged(proxy, upstream, caplog, body, why):
    caplog.set_level(logging.INFO, logger="headroom")
    status, _, _ = _send(proxy.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    assert upstream.requests[-1].body == body
    assert status == 400  # the mock's own answer, passed back
    assert why in _one_warning(caplog)


def test_gzip_body_is_forwarded_unchanged(proxy, upstream, caplog):
    caplog.set_level(logging.INFO, logger="headroom")
    body = gzip.compress(_anthropic_body(pytest_verbose_log(1999)))
    _send(proxy.port, "POST", "/v1/messages", body, {**ANTHROPIC_HEADERS, "content-encoding": "gzip"})
    assert upstream.requests[-1].body == body
    assert "content-encoding gzip" in _one_warning(caplog)


def test_50_mb_body_is_forwarded_unchanged(proxy, upstream, caplog):
    caplog.set_level(logging.INFO, logger="headroom")
    body = _anthropic_body("x" * (50 * 1024 * 1024))
    status, _, _ = _send(proxy.port, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    assert status == 200
    assert upstream.requests[-1].body == body
    assert "over the" in _one_warning(caplog)


def test_unknown_path_is_forwarded_unchanged(proxy, upstream, caplog):
    caplog.set_level(logging.DEBUG, logger="headroom")
    status, _, _ = _send(proxy.port, "GET", "/v2/whatever?x=1", None, ANTHROPIC_HEADERS)
    assert status == 404 and upstream.requests[-1].path == "/v2/whatever"
    assert sum("passthrough GET /v2/whatever" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("path, headers, shape", [
    ("/v1/messages", ANTHROPIC_HEADERS, "anthropic"),
    ("/v1/chat/completions", OPENAI_HEADERS, "openai"),
])
def test_upstream_down_gives_a_provider_shaped_502(headroom_home, caplog, path, headers, shape):
    caplog.set_level(logging.INFO, logger="headroom")
    server = _proxy("http://127.0.0.1:9", headroom_home)  # nothing listens on the discard port
    try:
        status, got_headers, body = _send(server.port, "POST", path, b"{}", headers)
    finally:
        server.stop()
    assert status == 502 and got_headers["content-type"] == "application/json"
    error = json.loads(body)
    if shape == "anthropic":
        assert error["type"] == "error" and error["error"]["type"] == "api_error"
    else:
        assert set(error) == {"error"} and error["error"]["type"] == "server_error"
    assert "could not be reached" in error["error"]["message"]
    assert "unreachable" in _one_warning(caplog)


def test_port_in_use_is_one_clear_error(headroom_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(host="127.0.0.1", port=taken.getsockname()[1], anthropic_upstream="http://127.0.0.1:9",
                            openai_upstream="http://127.0.0.1:9", compress=True, home=headroom_home)
        with pytest.raises(ProxyStartError, match="could not listen"):
            ProxyServer(settings).start()
    ProxyServer(Settings(**{**settings.__dict__, "port": 0})).start().stop()  # the failed start left nothing behind


def test_one_proxy_per_process(proxy, headroom_home):
    # mitmproxy serves every port with the newest master: a second one must be refused, not half-work.
    with pytest.raises(ProxyStartError, match="already running"):
        _proxy("http://127.0.0.1:9", headroom_home)
    status, _, _ = _send(proxy.port, "GET", "/headroom/health", None, {})
    assert status == 200


def test_the_proxy_runs_only_the_mitmproxy_addons_it_needs_and_they_still_work(proxy, upstream):
    """Every addon is asked on every hook of every flow: mitmproxy's ~30 defaults are not loaded (no
    replay, saving, maps, scripts, onboarding page), the few a reverse proxy needs are."""
    from headroom_cli.proxy.server import KEPT_ADDONS, NEEDED_ADDONS

    names = {type(addon).__name__ for addon in proxy._master.addons.chain} - {"HeadroomAddon", "_Ready"}
    assert NEEDED_ADDONS | {"Block", "DisableH2C"} <= names <= KEPT_ADDONS
    headers = {**ANTHROPIC_HEADERS, "Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings", "HTTP2-Settings": "AAMAAABkAAQAAP__"}
    status, _, _ = _send(proxy.port, "GET", "/v1/models", None, headers)
    sent = {k.lower() for k in upstream.requests[-1].headers}
    assert status == 200 and "upgrade" not in sent and "http2-settings" not in sent  # DisableH2C at work
