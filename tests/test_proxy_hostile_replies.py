"""Hostile upstream replies through the real proxy: a usage event nested 100,000 deep, a gzip bomb.
The client gets the reply byte for byte, at once, and the proxy keeps serving."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from headroom_cli.config import Settings
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.proxy.usage import UsageTap, usage_from_body

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_EVENT = b'event: message_delta\ndata: {"type":"message_delta","usage":' + DEEP + b"}\n\n"
GOOD_EVENT = b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\n\n'
STREAM = b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5}}}\n\n' + \
    DEEP_EVENT + GOOD_EVENT + b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


class _Canned(BaseHTTPRequestHandler):
    """Answers every POST with the reply named by the request's path."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body, headers = REPLIES[self.path]
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


BOMB = zlib.compress(b"data: " + b"x" * (64 << 20), 9)  # 64 MB of one line from 64 KB
REPLIES = {
    "/v1/messages": (STREAM, {"content-type": "text/event-stream"}),
    "/deep-gzip/v1/messages": (gzip.compress(STREAM), {"content-type": "text/event-stream", "content-encoding": "gzip"}),
    "/bomb/v1/messages": (BOMB, {"content-type": "text/event-stream", "content-encoding": "deflate"}),
    "/json/v1/messages": (b'{"type":"message","usage":' + DEEP + b"}", {"content-type": "application/json"}),
}


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)  # a hang fails here
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 5, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    conn.request("POST", path, body=body, headers={"content-type": "application/json", "x-api-key": "k",
                                                   "accept-encoding": "identity"})
    response = conn.getresponse()
    assert response.status == 200
    data = response.read()
    conn.close()
    return data


@pytest.mark.parametrize("prefix, sent", [
    ("", STREAM), ("/deep-gzip", gzip.compress(STREAM)), ("/bomb", BOMB),
    ("/json", REPLIES["/json/v1/messages"][0]),
])
def test_hostile_replies_reach_the_client_byte_for_byte(upstream, headroom_home, prefix, sent):
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream + prefix, openai_upstream=upstream,
                        compress=True, home=headroom_home)
    server = ProxyServer(settings).start()
    try:
        for _ in range(2):  # and the proxy still serves the next one
            assert _post(server.port, "/v1/messages") == sent
        deadline = time.monotonic() + 20  # a streamed reply's row comes once mitmproxy has closed the stream
        while server.ledger.totals(server.session).requests < 2 and time.monotonic() < deadline:
            server.recorder.flush()
            time.sleep(0.05)
        assert server.ledger.totals(server.session).requests == 2
    finally:
        server.stop()


def test_the_tap_reads_the_usage_it_can_and_skips_the_deep_event():
    tap = UsageTap()
    for i in range(0, len(STREAM), 4096):
        chunk = STREAM[i:i + 4096]
        assert tap(chunk) is chunk
    assert (tap.usage.input, tap.usage.output) == (5, 7)
    assert usage_from_body(REPLIES["/json/v1/messages"][0]).input is None
