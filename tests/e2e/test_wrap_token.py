"""`headroom wrap` with a proxy token set (HEADROOM_TOKEN): the real Claude Code and Codex CLIs send it
(x-headroom-token, handed to them by wrap), the proxy lets them through and the token stays local."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.mock_upstream import MockUpstream

REPO = Path(__file__).resolve().parents[2]
TOKEN = "wrap-token-0123456789abcdef"


def _binary(env_name: str, relative: str) -> str:
    path = os.environ.get(env_name) or str(REPO / relative)
    assert Path(path).is_file(), f"{path} is missing: run scripts/test, which installs it"
    return path


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", *argv], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)


def _base_env(tmp_path: Path, headroom_home: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
            "HEADROOM_HOME": str(headroom_home), "HEADROOM_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}


def _assert_token_stayed_local(upstream: MockUpstream, path: str) -> None:
    requests = [r for r in upstream.requests if r.path == path]
    assert requests, "nothing reached the upstream: the proxy refused the client"
    for request in requests:
        assert "x-headroom-token" not in request.headers
        assert TOKEN.encode() not in request.body


@pytest.mark.e2e
def test_wrap_claude_with_a_token(tmp_path, headroom_home):
    env = {**_base_env(tmp_path, headroom_home), "HEADROOM_CLAUDE_BIN": _binary(
        "HEADROOM_CLAUDE_BIN", ".cache/npm/node_modules/.bin/claude"), "ANTHROPIC_API_KEY": "sk-ant-test-dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CODE_MAX_RETRIES": "0", "IS_SANDBOX": "1"}
    with MockUpstream() as upstream:
        run = _run(["claude", "--anthropic-upstream", upstream.url, "--quiet", "--", "-p", "say hi",
                    "--output-format", "json"], tmp_path, env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MOCK-FINAL" in run.stdout
    _assert_token_stayed_local(upstream, "/v1/messages")


@pytest.mark.e2e
def test_wrap_codex_with_a_token(tmp_path, headroom_home):
    env = {**_base_env(tmp_path, headroom_home), "OPENAI_API_KEY": "sk-test-dummy",
           "HEADROOM_CODEX_BIN": _binary("HEADROOM_CODEX_BIN", ".cache/npm/node_modules/.bin/codex")}
    with MockUpstream() as upstream:
        run = _run(["codex", "--openai-upstream", upstream.url, "--quiet", "--", "exec", "--skip-git-repo-check",
                    "say hi"], tmp_path, env)
    assert run.returncode == 0, (run.stdout[-1000:], run.stderr[-2000:])
    _assert_token_stayed_local(upstream, "/v1/responses")
