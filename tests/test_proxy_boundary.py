"""The proxy's boundary, through real mitmproxy: a token when set (required off loopback), no browser
page (Origin / Sec-Fetch-Site), no foreign Host (DNS rebinding). Loopback only: nothing here binds
another address."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.proxy.boundary import Boundary, bind_problem
from headroom_cli.proxy.server import ProxyServer, ProxyStartError

from samples import pytest_verbose_log

TOKEN = "s3cret-Token_for-tests"
BODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": pytest_verbose_log(600)}]}]}).encode()
API = {"content-type": "application/json", "x-api-key": "sk-ant-k", "anthropic-version": "2023-06-01"}


@pytest.fixture
def upstream():
    with MockUpstream() as mock:
        yield mock


def _start(upstream: MockUpstream, home: Path, token: str | None = None) -> ProxyServer:
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                        compress=True, home=home, token=token)
    return ProxyServer(settings).start()


@pytest.fixture
def proxy(upstream, headroom_home):
    server = _start(upstream, headroom_home)
    yield server
    server.stop()


@pytest.fixture
def token_proxy(upstream, headroom_home):
    server = _start(upstream, headroom_home, TOKEN)
    yield server
    server.stop()


def _send(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """``headers`` may carry its own Host: http.client then sends that one instead of 127.0.0.1:PORT."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def _nothing_recorded(server: ProxyServer, upstream: MockUpstream) -> None:
    server.recorder.flush()
    assert upstream.requests == []
    assert server.ledger.totals(server.session).requests == 0
    assert server.store is None or server.store.stats().items == 0  # no original of the page's text kept


# -- refusals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Content-Type": "text/plain"},  # a page's no-cors form POST
    {"Origin": "null", "Content-Type": "text/plain"},  # a sandboxed frame or a file:// page
    {"Origin": "http://localhost:3000"},  # another local web app: another origin
    {"Sec-Fetch-Site": "cross-site"},
    {"Host": "rebound.evil.example:{port}"},  # DNS rebinding: the page's own name, resolving to 127.0.0.1
    {"Host": "127.0.0.1:1"},  # not this port
    {"Host": "127.0.0.1"},
])
def test_browser_pages_and_foreign_hosts_are_refused_and_nothing_is_forwarded_or_stored(proxy, upstream, headers):
    headers = {k: v.format(port=proxy.port) for k, v in headers.items()}
    status, body = _send(proxy.port, "POST", "/v1/messages", BODY, {**API, **headers})
    assert status == 403
    assert "headroom:" in json.loads(body)["error"]["message"]
    status, body = _send(proxy.port, "GET", "/headroom/stats", None, headers)
    assert status == 403 and b"tokens" not in body  # the stats are not readable either
    _nothing_recorded(proxy, upstream)


def test_a_token_proxy_refuses_requests_without_the_right_token(token_proxy, upstream):
    for headers in ({}, {"x-headroom-token": "wrong"}, {"x-headroom-token": TOKEN[:-1]}, {"authorization": TOKEN}):
        status, body = _send(token_proxy.port, "POST", "/v1/messages", BODY, {**API, **headers})
        assert status == 401, headers
        assert "x-headroom-token" in json.loads(body)["error"]["message"]
        assert TOKEN not in body.decode()
        for path in ("/headroom/stats", "/headroom/health"):
            assert _send(token_proxy.port, "GET", path, None, headers)[0] == 401
    _nothing_recorded(token_proxy, upstream)


def test_the_token_does_not_open_a_foreign_origin(token_proxy, upstream):
    status, _ = _send(token_proxy.port, "POST", "/v1/messages", BODY,
                      {**API, "x-headroom-token": TOKEN, "Origin": "http://evil.example"})
    assert status == 403
    _nothing_recorded(token_proxy, upstream)


# -- acceptances -------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_loopback_names_of_this_proxy_are_accepted(proxy, upstream, host):
    status, body = _send(proxy.port, "GET", "/headroom/health", None, {"Host": host.format(port=proxy.port)})
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_a_page_of_the_proxy_itself_and_a_top_level_navigation_are_accepted(proxy, upstream):
    own = f"http://127.0.0.1:{proxy.port}"
    assert _send(proxy.port, "GET", "/headroom/stats", None, {"Origin": own, "Sec-Fetch-Site": "same-origin"})[0] == 200
    assert _send(proxy.port, "GET", "/headroom/stats", None, {"Sec-Fetch-Site": "none"})[0] == 200


def test_the_right_token_passes_and_never_goes_upstream(token_proxy, upstream):
    status, _ = _send(token_proxy.port, "POST", "/v1/messages", BODY, {**API, "x-headroom-token": TOKEN})
    assert status == 200
    assert len(upstream.requests) == 1
    assert "x-headroom-token" not in upstream.requests[0].headers
    assert TOKEN.encode() not in upstream.requests[0].body
    status, body = _send(token_proxy.port, "GET", "/headroom/stats", None, {"x-headroom-token": TOKEN})
    assert status == 200
    token_proxy.recorder.flush()
    assert token_proxy.ledger.totals(token_proxy.session).requests == 1


def test_a_request_without_a_token_on_a_plain_loopback_proxy_passes_and_a_stray_token_is_dropped(proxy, upstream):
    assert _send(proxy.port, "POST", "/v1/messages", BODY, {**API, "x-headroom-token": "whatever"})[0] == 200
    assert "x-headroom-token" not in upstream.requests[-1].headers


# -- binding -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "myhost.lan"])
def test_a_non_loopback_address_needs_a_token(host):
    assert "--token" in bind_problem(host, None)
    assert bind_problem(host, TOKEN) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host):
    assert bind_problem(host, None) is None


def test_the_server_refuses_to_start_off_loopback_without_a_token(upstream, headroom_home):
    settings = Settings(host="0.0.0.0", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                        compress=False, home=headroom_home)
    with pytest.raises(ProxyStartError, match="HEADROOM_TOKEN"):
        ProxyServer(settings).start()  # refused before anything listens


def test_headroom_proxy_host_0000_without_a_token_says_so_in_one_line(headroom_home):
    env = {**os.environ, "HEADROOM_HOME": str(headroom_home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("HEADROOM_TOKEN", None)
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "proxy", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "--token" in done.stderr and "HEADROOM_TOKEN" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(lines) <= 3, done.stderr  # one line, soft-wrapped at most


def test_off_loopback_the_machines_addresses_and_name_are_its_own():
    boundary = Boundary("0.0.0.0", TOKEN)
    boundary.port = 8787
    ok = {"host": "192.168.1.5:8787", "x-headroom-token": TOKEN}
    assert boundary.refusal(ok) is None
    assert boundary.refusal({**ok, "host": "[fe80::1]:8787"}) is None
    assert boundary.refusal({**ok, "host": "rebound.evil.example:8787"}).status == 403
    assert boundary.refusal({**ok, "host": "192.168.1.5:9000"}) is None  # a forwarded port (docker -p 9000:8787)
    assert boundary.refusal({"host": "192.168.1.5:8787"}).status == 401


def test_a_port_given_is_known_before_the_proxy_says_it_runs():
    """mitmproxy accepts connections a moment before its running hook: a request then is not refused."""
    boundary = Boundary("127.0.0.1", None, 8787)
    assert boundary.refusal({"host": "127.0.0.1:8787"}) is None
    assert boundary.refusal({"host": "127.0.0.1:9999"}).status == 403
    assert Boundary("127.0.0.1", None, 0).port is None  # port 0: set once bound


# -- wrap --------------------------------------------------------------------------------------------

CLIENT = textwrap.dedent("""
    import http.client, os, sys, urllib.parse
    url = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
    headers = dict(line.split(": ", 1) for line in os.environ.get("ANTHROPIC_CUSTOM_HEADERS", "").splitlines() if line)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", "/headroom/health", headers=headers)
    sys.exit(0 if conn.getresponse().status == 200 else 3)
""")


@pytest.mark.parametrize("token", [None, TOKEN])
def test_wrap_passes_the_token_to_the_child_like_claude_code_sends_it(headroom_home, tmp_path, token):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = {**os.environ, "HEADROOM_HOME": str(headroom_home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("HEADROOM_TOKEN", None)
    if token:
        env["HEADROOM_TOKEN"] = token
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", "--quiet", "--", sys.executable, str(script)],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
