"""Claude Code's own full-screen UI under `headroom wrap claude`, driven through tmux like a person would.

Checks what only the interactive mode shows: live savings inside Claude Code's status line (passed
with --settings, never written to its files), Ctrl-C reaching Claude Code, and the exit summary.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headroom_cli.mock_upstream import MockUpstream, ToolStep

from samples import FAILED_TEST, pytest_verbose_log

API_KEY = "sk-ant-test-interactive-key"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20).stdout


def _wait_for(session: str, text: str, timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-t", session, "-p", "-S", "-200")
        if text in screen:
            return screen
        time.sleep(0.25)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def _seed_home(home: Path, project: Path) -> None:
    # What Claude Code's first-run dialogs would otherwise ask (see shared/clients/README.md).
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(project): {"hasTrustDialogAccepted": True}}}))
    (home / ".claude" / "settings.json").write_text(json.dumps({"skipDangerousModePermissionPrompt": True}))


@pytest.mark.e2e
def test_interactive_wrap_shows_savings_in_claudes_status_line(tmp_path, headroom_home):
    assert shutil.which("tmux"), "tmux is needed for the interactive test: scripts/test installs it"
    claude = os.environ.get("HEADROOM_CLAUDE_BIN") or str(Path(__file__).resolve().parents[2] / ".cache/npm/node_modules/.bin/claude")
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    (project / "samples.py").write_text((Path(__file__).resolve().parents[1] / "samples.py").read_text())
    (project / "run_tests.py").write_text("from samples import pytest_verbose_log\nprint(pytest_verbose_log(300), end='')\n")
    assert len(pytest_verbose_log(300)) < 30_000
    _seed_home(home, project)
    status_file = tmp_path / "exit-code"
    session = f"headroom-e2e-{os.getpid()}"

    with MockUpstream([ToolStep("Bash", {"command": "python3 run_tests.py", "description": "Run the tests"})]) as upstream:
        env = {"HOME": str(home), "HEADROOM_HOME": str(headroom_home), "HEADROOM_CLAUDE_BIN": claude,
               "ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "CLAUDE_CODE_MAX_RETRIES": "0", "IS_SANDBOX": "1", "PATH": os.environ["PATH"], "TERM": "xterm-256color"}
        command = " ".join([
            "env", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
            shlex.quote(sys.executable), "-m", "headroom_cli", "wrap", "claude",
            "--anthropic-upstream", shlex.quote(upstream.url), "--", "--dangerously-skip-permissions",
            ";", "echo", "$?", ">", shlex.quote(str(status_file)), ";", "sleep", "60"])
        _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", str(project), command)
        try:
            _wait_for(session, "headroom: no requests yet")  # our status line, inside Claude Code's screen
            _tmux("send-keys", "-t", session, "run the tests and tell me what failed", "Enter")
            _wait_for(session, "MOCK-FINAL")
            screen = _wait_for(session, "headroom ▼")
            assert "after caching" in screen  # the net saving leads
            sent = [r for r in upstream.requests if r.path == "/v1/messages" and upstream.tool_results(r)]
            assert sent and FAILED_TEST in upstream.tool_results(sent[-1])[0]["text"]
            assert "[headroom:" in upstream.tool_results(sent[-1])[0]["text"]
            _tmux("send-keys", "-t", session, "C-c")
            time.sleep(0.4)
            _tmux("send-keys", "-t", session, "C-c")
            screen = _wait_for(session, "headroom · wrap claude · this session")  # the exit summary
            deadline = time.monotonic() + 20
            while not status_file.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert status_file.read_text().strip() == "0"
        finally:
            _tmux("kill-session", "-t", session)
    assert "headroom" not in (home / ".claude" / "settings.json").read_text()  # nothing written into its settings
