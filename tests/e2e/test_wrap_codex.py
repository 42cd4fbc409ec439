"""The real OpenAI Codex CLI (@openai/codex, installed by scripts/test into .cache/npm) under
`headroom wrap codex`, against a local mock Responses upstream.

The mock asks Codex to run a command printing a long pytest log, then to run the `headroom retrieve`
command a marker names. What the mock receives must be far smaller with the facts kept, the retrieval
must arrive whole, and the person's ~/.codex/config.toml must be exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.markers import find_markers
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.tokens import count_tokens
from headroom_cli.wrap import loader

from samples import FAILED_MESSAGE, FAILED_TEST, PYTEST_SUMMARY, pytest_verbose_log

REPO = Path(__file__).resolve().parents[2]
# The person's own configuration, offline (../shared/clients/codex-config.toml.example) and with a model
# from Codex's catalog; `wrap` must layer its provider over it and leave the file alone.
USER_CONFIG = """model = "gpt-5.5"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
apps = false
"""


@pytest.fixture(scope="module")
def codex_bin() -> str:
    path = os.environ.get("HEADROOM_CODEX_BIN") or str(REPO / ".cache/npm/node_modules/.bin/codex")
    assert Path(path).is_file(), f"the Codex CLI is not installed at {path}: run scripts/test, which installs it"
    return path


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(USER_CONFIG)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "project"
    proj.mkdir()
    (proj / "test_output.txt").write_text(pytest_verbose_log(300))  # under Codex's own ~10k-token cut
    return proj


def _env(codex_bin: str, home: Path, headroom_home: Path) -> dict[str, str]:
    return {
        # headroom on PATH, as for anyone who installed it: the model may run `headroom retrieve`.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "HEADROOM_HOME": str(headroom_home),
        "HEADROOM_CODEX_BIN": codex_bin,
        "OPENAI_API_KEY": "sk-test-dummy",
        # the checkout under test, where one is named, rather than whatever the interpreter has installed
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
    }


@pytest.mark.e2e
def test_wrap_codex_compresses_function_call_output_and_a_retrieval_arrives_whole(codex_bin, user_home, project, headroom_home):
    script = [ToolStep("exec_command", {"cmd": "cat test_output.txt"}),
              ToolStep("exec_command", {"cmd": "headroom retrieve {marker.id} --lines {marker.lines}",
                                              "login": False})]  # a login shell would reset PATH here (root)
    with MockUpstream(script) as upstream:
        run = subprocess.run(
            [sys.executable, "-m", "headroom_cli", "wrap", "codex", "--openai-upstream", upstream.url, "--",
             "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "run the tests"],
            cwd=project, env=_env(codex_bin, user_home, headroom_home), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=180)
        requests = [r for r in upstream.requests if r.path == "/v1/responses"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "MOCK-FINAL: 2 function_call_outputs" in run.stdout, run.stdout[-2000:]
    assert len(requests) == 3 and all(r.json()["stream"] is True for r in requests)

    log = (project / "test_output.txt").read_text()
    (first,) = upstream.tool_results(requests[1])
    assert count_tokens(first["text"]) < 0.25 * count_tokens(log)
    for needle in (FAILED_TEST, FAILED_MESSAGE, PYTEST_SUMMARY):
        assert needle in first["text"]
    marker = find_markers(first["text"])[0]
    a, b = int(marker.group("a")), int(marker.group("b"))
    # Line numbers count in the whole output as Codex sent it (its own header lines, then the log).
    original = subprocess.run([sys.executable, "-m", "headroom_cli", "retrieve", marker.group("id")],
                              env={**os.environ, "HEADROOM_HOME": str(headroom_home)},
                              capture_output=True, text=True).stdout
    assert original.startswith("Chunk ID: ") and original.endswith(log)
    omitted = "".join(original.splitlines(keepends=True)[a - 1:b])
    assert b - a > 10 and omitted in log and omitted not in first["text"]

    again, retrieved = upstream.tool_results(requests[2])
    assert again["text"] == first["text"]  # re-sent history: the same bytes
    assert omitted in retrieved["text"] and not find_markers(retrieved["text"])  # whole, not compressed again

    assert (user_home / ".codex" / "config.toml").read_text() == USER_CONFIG
    assert "headroom · wrap codex · this session" in run.stderr


@pytest.mark.e2e
def test_codex_reads_the_provider_and_the_mcp_server_wrap_hands_it(codex_bin, user_home, project, headroom_home):
    """The `-c` overrides the wrapper file gives Codex are what Codex itself understands."""
    _, args = loader.load("codex").render("http://127.0.0.1:4321", "session-1", str(headroom_home))
    env = _env(codex_bin, user_home, headroom_home)
    server = subprocess.run([codex_bin, *args, "mcp", "get", "headroom", "--json"], cwd=project, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert server.returncode == 0, server.stderr[-2000:]
    transport = json.loads(server.stdout)["transport"]
    assert transport["command"] == sys.executable and transport["args"] == ["-m", "headroom_cli", "mcp", "serve"]
    assert transport["env"] == {"HEADROOM_HOME": str(headroom_home), "HEADROOM_SESSION": "session-1"}
    assert (user_home / ".codex" / "config.toml").read_text() == USER_CONFIG


@pytest.mark.e2e
def test_wrap_codex_passes_codexs_exit_code_through(codex_bin, user_home, project, headroom_home):
    with MockUpstream() as upstream:
        upstream.fail_status = 400  # not retried: Codex gives up at once
        run = subprocess.run(
            [sys.executable, "-m", "headroom_cli", "wrap", "codex", "--openai-upstream", upstream.url, "--",
             "exec", "--skip-git-repo-check", "say hi"],
            cwd=project, env=_env(codex_bin, user_home, headroom_home), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=180)
    assert run.returncode == 1, (run.returncode, run.stdout[-500:], run.stderr[-1500:])
