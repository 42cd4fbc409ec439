"""The `headroom` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from headroom_cli.demo import STEPS
from headroom_cli.markers import find_markers

from samples import FAILED_TEST, PYTEST_SUMMARY, pytest_verbose_log


def headroom(*args: str, stdin: str | None = None, home=None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if home is not None:
        env["HEADROOM_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def test_help_lists_every_command():
    run = headroom("--help")
    assert run.returncode == 0
    for command in ("proxy", "wrap", "compress", "retrieve", "stats", "dashboard", "statusline", "demo"):
        assert command in run.stdout


def test_compress_json_then_retrieve_every_marker(tmp_path, headroom_home):
    log = pytest_verbose_log(1999)
    path = tmp_path / "pytest.log"
    path.write_text(log)
    run = headroom("compress", str(path), "--json", home=headroom_home)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) == {"kind", "engine", "tokens_before", "tokens_after", "ccr_ids", "text"}
    assert (result["kind"], result["engine"]) == ("tests", "testlog")
    assert result["tokens_after"] < result["tokens_before"] // 10
    assert FAILED_TEST in result["text"] and PYTEST_SUMMARY in result["text"]
    # Put every omission back through `headroom retrieve`: the original comes out whole.
    text, lines = result["text"], log.splitlines(keepends=True)
    for marker in find_markers(text):
        assert marker.group("id") == result["ccr_ids"][0]
        back = headroom("retrieve", marker.group("id"), "--lines", f"{marker.group('a')}-{marker.group('b')}", home=headroom_home)
        assert back.returncode == 0
        assert back.stdout == "".join(lines[int(marker.group("a")) - 1:int(marker.group("b"))])
    assert headroom("retrieve", result["ccr_ids"][0], home=headroom_home).stdout == log


def test_compress_reads_stdin_and_passes_small_input_through(headroom_home):
    run = headroom("compress", "-", stdin="2 passed in 0.01s\n", home=headroom_home)
    assert run.returncode == 0 and run.stdout == "2 passed in 0.01s\n"


def test_errors_are_one_clear_line(tmp_path, headroom_home):
    missing = headroom("compress", str(tmp_path / "missing.log"), home=headroom_home)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "cannot read" in missing.stderr
    unknown = headroom("retrieve", "hr_0123456789abcdef", home=headroom_home)
    assert unknown.returncode == 1 and "no stored original" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def test_binary_input_passes_through_unchanged(tmp_path, headroom_home):
    blob = bytes(range(256)) * 10
    (tmp_path / "blob").write_bytes(blob)
    run = subprocess.run([sys.executable, "-m", "headroom_cli", "compress", str(tmp_path / "blob")],
                         capture_output=True, env={**os.environ, "HEADROOM_HOME": str(headroom_home)})
    assert run.returncode == 0 and run.stdout == blob and b"not UTF-8" in run.stderr


def test_stats_statusline_and_dashboard_after_a_demo(headroom_home):
    demo = headroom("demo", "--fast", home=headroom_home)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "what the model read instead" in demo.stdout
    assert "nothing is lost" in demo.stdout
    # Its hints work once it has exited: the retrieve line names the demo's own HEADROOM_HOME, and
    # each line runs this same headroom (here `python -m headroom_cli`, not on PATH).
    hints = demo.stdout.splitlines()
    retrieve = next(line.strip() for line in hints if " retrieve hr_" in line and line.startswith("  HEADROOM_HOME="))
    assert retrieve.startswith(f"HEADROOM_HOME={headroom_home / 'demo'} {sys.executable} -m headroom_cli retrieve ")
    back = subprocess.run(["bash", "-c", retrieve], capture_output=True, text=True, timeout=120)
    assert back.returncode == 0 and len(back.stdout.splitlines()) == 3, back.stderr
    assert any(back.stdout in step.output() for step in STEPS)  # three lines of what the agent read, verbatim
    wrap = next(line.split("#")[0].strip() for line in hints if line.strip().endswith("with its tool outputs compressed"))
    assert wrap == f"{sys.executable} -m headroom_cli wrap claude"
    # The demo keeps its state in a folder of its own: the user's ledger stays empty.
    stats = json.loads(headroom("stats", "--json", home=headroom_home).stdout)
    assert stats["all_time"]["requests"] == 0 and stats["tokenizer"] == "cl100k_base"
    assert "no requests yet" in headroom("statusline", stdin="{}", home=headroom_home).stdout
    assert "No requests yet" in headroom("dashboard", "--once", home=headroom_home).stdout


def test_stats_statusline_and_dashboard_read_the_ledger(headroom_home):
    import http.client

    from headroom_cli.config import Settings
    from headroom_cli.mock_upstream import MockUpstream
    from headroom_cli.proxy.server import ProxyServer

    with MockUpstream() as upstream:
        settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                            compress=True, home=headroom_home)
        with ProxyServer(settings) as proxy:
            body = {"model": "claude-sonnet-4-5", "messages": [
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": pytest_verbose_log(1999)}]}]}
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port)
            conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
            assert conn.getresponse().read()
            proxy.recorder.flush()
            session = proxy.session
    stats = json.loads(headroom("stats", "--json", home=headroom_home).stdout)
    assert stats["latest_session"] == session
    assert stats["session"]["requests"] == 1 and stats["session"]["percent_saved"] > 50
    assert stats["engines"]["testlog"]["parts"] == 1
    env_line = subprocess.run([sys.executable, "-m", "headroom_cli.ui.statusline"], input="{}", capture_output=True,
                              text=True, env={**os.environ, "HEADROOM_HOME": str(headroom_home), "HEADROOM_SESSION": session})
    assert env_line.stdout.startswith("headroom ▼") and "net" in env_line.stdout and "after caching" in env_line.stdout
    assert "tokens" in env_line.stdout and "1 req" in env_line.stdout
    table = headroom("stats", home=headroom_home).stdout
    assert session in table and "testlog" in table
    board = headroom("dashboard", "--once", home=headroom_home).stdout
    assert "latest requests" in board and "claude-sonnet-4-5" in board


def test_the_demos_hints_name_the_headroom_a_shell_can_run(tmp_path, monkeypatch):
    from headroom_cli.demo import shell_command

    script = tmp_path / "venv" / "bin" / "headroom"  # as scripts/demo runs it: .venv/bin/headroom
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shell_command() == str(script)  # not on PATH: its path
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert shell_command() == "headroom"  # on PATH (an activated venv, pipx): its name
    other = tmp_path / "elsewhere" / "headroom"  # someone else's `headroom` first on PATH
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", f"{other.parent}:{script.parent}")
    assert shell_command() == str(script)


def test_the_proxys_line_per_request_is_written_as_is(capsys):
    """One plain line per request (no rich layout): brackets in a path or model are printed, not read
    as markup, and a long line is not wrapped."""
    from types import SimpleNamespace

    from headroom_cli.cli import _request_line

    record = SimpleNamespace(provider="anthropic", path="/v1/messages?beta=[true]" + "/x" * 60, model="claude[1m]",
                             status=200, tokens_before=25_000, tokens_after=2_100, retrieval_rounds=1)
    _request_line(record)
    _request_line(SimpleNamespace(**{**record.__dict__, "status": None, "model": None, "tokens_after": 26_000,
                                     "retrieval_rounds": 0}))
    assert capsys.readouterr().err.splitlines() == [
        f"anthropic /v1/messages?beta=[true]{'/x' * 60} claude[1m] → 200 · 25k → 2.1k tokens (−92%)"
        " · 1 retrieval round(s) answered",
        f"anthropic /v1/messages?beta=[true]{'/x' * 60} ? → error · 25k → 26k tokens (+4.0%)",
    ]
