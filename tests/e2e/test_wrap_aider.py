"""The real aider (aider-chat from PyPI, installed by scripts/test into .cache/aider) under
`headroom wrap aider`, against a local mock upstream: OpenAI-compatible, and Anthropic.

aider runs a failing test command (`--message "/test …"`), pastes its 600-line output into a user
message (twice: the history copy and the new message) and reads a long service log as a read-only
file. What the mock receives must be far smaller, hold the facts that matter, and keep every word
aider and the person wrote; aider exits 0, and nothing is written into its configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.markers import find_markers
from headroom_cli.mock_upstream import MockUpstream
from headroom_cli.tokens import count_tokens

from samples import FAILED_MESSAGE, FAILED_TEST, FATAL_LINE, FATAL_STACK, PYTEST_SUMMARY, app_log_with_fatal, pytest_verbose_log

REPO = Path(__file__).resolve().parents[2]
TEST_COMMAND = "python3 run_tests.py"
RAN = f"I ran this command:\n\n{TEST_COMMAND}\n\nAnd got this output:\n\n"
AIDER_FLAGS = ["--no-git", "--yes-always", "--no-check-update", "--no-show-model-warnings", "--no-analytics",
               "--read", "service.log", "--message", f"/test {TEST_COMMAND}", "calc.py"]


@pytest.fixture(scope="module")
def aider_bin() -> str:
    path = os.environ.get("HEADROOM_AIDER_BIN") or str(REPO / ".cache/aider/bin/aider")
    assert Path(path).is_file(), f"aider is not installed at {path}: run scripts/test, which installs it"
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "project"
    proj.mkdir()
    (proj / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (proj / "service.log").write_text(app_log_with_fatal(1500))
    (proj / "test_output.txt").write_text(pytest_verbose_log(600))
    (proj / "run_tests.py").write_text("import sys\nsys.stdout.write(open('test_output.txt').read())\nsys.exit(1)\n")
    return proj


@pytest.fixture
def user_home(tmp_path: Path, aider_bin: str) -> Path:
    """A HOME of its own. aider fetches model metadata from GitHub unless its cache holds a fresh
    copy (../shared/clients/README.md): give it the one litellm ships, so the run stays offline."""
    home = tmp_path / "home"
    cache = home / ".aider" / "caches"
    cache.mkdir(parents=True)
    venv = Path(aider_bin).resolve().parents[1]
    (shipped,) = venv.glob("lib/python3.*/site-packages/litellm/model_prices_and_context_window_backup.json")
    shutil.copy(shipped, cache / "model_prices_and_context_window.json")
    return home


def _wrap_aider(aider_bin: str, upstream: MockUpstream, project: Path, home: Path, headroom_home: Path,
                *aider_args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HEADROOM_HOME": str(headroom_home),
        "HEADROOM_AIDER_BIN": aider_bin,
        "OPENAI_API_KEY": "sk-test-dummy",
        "ANTHROPIC_API_KEY": "sk-ant-test-dummy",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm's own fetch of the same metadata, at import
    }
    argv = [sys.executable, "-m", "headroom_cli", "wrap", "aider", "--openai-upstream", upstream.url,
            "--anthropic-upstream", upstream.url, "--", *aider_args]
    return subprocess.run(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180)


def _user_texts(body: dict) -> list[str]:
    texts = []
    for message in body["messages"]:
        if message["role"] == "user":
            content = message["content"]
            texts += [content] if isinstance(content, str) else [b["text"] for b in content if b.get("type") == "text"]
    return texts


def _check_compressed(texts: list[str], project: Path) -> None:
    test_output = (project / "test_output.txt").read_text()
    ran = [t for t in texts if t.startswith(RAN)]
    assert len(ran) == 2, "aider sends the test output twice: the history copy and the new message"
    first = ran[0][len(RAN):]
    assert count_tokens(first) < 0.2 * count_tokens(test_output)
    for needle in (FAILED_TEST, FAILED_MESSAGE, PYTEST_SUMMARY):
        assert needle in first
    assert find_markers(first)
    assert "[headroom: identical to the earlier output of shell above" in ran[1]  # the copy: one line

    (read_only,) = [t for t in texts if t.startswith("Here are some READ ONLY files")]
    log = (project / "service.log").read_text()
    assert "\nservice.log\n```\n" in read_only and count_tokens(read_only) < 0.15 * count_tokens(log)
    for needle in (FATAL_LINE, *FATAL_STACK):
        assert needle in read_only
    # The file added for editing reaches the model exactly as aider wrote it.
    (editable,) = [t for t in texts if t.startswith("I have *added these files to the chat*")]
    assert editable.endswith("calc.py\n```\ndef add(a, b):\n    return a + b\n```\n")


def _nothing_written_to_config(home: Path, project: Path, proxy_hint: str) -> None:
    for config in (home / ".aider.conf.yml", home / ".env", project / ".aider.conf.yml", project / ".env",
                   home / ".aider.model.settings.yml", home / ".aider.model.metadata.json"):
        assert not config.exists(), config
    for path in home.rglob("*"):
        if path.is_file():
            assert proxy_hint not in path.read_text(errors="replace"), path


@pytest.mark.e2e
def test_wrap_aider_openai_compresses_what_aider_pastes(aider_bin, project, user_home, headroom_home):
    with MockUpstream() as upstream:
        run = _wrap_aider(aider_bin, upstream, project, user_home, headroom_home, "--model", "openai/gpt-4o", *AIDER_FLAGS)
        requests = [r for r in upstream.requests if r.path == "/v1/chat/completions"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "MOCK-FINAL:" in run.stdout, run.stdout[-2000:]  # the mock's answer reached aider
    assert "raw.githubusercontent.com" not in run.stdout + run.stderr  # aider stayed offline
    assert len(requests) == 1
    _check_compressed(_user_texts(requests[0].json()), project)
    # Savings come after aider is done, never in the middle of its output.
    assert "headroom · wrap aider · this session" in run.stderr
    assert "headroom" not in run.stdout.replace("headroom marker", "")
    proxy_url = re.search(r"listening\s+(http://127\.0\.0\.1:\d+)", run.stderr).group(1)
    _nothing_written_to_config(user_home, project, proxy_url)


@pytest.mark.e2e
def test_wrap_aider_anthropic_keeps_the_reminder_aider_appends(aider_bin, project, user_home, headroom_home):
    with MockUpstream() as upstream:
        run = _wrap_aider(aider_bin, upstream, project, user_home, headroom_home,
                          "--model", "anthropic/claude-sonnet-4-5", "--no-stream", *AIDER_FLAGS)
        requests = [r for r in upstream.requests if r.path == "/v1/messages"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "MOCK-FINAL:" in run.stdout, run.stdout[-2000:]
    assert len(requests) == 1 and not [r for r in upstream.requests if r.path.startswith("/v1/chat")]
    body = requests[0].json()
    assert "stream" not in body  # --no-stream: a plain JSON reply came back through the proxy
    texts = _user_texts(body)
    _check_compressed(texts, project)
    # For Claude, aider appends its system reminder to the newest message: it arrives word for word.
    system = "".join(b["text"] for b in body["system"]) if isinstance(body["system"], list) else body["system"]
    reminder_start = texts[-1].index("\n\n\n# *SEARCH/REPLACE block* Rules:") + 3
    assert system.endswith(texts[-1][reminder_start:])


@pytest.mark.e2e
def test_wrap_aider_passes_aiders_exit_code_through(aider_bin, project, user_home, headroom_home):
    with MockUpstream() as upstream:
        run = _wrap_aider(aider_bin, upstream, project, user_home, headroom_home, "--no-such-aider-flag")
    assert run.returncode == 2, (run.returncode, run.stderr[-1000:])  # aider's own usage error
    assert "--no-such-aider-flag" in run.stderr


@pytest.mark.e2e
def test_a_base_url_aider_loads_itself_wins_and_goes_where_it_says(aider_bin, project, user_home, headroom_home):
    """aider reads a .env file after wrap has set its environment: that base URL must be where the
    request goes (uncompressed), never the proxy's upstream."""
    with MockUpstream() as upstream, MockUpstream() as own_server:
        (project / ".env").write_text(f"OPENAI_API_BASE={own_server.url}/v1\n")
        run = _wrap_aider(aider_bin, upstream, project, user_home, headroom_home, "--model", "openai/gpt-4o",
                          *AIDER_FLAGS)
        assert run.returncode == 0 and "MOCK-FINAL:" in run.stdout, run.stderr[-2000:]
        assert upstream.requests == [] and [r.path for r in own_server.requests] == ["/v1/chat/completions"]
