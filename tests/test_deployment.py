"""docs/deployment.md and deploy/: the commands they give parse with the real CLI, and a proxy with
--require-token refuses what it must (401 in the provider's shape), strips the header, and scopes
retrieval and stats to each token's owner."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main

from gateway_helpers import conversation, marker_ids, post, tool_texts
from headroom_cli.cli import app
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.proxy.boundary import Boundary
from headroom_cli.retrieve import ToolFailure, redeem
from headroom_cli.store import Store
from headroom_cli.tokens_auth import OwnedStore
from proxy_process import proxy_process

REPO = Path(__file__).resolve().parents[1]


def _parses(argv: list[str]) -> click.Context:
    """The context the real `headroom` command would run ``argv`` with (parsed, not run)."""
    assert argv[0].endswith("headroom"), argv
    group = typer.main.get_command(app)
    ctx = group.make_context("headroom", list(argv[1:2]))
    command = group.get_command(ctx, argv[1])
    assert command is not None, argv
    return command.make_context(argv[1], list(argv[2:]), parent=ctx)


def test_the_systemd_unit_and_the_container_run_real_commands() -> None:
    unit = (REPO / "deploy" / "headroom.service").read_text()
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    params = _parses(shlex.split(exec_start)).params
    assert params["require_token"] and params["host"] == "127.0.0.1" and params["port"] == 8787
    docker = (REPO / "deploy" / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.+\])$", docker, re.M)
    assert _parses(json.loads(cmd)).params["require_token"]
    assert "[proxy,postgres]" in docker
    compose = (REPO / "deploy" / "compose.yaml").read_text()
    assert "HEADROOM_DATABASE: postgresql://" in compose and "dockerfile: deploy/Dockerfile" in compose


def test_the_systemd_unit_passes_systemd_analyze(tmp_path) -> None:
    """What systemd itself says of the unit (unknown keys, bad values), with ExecStart pointed at this
    checkout's `headroom` (the documented /opt/headroom does not exist here)."""
    analyze = shutil.which("systemd-analyze")
    headroom = Path(sys.executable).with_name("headroom")
    if analyze is None or not headroom.exists():
        pytest.skip("systemd-analyze or this environment's headroom command is missing")
    unit = (REPO / "deploy" / "headroom.service").read_text().replace("/opt/headroom/bin/headroom", str(headroom))
    (tmp_path / "headroom.service").write_text(unit)
    done = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "headroom.service")], capture_output=True,
                          text=True, timeout=120)
    said = [line for line in (done.stdout + done.stderr).splitlines() if "headroom.service" in line]
    assert done.returncode == 0 and not said, said


def test_the_tls_recipes_send_a_host_the_proxy_accepts() -> None:
    """Caddy passes the public name in Host unless told otherwise; the proxy refuses a name it does not
    know (DNS rebinding). Both recipes make Caddy send the address it connects to, which is accepted."""
    page, compose = (REPO / "docs" / "deployment.md").read_text(), (REPO / "deploy" / "compose.yaml").read_text()
    for text in (page, compose):
        caddy = re.findall(r"caddy reverse-proxy [^`\n]+", text)
        assert caddy and all("--change-host-header" in line for line in caddy), caddy
    on_host = Boundary("127.0.0.1", None)
    on_host.port = 8787
    assert on_host.refusal({"host": "headroom.example.com"}).status == 403  # what Caddy sends by default
    assert on_host.refusal({"host": "127.0.0.1:8787"}) is None  # what --change-host-header sends
    assert "hostname: headroom" in compose  # the container's own name, the one Caddy connects to
    in_container = Boundary("0.0.0.0", "t")
    in_container.port = 8787
    assert in_container.refusal({"host": f"{socket.gethostname()}:8787", "x-headroom-token": "t"}) is None


def test_the_help_explains_the_gateway_options() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    proxy = " ".join(runner.invoke(app, ["proxy", "--help"], env={"COLUMNS": "400"}).output.split())
    for words in ("postgresql:// URL", "unreachable", "401", "503", "headroom tokens create NAME",
                  "each taking connections while it is free", "one that dies is restarted"):
        assert words in proxy, words
    tokens = " ".join(runner.invoke(app, ["tokens", "--help"], env={"COLUMNS": "400"}).output.split())
    assert "--require-token" in tokens and "the proxy's database" in tokens


def test_the_documented_commands_parse() -> None:
    page = (REPO / "docs" / "deployment.md").read_text()
    commands = [line.strip() for line in re.findall(r"^(headroom .+?)(?:\s+#.*)?$", page, re.M)]
    assert len(commands) >= 5
    for line in commands:
        _parses(shlex.split(line))


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], env={**os.environ, "HEADROOM_HOME": str(home)},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def upstream():
    mock = MockUpstream().start()
    yield mock
    mock.stop()


def test_require_token_refuses_strips_and_scopes(upstream, log, tmp_path) -> None:
    home = tmp_path / "home"
    alice, bob, carol = (_cli(home, "tokens", "create", name).stdout.strip() for name in ("alice", "bob", "carol"))
    assert alice.startswith("hrt_") and alice != bob
    assert _cli(home, "tokens", "revoke", "carol").returncode == 0
    listed = json.loads(_cli(home, "tokens", "list", "--json").stdout)
    assert [(t["name"], t["revoked"] is None) for t in listed] == [("alice", True), ("bob", True), ("carol", False)]
    assert alice not in (home / "store.sqlite3").read_bytes().decode("latin-1")  # only its hash is kept
    with proxy_process(upstream.url, home, HEADROOM_REQUIRE_TOKEN="1", HEADROOM_NO_RETRIEVAL_TOOL="1") as proxy:
        status, body = post(proxy.port, conversation(log, 1))
        assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"
        status, body = post(proxy.port, {"model": "gpt-4o", "messages": []}, path="/v1/chat/completions",
                            headers={"authorization": "Bearer k"})
        assert status == 401 and set(json.loads(body)) == {"error"} and "message" in json.loads(body)["error"]
        assert post(proxy.port, conversation(log, 1), {"x-headroom-token": carol})[0] == 401  # revoked
        assert post(proxy.port, conversation(log, 1), {"x-headroom-token": alice + "x"})[0] == 401
        assert not upstream.requests
        assert post(proxy.port, conversation(log, 1), {"x-headroom-token": alice})[0] == 200
        assert post(proxy.port, conversation(log, 1, "Other question"), {"x-headroom-token": bob})[0] == 200
        conn_stats = _get_stats(proxy.port, alice)
    assert all("x-headroom-token" not in {k.lower() for k in r.headers} for r in upstream.requests)
    (part_id, *_) = sorted(marker_ids(tool_texts(upstream.requests[0].json())[0]))
    store = Store(home / "store.sqlite3")
    try:
        assert redeem(OwnedStore(store, "alice"), part_id)  # hers (and bob's: he sent the same output)
        mallory = OwnedStore(store, "mallory")
        with pytest.raises(ToolFailure):
            redeem(mallory, part_id)
    finally:
        store.close()
    assert conn_stats["user"] == "alice" and conn_stats["all_time"]["requests"] == 1
    by_user = json.loads(_cli(home, "stats", "--by", "user", "--json").stdout)["by_user"]
    assert {row["user"]: row["requests"] for row in by_user} == {"alice": 1, "bob": 1}


def _get_stats(port: int, token: str) -> dict:
    import http.client
    import time

    for _ in range(50):  # the recorder writes the row a moment after the reply
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/headroom/stats", headers={"x-headroom-token": token})
        stats = json.loads(conn.getresponse().read())
        conn.close()
        if stats["all_time"]["requests"]:
            return stats
        time.sleep(0.1)
    return stats


BASH_TOOL = {"name": "Bash", "description": "Run a command.", "input_schema": {"type": "object"}}


def test_the_model_redeems_only_its_own_users_originals(log, headroom_home) -> None:
    """Through the proxy-answered headroom_retrieve tool: alice's model gets her original back; bob's
    model, asking for the same ID, gets the tool's "not found" (it was never sent for him)."""
    from headroom_cli.config import Settings
    from headroom_cli.proxy.retrieval import TOOL_NAME
    from headroom_cli.proxy.server import ProxyServer
    from headroom_cli.mock_upstream import ToolStep
    from headroom_cli.tokens_auth import TokenBook

    book = TokenBook(headroom_home / "store.sqlite3")
    alice, bob = book.create("alice"), book.create("bob")
    book.close()
    bash = ToolStep("Bash", {"command": "pytest -v"})
    mock = MockUpstream([bash, ToolStep(TOOL_NAME, {"id": "{marker.id}"})]).start()
    proxy = ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                                 compress=True, home=headroom_home, require_token=True)).start()
    try:
        assert post(proxy.port, {**conversation(log, 1), "tools": [BASH_TOOL]}, {"x-headroom-token": alice})[0] == 200
        (hers,) = marker_ids(tool_texts(mock.requests[0].json())[0]) or {None}
        answer = tool_texts(mock.requests[-1].json())[-1]
        assert len(mock.requests) == 2 and answer.startswith("run 0\n" + log[:300])  # her original, paged
        mock.script = [bash, ToolStep(TOOL_NAME, {"id": hers})]
        mine = "\n".join(f"bob's line {i}" for i in range(5))
        assert post(proxy.port, {**conversation(mine, 1), "tools": [BASH_TOOL]}, {"x-headroom-token": bob})[0] == 200
        refused = tool_texts(mock.requests[-1].json())[-1]
        assert "No stored original" in refused and log[:300] not in refused
    finally:
        proxy.stop()
        mock.stop()
