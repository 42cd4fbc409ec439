"""Settings precedence, wrapper files, and the generic child-process runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.wrap import loader, runner


def test_flag_beats_environment_beats_default(monkeypatch, headroom_home):
    assert Settings.resolve().port == 8787
    monkeypatch.setenv("HEADROOM_PORT", "9999")
    monkeypatch.setenv("HEADROOM_ANTHROPIC_UPSTREAM", "http://env-upstream:1/")
    monkeypatch.setenv("HEADROOM_NO_COMPRESS", "1")
    s = Settings.resolve()
    assert (s.port, s.anthropic_upstream, s.compress, s.home) == (9999, "http://env-upstream:1", False, headroom_home)
    s = Settings.resolve(port=1234, anthropic_upstream="http://flag:2")
    assert (s.port, s.anthropic_upstream, s.openai_upstream) == (1234, "http://flag:2", "https://api.openai.com")


def test_part_budget_comes_from_the_environment_and_reaches_the_pipeline(monkeypatch, headroom_home):
    from headroom_cli.runtime import build_pipeline

    assert Settings.resolve().part_budget_ms == 5000  # seconds of CPU: a guard, not a routine cut
    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", "2000")
    settings = Settings.resolve()
    assert settings.part_budget_ms == 2000
    assert build_pipeline(settings, None).part_budget_s == 2.0
    monkeypatch.setenv("HEADROOM_PART_BUDGET_MS", "soon")
    with pytest.raises(ValueError, match="HEADROOM_PART_BUDGET_MS must be a whole number of milliseconds"):
        Settings.resolve()


def test_claude_wrapper_file_renders_env_and_statusline_settings():
    wrapper = loader.load("claude")
    env, args = wrapper.render("http://127.0.0.1:4321")
    assert env == {"ANTHROPIC_BASE_URL": "http://127.0.0.1:4321"}
    assert args[0] == "--settings"
    settings = json.loads(args[1])
    command = settings["statusLine"]["command"]
    assert settings["statusLine"]["type"] == "command" and "headroom_cli.ui.statusline" in command
    assert "claude" in loader.available()


def test_unknown_wrapper_names_the_known_ones():
    with pytest.raises(loader.WrapperError, match="known: .*claude"):
        loader.load("no-such-tool")


FAKE_TOOL = textwrap.dedent("""
    import json, os, signal, sys, time, urllib.request
    if "--wait" in sys.argv:  # before it says it is up: the test sends SIGTERM as soon as it reads that
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))
    health = json.load(urllib.request.urlopen(os.environ["FAKE_BASE"] + "/headroom/health"))
    print(json.dumps({"base": os.environ["FAKE_BASE"], "session": os.environ["HEADROOM_SESSION"],
                      "health": health["status"], "args": sys.argv[1:]}), flush=True)
    if "--wait" in sys.argv:
        time.sleep(30)
    sys.exit(int(sys.argv[-1]))
""")


def _fake_wrapper(tmp_path: Path) -> loader.Wrapper:
    script = tmp_path / "fake_tool.py"
    script.write_text(FAKE_TOOL)
    return loader.Wrapper(name="fake", description="a fake tool", binary=sys.executable,
                          install_hint="not installed", env={"FAKE_BASE": "{proxy_url}"}, args=(str(script),))


def test_runner_runs_the_tool_against_the_proxy_and_returns_its_exit_code(tmp_path, headroom_home, capfd):
    settings = Settings.resolve(port=0)
    result = runner.run(_fake_wrapper(tmp_path), settings, ["--flag", "7"])
    assert result.exit_code == 7
    seen = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert seen["base"] == result.proxy.url and seen["health"] == "ok"
    assert seen["session"] == result.proxy.session and seen["args"] == ["--flag", "7"]


def test_missing_tool_is_reported_with_the_install_hint(tmp_path, monkeypatch):
    wrapper = loader.load("claude")
    monkeypatch.setenv("HEADROOM_CLAUDE_BIN", str(tmp_path / "nope"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(runner.ToolNotInstalled, match="npm install -g @anthropic-ai/claude-code"):
        runner.find_binary(wrapper)


def test_sigterm_is_forwarded_to_the_tool_and_its_code_returned(tmp_path, headroom_home):
    # Run `headroom wrap` for real in a subprocess, with a fake tool registered through a wrapper dir.
    script = tmp_path / "fake_tool.py"
    script.write_text(FAKE_TOOL)
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import sys
        from headroom_cli.config import Settings
        from headroom_cli.wrap import loader, runner
        w = loader.Wrapper(name="fake", description="", binary=sys.executable, install_hint="",
                           env={{"FAKE_BASE": "{{proxy_url}}"}}, args=({str(script)!r},))
        sys.exit(runner.run(w, Settings.resolve(port=0), ["--wait", "0"]).exit_code)
    """))
    proc = subprocess.Popen([sys.executable, str(driver)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "HEADROOM_HOME": str(headroom_home)})
    first = proc.stdout.readline()  # the tool is up and has talked to the proxy
    assert json.loads(first)["health"] == "ok"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
