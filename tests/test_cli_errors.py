"""User-facing rough edges (issue 13, finding 8): each mistake ends in one clear line and a non-zero
exit code, never a traceback (those only with --debug); `mcp install` keeps ~/.claude.json private."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from samples import pytest_verbose_log

REPO = Path(__file__).resolve().parents[1]


def headroom(*args: str, home: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, "HEADROOM_HOME": str(home), **env}, timeout=120)


def one_line(run: subprocess.CompletedProcess) -> str:
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr and len(lines) == 1, run.stderr[-3000:]
    assert lines[0].startswith("headroom: ")
    return lines[0]


# -- mcp install / uninstall without Claude Code on PATH: the file keeps its mode -------------------


def _mcp(command: str, home: Path, cwd: Path, *more: str) -> subprocess.CompletedProcess:
    # No claude on PATH; this checkout's code (PYTHONPATH), whatever the venv has installed.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HEADROOM_HOME": str(home / "hh"), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "headroom_cli", "mcp", command, *more], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_mcp_install_and_uninstall_keep_claude_json_private(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".claude.json"
    config.write_text(json.dumps({"primaryApiKey": "sk-ant-not-a-real-key", "mcpServers": {}}))
    os.chmod(config, 0o600)
    old = os.umask(0o022)  # the usual umask, under which a plain rewrite comes out 0644
    try:
        for command in ("install", "uninstall"):
            done = _mcp(command, home, tmp_path)
            assert done.returncode == 0, done.stderr
            assert stat.S_IMODE(config.stat().st_mode) == 0o600, command
            assert json.loads(config.read_text())["primaryApiKey"] == "sk-ant-not-a-real-key"
    finally:
        os.umask(old)
    assert [p.name for p in home.iterdir() if "headroom-tmp" in p.name] == []


def test_mcp_install_keeps_another_mode_and_a_symlinked_config(tmp_path):
    home, dotfiles = tmp_path / "home", tmp_path / "dotfiles"
    home.mkdir(), dotfiles.mkdir()
    real = dotfiles / "claude.json"
    real.write_text("{}")
    os.chmod(real, 0o640)
    (home / ".claude.json").symlink_to(real)
    assert _mcp("install", home, tmp_path).returncode == 0
    assert (home / ".claude.json").is_symlink()
    assert "headroom" in json.loads(real.read_text())["mcpServers"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_mcp_install_makes_a_new_config_private(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert _mcp("install", home, tmp_path).returncode == 0
    assert stat.S_IMODE((home / ".claude.json").stat().st_mode) == 0o600


def test_mcp_install_into_a_broken_config_is_one_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text('{"mcpServers": [1, 2]}')
    done = _mcp("install", home, tmp_path)
    assert done.returncode == 1 and "not a JSON object" in one_line(done)
    (home / ".claude.json").write_text("{oops")
    done = _mcp("install", home, tmp_path)
    assert done.returncode == 1 and "is not valid JSON" in one_line(done)


# -- compress --kind ----------------------------------------------------------------------------


def test_compress_with_an_unknown_kind_is_an_error_naming_the_kinds(headroom_home):
    run = headroom("compress", "--kind", "nosuch", home=headroom_home, stdin="some text\n" * 200)
    assert run.returncode == 2 and run.stdout == ""
    line = one_line(run)
    assert "nosuch" in line and all(kind in line for kind in ("tests", "logs", "json", "code", "text"))
    # Engines' own spellings still work.
    ok = headroom("compress", "--kind", "log", home=headroom_home, stdin="2 passed in 0.01s\n")
    assert ok.returncode == 0 and ok.stdout == "2 passed in 0.01s\n"


def test_compress_with_a_bad_code_min_lines_variable_says_which(headroom_home):
    run = headroom("compress", home=headroom_home, stdin="x\n", HEADROOM_CODE_MIN_LINES="many")
    assert run.returncode == 2 and "HEADROOM_CODE_MIN_LINES" in one_line(run)


# -- retrieve --lines --------------------------------------------------------------------------


@pytest.fixture
def stored(headroom_home) -> tuple[str, int]:
    """An original in the store, put there directly (what compress would store): (its ID, its lines)."""
    from headroom_cli.markers import ccr_id
    from headroom_cli.store import Store

    log = pytest_verbose_log(400)
    store = Store(headroom_home / "store.sqlite3")
    store.put(ccr_id(log), "tests", log)
    store.close()
    return ccr_id(log), len(log.splitlines())


def test_retrieve_past_the_end_says_how_many_lines_there_are(stored, headroom_home):
    part_id, n = stored
    run = headroom("retrieve", part_id, "--lines", f"{n + 1}-{n + 50}", home=headroom_home)
    assert run.returncode != 0 and run.stdout == ""
    assert f"{part_id} has {n:,} lines; asked for {n + 1}-{n + 50}" in one_line(run)
    tail = headroom("retrieve", part_id, "--lines", f"{n}-{n + 50}", home=headroom_home)  # overlapping: fine
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 1


@pytest.mark.parametrize("spec", ["ten", "5-3", "0-2", "1-2-3", ""])
def test_retrieve_with_a_malformed_range_is_a_usage_error(stored, headroom_home, spec):
    run = headroom("retrieve", stored[0], "--lines", spec, home=headroom_home)
    assert run.returncode == 2 and "--lines" in one_line(run)


# -- ports and numeric environment variables ----------------------------------------------------


def test_port_out_of_range_is_named_as_such(headroom_home):
    run = headroom("proxy", "--port", "99999", home=headroom_home)
    assert run.returncode == 2 and "--port must be 0-65535" in one_line(run)
    run = headroom("wrap", "--port", "-1", "--", "true", home=headroom_home)
    assert run.returncode == 2 and "--port must be 0-65535" in one_line(run)


@pytest.mark.parametrize("name, value", [("HEADROOM_PORT", "abc"), ("HEADROOM_PORT", "70000"),
                                         ("HEADROOM_BUDGET", "lots"), ("HEADROOM_PART_BUDGET_MS", "1.5s"),
                                         ("HEADROOM_CODE_MIN_LINES", "x")])
def test_a_bad_numeric_variable_is_one_line_naming_it(headroom_home, name, value):
    run = headroom("proxy", home=headroom_home, **{name: value})
    assert run.returncode == 2
    line = one_line(run)
    assert name in line and repr(value) in line and "must be" in line


@pytest.mark.parametrize("value", ["abc", "inf", "nan", "-3"])
def test_store_budget_variables_must_be_finite_positive_numbers(headroom_home, value):
    run = headroom("store", "stats", home=headroom_home, HEADROOM_STORE_MAX_MB=value)
    assert run.returncode != 0 and "HEADROOM_STORE_MAX_MB must be" in one_line(run)


def test_a_port_in_use_is_named_as_such(headroom_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = headroom("proxy", "--port", str(taken.getsockname()[1]), home=headroom_home)
    assert run.returncode == 1 and "already in use" in one_line(run).lower()


# -- --debug, wrap -----------------------------------------------------------------------------


def test_debug_wrap_cursor_with_arguments_is_a_clear_error_not_a_runtime_error(headroom_home):
    run = headroom("--debug", "wrap", "cursor", "--", "foo", home=headroom_home)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "No active exception" not in run.stderr
    assert "takes no arguments" in run.stderr.strip().splitlines()[-1]


def test_debug_wrap_of_a_missing_tool_ends_with_the_install_hint(tmp_path, headroom_home):
    run = headroom("--debug", "wrap", "claude", home=headroom_home, HEADROOM_CLAUDE_BIN=str(tmp_path / "nope"),
                   PATH=str(tmp_path))
    assert run.returncode == 127
    assert "npm install -g @anthropic-ai/claude-code" in run.stderr.strip().splitlines()[-1]


def test_wrap_of_a_file_that_is_not_a_program_names_it(tmp_path, headroom_home):
    (tmp_path / "notes.txt").write_text("hello\n")
    os.chmod(tmp_path / "notes.txt", 0o755)
    run = headroom("wrap", "--quiet", "--", str(tmp_path / "notes.txt"), home=headroom_home)
    assert run.returncode == 126 and f"could not start {tmp_path / 'notes.txt'}: " in one_line(run)


# -- HEADROOM_HOME that is a file; an unexpected failure -----------------------------------------


@pytest.mark.parametrize("args", [("stats",), ("stats", "--json"), ("dashboard", "--once"),
                                  ("retrieve", "hr_0123456789abcdef"), ("store", "stats"), ("store", "prune"),
                                  ("proxy", "--port", "0"), ("wrap", "--", "true")])
def test_headroom_home_that_is_a_file_is_one_line(tmp_path, args):
    home = tmp_path / "not-a-folder"
    home.write_text("")
    run = headroom(*args, home=home)
    assert run.returncode == 2
    assert f"HEADROOM_HOME={home} cannot be used (it is a file, not a folder)" in one_line(run)


def test_an_unexpected_failure_is_one_line_and_a_traceback_only_with_debug(headroom_home):
    headroom_home.mkdir(parents=True, exist_ok=True)
    (headroom_home / "ledger.sqlite3").write_bytes(b"this is not a database" * 100)
    run = headroom("stats", home=headroom_home)
    assert run.returncode != 0 and one_line(run)
    debug = headroom("--debug", "stats", home=headroom_home)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_the_mcp_tool_says_the_same_for_a_range_past_the_end(stored):
    from headroom_cli.mcp.server import headroom_retrieve
    from headroom_cli.retrieve import ToolFailure

    part_id, n = stored
    with pytest.raises(ToolFailure, match=f"{part_id} has {n:,} lines; asked for {n + 1}-{n + 9}"):
        headroom_retrieve(part_id, f"{n + 1}-{n + 9}")
