"""Owner scoping under --require-token, for what does not go through /v1/messages' own compression:
originals stored by POST /headroom/v1/compress are the caller's to redeem (and nobody else's), and
the retrievals the proxy answers for a model are recorded as its user's (`stats --by user`)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys

import pytest

from gateway_helpers import conversation, post, tool_texts
from headroom_cli.config import Settings
from headroom_cli.ledger import Ledger
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.proxy.retrieval import TOOL_NAME
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.store import Store
from headroom_cli.tokens_auth import OwnedStore, TokenBook

BASH_TOOL = {"name": "Bash", "description": "Run a command.", "input_schema": {"type": "object"}}


def _compress(port: int, body: dict, token: str) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/headroom/v1/compress", json.dumps(body).encode(),
                     {"content-type": "application/json", "x-headroom-token": token})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("x-headroom-markers") or ""
    finally:
        conn.close()


@pytest.fixture
def gateway(headroom_home):
    book = TokenBook(headroom_home / "store.sqlite3")
    tokens = {name: book.create(name) for name in ("alice", "bob")}
    book.close()
    mock = MockUpstream().start()
    proxy = ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                                 compress=True, home=headroom_home, require_token=True)).start()
    try:
        yield proxy, mock, tokens
    finally:
        proxy.stop()
        mock.stop()


def _ask_for(mock: MockUpstream, proxy, body: dict, part_id: str, token: str) -> str:
    """The model (scripted) calls headroom_retrieve for ``part_id``; what the proxy answered it."""
    mock.script = [ToolStep("Bash", {"command": "pytest -v"}), ToolStep(TOOL_NAME, {"id": part_id})]
    assert post(proxy.port, {**body, "tools": [BASH_TOOL]}, {"x-headroom-token": token})[0] == 200
    return tool_texts(mock.requests[-1].json())[-1]


def test_the_compress_endpoint_grants_its_originals_to_the_caller_only(gateway, log, headroom_home) -> None:
    proxy, mock, tokens = gateway
    status, compressed, markers = _compress(proxy.port, conversation(log, 1), tokens["alice"])
    assert status == 200 and markers, "the log was compressed with an omission"
    part_id = markers.split(",")[0]
    store = Store(headroom_home / "store.sqlite3")
    try:
        assert OwnedStore(store, "alice").has(part_id) and not OwnedStore(store, "bob").has(part_id)
    finally:
        store.close()
    body = json.loads(compressed)  # what alice's agent then sends, markers and all
    answer = _ask_for(mock, proxy, body, part_id, tokens["alice"])
    assert answer.startswith("run 0\n" + log[:300]), answer[:300]  # her original, read back
    refused = _ask_for(mock, proxy, body, part_id, tokens["bob"])  # bob learned the ID, not the original
    assert "No stored original" in refused and log[:300] not in refused


def test_retrievals_the_proxy_answers_are_counted_for_their_user(gateway, log, headroom_home) -> None:
    proxy, mock, tokens = gateway
    _, compressed, markers = _compress(proxy.port, conversation(log, 1), tokens["alice"])
    body, part_id = json.loads(compressed), markers.split(",")[0]
    _ask_for(mock, proxy, body, part_id, tokens["alice"])
    _ask_for(mock, proxy, body, part_id, tokens["bob"])  # refused: no retrieval made
    proxy.recorder.flush(30)
    ledger = Ledger(headroom_home / "ledger.sqlite3")
    try:
        assert ledger.retrieval_count(owner="alice") == 1 and ledger.retrieval_count(owner="bob") == 0
        assert ledger.totals(owner="alice").requests == 2  # the compress call and the turn
    finally:
        ledger.close()
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "stats", "--by", "user", "--json"],
                          env={**os.environ, "HEADROOM_HOME": str(headroom_home)}, capture_output=True, text=True,
                          timeout=120)
    rows = {row["user"]: row for row in json.loads(done.stdout)["by_user"]}
    assert (rows["alice"]["requests"], rows["alice"]["retrievals"]) == (2, 1)
    assert (rows["bob"]["requests"], rows["bob"]["retrievals"]) == (1, 0)
