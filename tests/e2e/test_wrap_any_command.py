"""`headroom wrap -- CMD …` with real clients (the official anthropic and openai SDKs, Claude Code), and
`headroom wrap cursor`: instructions, then the proxy in the foreground with the live dashboard."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.tokens import count_tokens

from samples import FAILED_MESSAGE, FAILED_TEST, PYTEST_SUMMARY, pytest_verbose_log

REPO = Path(__file__).resolve().parents[2]

# Both SDKs as an app would use them: no base URL in the code, so they read the environment.
SDK_APP = textwrap.dedent('''
    import sys
    import anthropic, openai

    log = open("test_output.txt").read()
    reply = anthropic.Anthropic().messages.create(model="claude-sonnet-4-5", max_tokens=200, messages=[
        {"role": "user", "content": "run the tests"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}])
    print(reply.content[0].text)
    chat = openai.OpenAI().chat.completions.create(model="gpt-4o", messages=[
        {"role": "user", "content": "run the tests"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "shell", "arguments": '{"cmd": "pytest -v"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": log}])
    print(chat.choices[0].message.content)
    sys.exit(3)
''')


def _env(headroom_home: Path, home: Path, **more: str) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "HEADROOM_HOME": str(headroom_home),
            "ANTHROPIC_API_KEY": "sk-ant-test-dummy", "OPENAI_API_KEY": "sk-test-dummy", **more}


@pytest.mark.e2e
def test_wrap_any_command_points_both_sdks_at_the_proxy(tmp_path, headroom_home):
    (tmp_path / "app.py").write_text(SDK_APP)
    log = pytest_verbose_log(600)
    (tmp_path / "test_output.txt").write_text(log)
    with MockUpstream() as upstream:
        run = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", "--anthropic-upstream", upstream.url,
                              "--openai-upstream", upstream.url, "--", sys.executable, "app.py"],
                             cwd=tmp_path, env=_env(headroom_home, tmp_path / "home"), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        paths = [r.path for r in upstream.requests]
        outputs = [upstream.tool_results(r)[0]["text"] for r in upstream.requests]
    assert run.returncode == 3, run.stderr[-2000:]  # the command's own exit code
    assert paths == ["/v1/messages", "/v1/chat/completions"]
    answers = run.stdout.splitlines()
    assert len(answers) == 2 and all(a.startswith("MOCK-FINAL: 1 ") and "headroom marker: yes" in a for a in answers)
    for text in outputs:
        assert count_tokens(text) < 0.2 * count_tokens(log)
        for needle in (FAILED_TEST, FAILED_MESSAGE, PYTEST_SUMMARY):
            assert needle in text
    assert "headroom · wrap command · this session" in run.stderr


@pytest.mark.e2e
def test_wrap_any_command_runs_claude_code(tmp_path, headroom_home):
    claude = os.environ.get("HEADROOM_CLAUDE_BIN") or str(REPO / ".cache/npm/node_modules/.bin/claude")
    assert Path(claude).is_file(), f"Claude Code is not installed at {claude}: run scripts/test"
    log = pytest_verbose_log(340)
    assert len(log) < 30_000  # under Claude Code's own cap, past which it sends a 2 KB preview
    (tmp_path / "test_output.txt").write_text(log)
    script = [ToolStep("Bash", {"command": "cat test_output.txt", "description": "Run the tests"})]
    env = _env(headroom_home, tmp_path / "home", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
               CLAUDE_CODE_MAX_RETRIES="0", IS_SANDBOX="1")
    with MockUpstream(script) as upstream:
        run = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", "-q", "--anthropic-upstream", upstream.url,
                              "--", claude, "-p", "run the tests", "--dangerously-skip-permissions"],
                             cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        final = [r for r in upstream.requests if r.path == "/v1/messages"][-1]
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("MOCK-FINAL: 1 tool_results") and run.stderr == ""  # -q: nothing of ours
    (result,) = upstream.tool_results(final)
    assert FAILED_TEST in result["text"] and count_tokens(result["text"]) < 0.25 * count_tokens(log)


@pytest.mark.e2e
def test_wrap_with_no_command_or_a_missing_one_says_so_in_one_line(tmp_path, headroom_home):
    env = _env(headroom_home, tmp_path / "home")
    for argv, code, words in ((["--"], 127, "say which command to run after --"),
                              (["--", "no-such-command-xyz"], 127, "no-such-command-xyz: command not found")):
        run = subprocess.run([sys.executable, "-m", "headroom_cli", "wrap", *argv], cwd=tmp_path, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert run.returncode == code and words in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_wrap_cursor_prints_what_to_set_and_serves_with_the_dashboard(tmp_path, headroom_home):
    """Cursor itself cannot run here; its requests (made from Cursor's servers, through a tunnel) are
    what the official openai SDK sends to the same base URL."""
    import openai

    log = pytest_verbose_log(600)
    with MockUpstream() as upstream:
        proc = subprocess.Popen([sys.executable, "-m", "headroom_cli", "wrap", "cursor", "--openai-upstream", upstream.url],
                                cwd=tmp_path, env=_env(headroom_home, tmp_path / "home"), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        instructed = threading.Event()

        def read() -> None:
            for line in proc.stderr:
                lines.append(line)
                if "use Cursor's models again" in line:
                    instructed.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert instructed.wait(30), "".join(lines)
        shown = "".join(lines)
        url = re.search(r"listening\s+(http://127\.0\.0\.1:\d+)", shown).group(1)
        assert f"cloudflared tunnel --url {url}" in shown and "Override OpenAI Base URL" in shown
        assert f"passed on to {upstream.url}" in shown

        chat = openai.OpenAI(base_url=url + "/v1", api_key="sk-test-dummy").chat.completions.create(
            model="gpt-4o", messages=[
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                                        "function": {"name": "run_terminal_cmd", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": log}])
        assert "headroom marker: yes" in chat.choices[0].message.content
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        reader.join(timeout=10)
    (received,) = upstream.tool_results(upstream.requests[-1])
    assert FAILED_TEST in received["text"] and count_tokens(received["text"]) < 0.2 * count_tokens(log)
    summary = "".join(lines)[len(shown):]
    # The dashboard (drawn live at a terminal; its last frame only, into a pipe), then the summary.
    assert summary.index("headroom dashboard · session") < summary.index("headroom · wrap cursor · this session")
    assert re.search(r"│\s+1 │", summary), summary  # one request in the session's totals
