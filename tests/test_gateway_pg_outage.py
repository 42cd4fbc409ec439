"""A gateway started while its PostgreSQL is down (issue 19): it comes up and serves every request
losslessly (nothing left out: no original could be stored), says so once, and attaches the database
when it is back: compression with omissions resumes, and the requests served meanwhile are in the
ledger. Under --require-token tokens cannot be checked without the database: requests are refused
with 503 in the provider's error shape (never let through unchecked) until it is back."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

import pg_cluster
from gateway_helpers import conversation, health, marker_ids, post, tool_texts
from headroom_cli.ledger import Ledger
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.store import Store
from headroom_cli.tokens_auth import TokenBook
from proxy_process import proxy_process
from test_proxy_workers import Workers

ENV = {"HEADROOM_NO_RETRIEVAL_TOOL": "1", "COLUMNS": "1000"}  # log lines unwrapped, to count them


@pytest.fixture
def upstream():
    mock = MockUpstream().start()
    yield mock
    mock.stop()


@pytest.fixture
def cluster(pg_server):
    """This checkout's cluster, which the test stops and starts (started again whatever happens)."""
    port = pg_cluster._port_file(pg_cluster.ROOT)
    if port is None or f":{port}/" not in pg_server:
        pytest.skip("HEADROOM_TEST_DATABASE is not this checkout's cluster: it cannot be stopped from here")
    yield port
    if not pg_cluster.running():
        pg_cluster.restart_server(pg_cluster.ROOT)


def _until(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    return None


def test_a_proxy_started_while_the_database_is_down_serves_then_attaches_it(
        pg_url, cluster, upstream, log, tmp_path) -> None:
    pg_cluster.stop(pg_cluster.ROOT, mode="immediate")
    with proxy_process(upstream.url, tmp_path / "a", **ENV, HEADROOM_DATABASE=pg_url) as proxy:
        statuses = [post(proxy.port, conversation(log, turn))[0] for turn in (1, 2, 3)]
        down = [r.json() for r in upstream.requests]
        assert health(proxy.port)["database"] == {"kind": "postgresql", "reachable": False}
        pg_cluster.restart_server(pg_cluster.ROOT)

        def compressing():
            statuses.append(post(proxy.port, conversation(log, 3, "And now?"))[0])
            return marker_ids(" ".join(tool_texts(upstream.requests[-1].json())))

        assert _until(compressing), "compression with omissions never came back with the database"
        assert health(proxy.port)["database"] == {"kind": "postgresql", "reachable": True}
    assert statuses and set(statuses) == {200}, statuses
    assert len(down) == 3 and not any(marker_ids(" ".join(tool_texts(body))) for body in down)  # lossless
    assert all(tool_texts(body)[0] == f"run 0\n{log}" for body in down)  # the log went as it was sent
    ids = {i for r in upstream.requests for text in tool_texts(r.json()) for i in marker_ids(text)}
    store = Store(pg_url)
    try:
        assert ids and all(store.get(i) is not None for i in ids), "a marker sent upstream points at nothing"
    finally:
        store.close()
    ledger = Ledger(pg_url)
    try:
        assert ledger.totals().requests == len(statuses)  # the rows held while it was down, written after
    finally:
        ledger.close()
    assert proxy.stderr.count("unreachable (") == 1, proxy.stderr  # the outage said once, not per part
    assert "is back" in proxy.stderr and "Traceback" not in proxy.stderr


def test_require_token_refuses_with_503_while_tokens_cannot_be_checked(
        pg_url, cluster, upstream, log, tmp_path) -> None:
    book = TokenBook(pg_url)
    alice = book.create("alice")
    book.close()
    pg_cluster.stop(pg_cluster.ROOT, mode="immediate")
    env = {**ENV, "HEADROOM_DATABASE": pg_url, "HEADROOM_REQUIRE_TOKEN": "1"}
    with proxy_process(upstream.url, tmp_path / "a", **env) as proxy:
        status, body = post(proxy.port, conversation(log, 1), {"x-headroom-token": alice})
        assert status == 503 and json.loads(body)["type"] == "error"  # Anthropic's shape
        assert "cannot be checked" in json.loads(body)["error"]["message"]
        status, body = post(proxy.port, {"model": "gpt-4o", "messages": []}, {"x-headroom-token": alice,
                            "authorization": "Bearer k"}, path="/v1/chat/completions")
        assert status == 503 and json.loads(body)["error"]["code"] == "service_unavailable"  # OpenAI's shape
        assert post(proxy.port, conversation(log, 1))[0] == 401  # no token at all: no database needed to say so
        assert not upstream.requests, "a request went upstream with a token nobody could check"
        pg_cluster.restart_server(pg_cluster.ROOT)
        assert _until(lambda: post(proxy.port, conversation(log, 1), {"x-headroom-token": alice})[0] == 200)
        assert post(proxy.port, conversation(log, 1), {"x-headroom-token": alice + "x"})[0] == 401
    assert proxy.stderr.count("--require-token: tokens cannot be checked") == 1, proxy.stderr
    assert "Traceback" not in proxy.stderr


def test_workers_start_and_restart_while_the_database_is_down(pg_url, cluster, upstream, log, tmp_path,
                                                                monkeypatch) -> None:
    for name, value in {**ENV, "HEADROOM_DATABASE": pg_url}.items():
        monkeypatch.setenv(name, value)
    pg_cluster.stop(pg_cluster.ROOT, mode="immediate")
    workers = Workers(upstream.url, tmp_path / "a", 2)
    try:
        killed = min(workers.pids)
        os.kill(killed, signal.SIGKILL)  # its replacement starts while the database is still down
        seen = workers.pids_answering(lambda s: bool(s - workers.pids), seconds=180)
        assert seen - workers.pids, "no worker replaced the killed one: " + "".join(workers.lines)[-2000:]
        assert post(workers.port, conversation(log, 1))[0] == 200
        pg_cluster.restart_server(pg_cluster.ROOT)
        assert _until(lambda: post(workers.port, conversation(log, 2))[0] == 200
                      and marker_ids(" ".join(tool_texts(upstream.requests[-1].json()))))
    finally:
        workers.process.send_signal(signal.SIGTERM)
        code = workers.process.wait(timeout=60)
    assert code == 0, "".join(workers.lines)[-2000:]
    assert "Traceback" not in "".join(workers.lines)


def test_running_totals_started_during_an_outage_count_each_row_once(pg_url, cluster, log) -> None:
    """/headroom/stats' totals of a recorder started while the database was down: the ledger's earlier
    rows are added once it is back, the rows held meanwhile counted once (even when another write,
    here a retrieval's, put them in before the totals were loaded)."""
    from headroom_cli.proxy.recorder import Recorder

    earlier = Ledger(pg_url)  # one row from before, by another recorder
    recorder = Recorder(earlier)
    recorder.record(_exchange(log, "before"))
    assert recorder.flush(60)
    recorder.close()
    earlier.close()
    pg_cluster.stop(pg_cluster.ROOT, mode="immediate")
    ledger = Ledger(pg_url)
    recorder = Recorder(ledger)
    try:
        for _ in range(2):
            recorder.record(_exchange(log, "s"))
        assert recorder.flush(60)
        assert recorder.totals.snapshot("s")[1].requests == 2  # held, counted here
        pg_cluster.restart_server(pg_cluster.ROOT)
        assert _until(lambda: _wrote_retrieval(ledger))  # writes the held rows too
        recorder.record(_exchange(log, "s"))
        assert recorder.flush(60)
        mine, everything, _ = recorder.totals.snapshot("s")
        assert (mine.requests, everything.requests) == (3, 4)
        assert ledger.totals().requests == 4
    finally:
        recorder.close()
        ledger.close()


def _exchange(log: str, session: str):
    from headroom_cli.proxy.recorder import Exchange

    return Exchange(ts=time.time(), session=session, provider="anthropic", path="/v1/messages",
                    body_text=json.dumps(conversation(log, 1)), status=200)


def _wrote_retrieval(ledger: Ledger) -> bool:
    ledger.record_retrieval("s", "hr_0000000000000001", None, 10)
    return ledger.write_held() == 0 and ledger.retrieval_count() > 0


def test_a_command_against_an_unreachable_database_says_why_in_one_line(tmp_path) -> None:
    """`headroom tokens list` (any one-shot command) with the database down: exit 1 and the reason the
    connection failed, not the backoff's own words."""
    import socket
    import subprocess
    import sys

    pytest.importorskip("psycopg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once it is closed
    done = subprocess.run([sys.executable, "-m", "headroom_cli", "tokens", "list", "--database",
                           f"postgresql://headroom@127.0.0.1:{port}/headroom"],
                          env={**os.environ, "HEADROOM_HOME": str(tmp_path), "COLUMNS": "1000"},
                          capture_output=True, text=True, timeout=120)
    (last,) = [line for line in done.stderr.splitlines() if line.startswith("headroom:")]
    assert done.returncode == 1 and "cannot be reached (connection failed" in last and "moment ago" not in last
