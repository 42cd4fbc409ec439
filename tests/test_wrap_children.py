"""`kill -9` of `headroom wrap` takes the wrapped tool and Headroom's MCP server with it (issue 13, 8).

Real process trees: `headroom wrap -- python fake_tool.py`, where the fake tool starts
`headroom mcp serve` the way Claude Code does (stdin and stdout pipes it holds, the session's
environment), shakes hands with it, and sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from headroom_cli.wrap.lifeline import process_gone

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX process trees")

FAKE_CLIENT = textwrap.dedent("""
    import json, os, subprocess, sys, time
    server = subprocess.Popen([sys.executable, "-m", "headroom_cli", "mcp", "serve"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
             "capabilities": {}, "clientInfo": {"name": "fake", "version": "0"}}}
    server.stdin.write((json.dumps(hello) + "\\n").encode())
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    print(json.dumps({"tool": os.getpid(), "server": server.pid, "ok": answer.get("id") == 1}), flush=True)
    time.sleep(120)
""")


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still running after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if not process_gone(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return [pid for pid in pids if not process_gone(pid)]


def _cleanup(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_sigkill_of_wrap_ends_the_tool_and_its_mcp_server(tmp_path, headroom_home):
    (tmp_path / "fake_client.py").write_text(FAKE_CLIENT)
    wrap = subprocess.Popen([sys.executable, "-m", "headroom_cli", "wrap", "--quiet", "--", sys.executable,
                             "fake_client.py"], cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "HEADROOM_HOME": str(headroom_home)})
    tree: list[int] = []
    try:
        line = wrap.stdout.readline()
        assert line, wrap.stderr.read()[-2000:] if wrap.poll() is not None else "no output from the fake tool"
        seen = json.loads(line)
        tree = [seen["tool"], seen["server"]]
        assert seen["ok"] and all(not process_gone(pid) for pid in tree)
        wrap.send_signal(signal.SIGKILL)
        wrap.wait(timeout=10)
        assert _gone_within(tree, 15) == [], "the tool or its MCP server outlived `headroom wrap`"
    finally:
        _cleanup(tree)
        if wrap.poll() is None:
            wrap.kill()


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def test_mcp_server_ends_when_the_wrap_it_belongs_to_is_gone(headroom_home):
    """Its stdin stays open (a client that outlived wrap would hold it): the server still goes."""
    wrap = _sleeper()
    server = subprocess.Popen([sys.executable, "-m", "headroom_cli", "mcp", "serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, env={**os.environ, "HEADROOM_WRAP_PID": str(wrap.pid)})
    try:
        time.sleep(1.5)  # started and watching
        assert server.poll() is None
        wrap.kill()
        wrap.wait()
        server.wait(timeout=15)
    finally:
        _cleanup([wrap.pid, server.pid])


def test_mcp_server_ends_when_its_parent_dies_though_its_stdin_stays_open(tmp_path, headroom_home):
    read, write = os.pipe()  # the server's stdin: this test keeps the write end open throughout
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        server = subprocess.Popen([sys.executable, "-m", "headroom_cli", "mcp", "serve"], stdin={read},
                                  stdout=subprocess.DEVNULL)
        print(server.pid, flush=True)
        time.sleep(120)
    """)], pass_fds=(read,), stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    os.close(read)
    server = int(parent.stdout.readline())
    try:
        time.sleep(1.5)
        assert not process_gone(server)
        parent.kill()
        parent.wait()
        assert _gone_within([server], 15) == [], "the MCP server outlived the client that started it"
    finally:
        os.close(write)
        _cleanup([parent.pid, server])


REAPER_DRIVER = textwrap.dedent("""
    import subprocess, sys, time
    from headroom_cli.wrap.lifeline import Reaper
    tool = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    reaper = Reaper(tool.pid)
    print(tool.pid, reaper._proc.pid, flush=True)
    if sys.argv[1] == "done":
        tool.kill(); tool.wait(); reaper.done()
        print("done", flush=True)
    time.sleep(120)
""")


def _reaper_driver(tmp_path, mode: str) -> tuple[subprocess.Popen, int, int]:
    """REAPER_DRIVER started in ``mode`` ("kill" or "done"): the driver, its tool's pid, its reaper's pid."""
    (tmp_path / "driver.py").write_text(REAPER_DRIVER)
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), mode], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ))
    tool, reaper = map(int, driver.stdout.readline().split())
    return driver, tool, reaper


def test_reaper_ends_the_tool_where_the_kernel_cannot(tmp_path):
    """The fallback for platforms without PR_SET_PDEATHSIG, exercised here on Linux all the same."""
    driver, tool, reaper = _reaper_driver(tmp_path, "kill")
    try:
        driver.kill()
        driver.wait()
        assert _gone_within([tool, reaper], 15) == []
    finally:
        _cleanup([tool, reaper, driver.pid])


def test_reaper_told_done_leaves_quietly(tmp_path):
    driver, tool, reaper = _reaper_driver(tmp_path, "done")
    try:
        assert driver.stdout.readline().strip() == "done"
        assert process_gone(reaper)  # done() waited for it
    finally:
        _cleanup([tool, reaper, driver.pid])


def _descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below ``pid``."""
    rows = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True).stdout
    table = [(int(p), int(pp), args) for p, pp, args in (r.split(None, 2) for r in rows.splitlines() if r.strip())]
    found, frontier = {}, {pid}
    while frontier:
        below = {p: args for p, pp, args in table if pp in frontier and p not in found}
        found.update(below)
        frontier = set(below)
    return found


@pytest.mark.e2e
def test_sigkill_of_wrap_ends_claude_code_and_its_mcp_server(tmp_path, headroom_home):
    """The reported case: Claude Code waiting on the model (an upstream that never answers), with
    Headroom's MCP server up (`--mcp`: wrap no longer hands it over by default); wrap is killed with SIGKILL."""
    claude = os.environ.get("HEADROOM_CLAUDE_BIN") or str(Path(__file__).resolve().parents[1]
                                                            / ".cache/npm/node_modules/.bin/claude")
    if not Path(claude).is_file():
        pytest.skip(f"Claude Code is not installed at {claude}: run scripts/test")
    silent = socket_that_never_answers()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "HEADROOM_HOME": str(headroom_home),
           "HEADROOM_CLAUDE_BIN": claude, "ANTHROPIC_API_KEY": "sk-ant-test-dummy",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    wrap = subprocess.Popen([sys.executable, "-m", "headroom_cli", "wrap", "--quiet", "--mcp", "--anthropic-upstream",
                             f"http://127.0.0.1:{silent.getsockname()[1]}", "claude", "--", "-p", "hello"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    tree: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("mcp serve" in a for a in tree.values()):
            assert wrap.poll() is None, "wrap ended before Claude Code started its MCP server"
            time.sleep(0.5)
            tree = _descendants(wrap.pid)
        assert any("mcp serve" in a for a in tree.values()), tree
        wrap.send_signal(signal.SIGKILL)
        wrap.wait(timeout=10)
        assert _gone_within(list(tree), 20) == [], {p: tree[p][:80] for p in tree if not process_gone(p)}
    finally:
        _cleanup(list(tree))
        if wrap.poll() is None:
            wrap.kill()
        silent.close()


def socket_that_never_answers() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)  # connections complete in the backlog; nothing is ever read or written
    return listener
