"""POST /headroom/v1/compress on a real `headroom proxy` process (loopback): the bytes compress() gives
for the same request, in all three wire formats, with its figures; one JSON error for what it cannot
take; behind the same boundary (token, Origin) as the other /headroom/* endpoints."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.library import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES, Headroom, compress
from headroom_cli.mock_upstream import MockUpstream

from conversations import conversation
from proxy_process import proxy_process
from samples import pytest_verbose_log

TOKEN = "endpoint-Token_for-tests"
MODELS = {ANTHROPIC_MESSAGES: "claude-sonnet-4-5", OPENAI_CHAT: "gpt-4o", OPENAI_RESPONSES: "gpt-4o"}
# Generous, so a loaded machine never sends a part as it was on one side only (the test compares bytes).
BUDGET = {"HEADROOM_PART_BUDGET_MS": "10000"}


def _post(port: int, path: str, body: bytes, headers: dict | None = None, method: str = "POST"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers={"content-type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with MockUpstream() as upstream, proxy_process(upstream.url, tmp_path_factory.mktemp("proxy"), **BUDGET) as proxy:
        yield proxy, upstream


@pytest.fixture
def library(headroom_home, monkeypatch):
    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", BUDGET["HEADROOM_PART_BUDGET_MS"])
    instance = Headroom(Settings.resolve())
    yield instance
    instance.close()


@pytest.mark.parametrize("api", [ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES])
def test_the_endpoint_answers_compress_bytes_and_figures(api, running, library):
    # The proxy decides in its own HEADROOM_HOME, the library in this test's: equal bytes mean one code path.
    proxy, upstream = running
    messages = conversation(api, "Which test failed?", "pytest -v", pytest_verbose_log(800, seed=7))
    result = compress(messages, provider="anthropic" if api == ANTHROPIC_MESSAGES else "openai", api=api,
                      model=MODELS[api], max_tokens=1024, headroom=library)
    assert result.stats.tokens_after < result.stats.tokens_before / 4  # there is something to compare
    status, headers, body = _post(proxy.port, f"/headroom/v1/compress?api={api}", result.original_body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == result.body
    assert int(headers["x-headroom-tokens-before"]) == result.stats.tokens_before
    assert int(headers["x-headroom-tokens-after"]) == result.stats.tokens_after
    assert headers["x-headroom-tool-outputs"] == "1"
    assert headers["x-headroom-engines"] == ",".join(f"{k}={v}" for k, v in sorted(result.stats.engines.items()))
    assert headers["x-headroom-markers"].split(",") == list(result.stats.marker_ids)
    assert upstream.requests == []  # compressing sends nothing upstream


def test_the_endpoint_defaults_to_anthropic_messages(running):
    proxy, _ = running
    # Nothing to compress: only the Anthropic shaping (an automatic prompt-cache breakpoint) applies;
    # the caller's own spacing and key order before it survive.
    raw = b'{"messages": [{"role": "user", "content": "hi"}], "model": "claude-sonnet-4-5",  "max_tokens": 5}'
    status, headers, body = _post(proxy.port, "/headroom/v1/compress", raw)
    assert status == 200 and body.startswith(b'{"messages": [{"role": "user", "content": ')
    assert json.loads(body)["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert headers["x-headroom-tool-outputs"] == "0" and headers["x-headroom-markers"] == ""
    assert _post(proxy.port, "/headroom/v1/compress?api=openai-chat", raw)[2] == raw  # no such shaping there


@pytest.mark.parametrize("method, path, body, status, words", [
    ("GET", "/headroom/v1/compress", b"", 405, "takes POST"),
    ("POST", "/headroom/v1/compress?api=gemini", b"{}", 400, "api must be one of anthropic-messages"),
    ("POST", "/headroom/v1/compress", b"not json", 400, "a JSON object"),
    ("POST", "/headroom/v1/compress", b"[1, 2]", 400, "a JSON object"),
    ("POST", "/headroom/v1/compress", b'{"messages": "\xff\xfe"}', 400, "a JSON object"),
    ("POST", "/headroom/v1/compress", b"[" * 100_000, 400, "a JSON object"),
])
def test_the_endpoint_answers_one_json_error(method, path, body, status, words, running):
    proxy, _ = running
    got, headers, data = _post(proxy.port, path, body, method=method)
    assert got == status and headers["content-type"] == "application/json"
    error = json.loads(data)
    assert error["type"] == "error" and words in error["error"]["message"]
    assert "Traceback" not in data.decode()


def test_an_encoded_body_is_refused(running):
    proxy, _ = running
    status, _, data = _post(proxy.port, "/headroom/v1/compress", b"\x1f\x8b", {"content-encoding": "gzip"})
    assert status == 415 and "content-encoding" in json.loads(data)["error"]["message"]


def test_the_endpoint_is_behind_the_proxys_token_and_origin_rules(tmp_path: Path):
    body = json.dumps({"model": "claude-sonnet-4-5", "messages": conversation(
        ANTHROPIC_MESSAGES, "q", "pytest -v", pytest_verbose_log(400))}).encode()
    with MockUpstream() as upstream, proxy_process(upstream.url, tmp_path / "home", HEADROOM_TOKEN=TOKEN) as proxy:
        assert _post(proxy.port, "/headroom/v1/compress", body)[0] == 401
        assert _post(proxy.port, "/headroom/v1/compress", body, {"x-headroom-token": "wrong"})[0] == 401
        refused = _post(proxy.port, "/headroom/v1/compress", body,
                        {"x-headroom-token": TOKEN, "origin": "http://evil.example"})
        assert refused[0] == 403 and b"web pages" in refused[2]
        status, headers, data = _post(proxy.port, "/headroom/v1/compress", body, {"x-headroom-token": TOKEN})
        assert status == 200 and len(data) < len(body) and headers["x-headroom-markers"]
        assert upstream.requests == []
