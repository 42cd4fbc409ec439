"""Wrapper files (wrappers/*.toml): each tool is one declarative file; the runner does the rest."""

from __future__ import annotations

import json
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.providers import adapter_for
from headroom_cli.wrap import loader, runner
from headroom_cli.wrap.generic import GENERIC, with_generic_tool
from headroom_cli.wrap.upstreams import inherit_upstreams

REPO = Path(__file__).resolve().parents[1]
URL = "http://127.0.0.1:4321"


@pytest.mark.parametrize("name", loader.available())
def test_every_wrapper_file_loads_and_the_manual_documents_it(name):
    wrapper = loader.load(name)
    assert wrapper.name == name
    wrapper.render(URL, "s", "/h")  # every placeholder it uses is known
    if wrapper.mode == loader.FOREGROUND:
        assert wrapper.instructions.format(**wrapper.values(URL, openai_upstream="o", anthropic_upstream="a"))
    manual = (REPO / "docs" / "wrap.md").read_text()
    assert f"wrappers/{name}.toml" in manual


@pytest.mark.parametrize("args, environ, chosen, unserved", [
    (["--model", "openai/gpt-4o", "--yes-always"], {}, ["openai"], []),
    (["--model=sonnet"], {}, ["anthropic"], []),
    (["--model", "claude-opus-4-6", "--weak-model", "gpt-4o-mini"], {}, ["anthropic", "openai"], []),
    ([], {"AIDER_MODEL": "o3-mini"}, ["openai"], []),
    ([], {}, ["anthropic", "openai"], []),  # aider picks by the keys it finds: both
    (["--model", "openrouter/anthropic/claude-3.5"], {}, [], ["openrouter/anthropic/claude-3.5"]),
    (["-m", "fix --model x"], {}, ["anthropic", "openai"], []),  # -m is aider's --message
])
def test_aider_points_the_chosen_models_provider_at_the_proxy(args, environ, chosen, unserved):
    wrapper = loader.load("aider")
    assert wrapper.providers_for(args, environ) == (chosen, unserved)
    env, _ = wrapper.render(URL, providers=chosen, environ=environ)
    expected = ({"OPENAI_API_BASE": URL + "/v1"} if "openai" in chosen else {}) | (
        {"ANTHROPIC_BASE_URL": URL} if "anthropic" in chosen else {})
    assert env == expected


def test_aider_base_urls_set_elsewhere_win_and_go_where_they_say():
    """litellm prefers OPENAI_BASE_URL to OPENAI_API_BASE (and ANTHROPIC_API_BASE to ANTHROPIC_BASE_URL):
    wrap sets the one it reads last, so what aider loads later (.env, --openai-api-base) is never sent
    to the wrong place; the preferred one is pointed at the proxy only when the person set it."""
    wrapper = loader.load("aider")
    environ = {"OPENAI_BASE_URL": "https://gw.example/v1", "ANTHROPIC_API_BASE": "https://gw.example/anthropic"}
    env, _ = wrapper.render(URL, environ=environ)
    assert env == {"OPENAI_API_BASE": URL + "/v1", "OPENAI_BASE_URL": URL + "/v1",
                   "ANTHROPIC_BASE_URL": URL, "ANTHROPIC_API_BASE": URL}
    settings, _ = inherit_upstreams(wrapper, ["openai", "anthropic"], Settings.resolve(),
                                           {**environ, "OPENAI_API_BASE": "http://other/v1"})
    assert settings.openai_upstream == "https://gw.example"  # the one litellm would have used
    assert settings.anthropic_upstream == "https://gw.example/anthropic"


def test_a_base_url_the_person_set_becomes_the_upstream_unless_one_was_given(headroom_home):
    aider = loader.load("aider")
    environ = {"OPENAI_API_BASE": "http://localhost:11434/v1"}  # e.g. a local OpenAI-compatible server
    settings, notes = inherit_upstreams(aider, ["openai"], Settings.resolve(), environ)
    assert settings.openai_upstream == "http://localhost:11434"
    assert notes == ["openai requests go on to http://localhost:11434, from your OPENAI_API_BASE"]
    given = Settings.resolve(openai_upstream="http://gateway:1")
    assert inherit_upstreams(aider, ["openai"], given, environ) == (given, [])
    claude = loader.load("claude")
    settings, _ = inherit_upstreams(claude, ["anthropic"], Settings.resolve(), {"ANTHROPIC_BASE_URL": "https://gw.example/anthropic/"})
    assert settings.anthropic_upstream == "https://gw.example/anthropic"
    # Not a URL, or not in the shape the variable is set to: left alone.
    for odd in ({"OPENAI_API_BASE": "localhost:11434/v1"}, {"OPENAI_BASE_URL": "https://example.com/openai"}):
        assert inherit_upstreams(aider, ["openai"], Settings.resolve(), odd)[0].openai_upstream == "https://api.openai.com"


@pytest.mark.parametrize("args, expected", [
    (["--", "python", "app.py"], [GENERIC, "--", "python", "app.py"]),
    (["--port", "0", "-q", "--", "python", "-q"], ["--port", "0", "-q", GENERIC, "--", "python", "-q"]),
    (["--port=0", "--no-compress", "--", "x"], ["--port=0", "--no-compress", GENERIC, "--", "x"]),
    (["claude", "--", "-p", "hi"], ["claude", "--", "-p", "hi"]),
    (["--port", "0", "aider", "--", "--model", "x"], ["--port", "0", "aider", "--", "--model", "x"]),
])
def test_a_double_dash_before_any_tool_name_means_any_command(args, expected):
    from headroom_cli.cli import app
    import typer.main

    params = typer.main.get_command(app).commands["wrap"].params
    assert with_generic_tool(args, params) == expected


def test_codex_gets_a_provider_and_the_mcp_server_as_toml_overrides():
    _, args = loader.load("codex").render(URL, "session-1", "/state")
    overrides = dict(a.split("=", 1) for a in args[1::2])
    assert args[0::2] == ["-c"] * 3
    provider = tomllib.loads("p = " + overrides["model_providers.headroom"])["p"]
    assert provider == {"name": "Headroom", "base_url": URL + "/v1", "wire_api": "responses", "requires_openai_auth": True,
                        "env_http_headers": {"x-headroom-token": "HEADROOM_TOKEN"}}  # sent only when it is set
    assert overrides["model_provider"] == "headroom"
    server = tomllib.loads("s = " + overrides["mcp_servers.headroom"])["s"]
    claude_config = json.loads(loader.load("claude").render(URL, "session-1", "/state", mcp=True)[1][-1].split("=", 1)[1])
    assert {"type": "stdio", **server} == claude_config["mcpServers"]["headroom"]  # the same server, in TOML


def test_claude_gets_headroom_s_mcp_server_only_when_asked():
    """Issue 14: by default the proxy's own retrieve tool serves Claude Code (an MCP server costs every
    request about 1,000 tokens of tool definitions); `--mcp` still hands it the server. Codex keeps it
    (the proxy offers no tool on the Responses API), unless `--no-mcp`."""
    claude, codex = loader.load("claude"), loader.load("codex")
    assert not any("mcp" in a for a in claude.render(URL, "s", "/h")[1])
    assert any(a.startswith("--mcp-config=") for a in claude.render(URL, "s", "/h", mcp=True)[1])
    assert any(a.startswith("mcp_servers.headroom=") for a in codex.render(URL, "s", "/h")[1])
    assert not any(a.startswith("mcp_servers.") for a in codex.render(URL, "s", "/h", mcp=False)[1])


def test_cursor_is_served_in_the_foreground_and_takes_its_text_from_the_file():
    cursor = loader.load("cursor")
    assert cursor.mode == loader.FOREGROUND and cursor.binary == ""
    text = cursor.instructions.format(**cursor.values(URL, openai_upstream="https://api.openai.com", anthropic_upstream=""))
    assert f"cloudflared tunnel --url {URL}" in text and "ngrok http 4321" in text and "/v1" in text


def test_cursors_responses_shaped_chat_requests_are_compressed_too():
    """Cursor's agent posts Responses-API bodies to /v1/chat/completions."""
    body = {"model": "gpt-5", "input": [
        {"type": "function_call", "call_id": "c1", "name": "run_terminal_cmd", "arguments": '{"command": "pytest"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "x" * 50}]}
    (slot,) = adapter_for("/v1/chat/completions").slots(body)
    assert (slot.text, slot.tool_input) == ("x" * 50, "pytest")


def test_a_wrapper_file_with_an_unknown_provider_or_mode_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "WRAPPER_DIRS", (tmp_path,))
    (tmp_path / "bad.toml").write_text('name = "bad"\nbinary = "x"\n[providers.gemini]\nenv = {}\n')
    (tmp_path / "odd.toml").write_text('name = "odd"\nbinary = "x"\nmode = "sideways"\n')
    for name in ("bad", "odd"):
        with pytest.raises(loader.WrapperError, match="is invalid"):
            loader.load(name)


TOOL = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({k: os.environ.get(k) for k in ("NEWTOOL_OPENAI", "ANTHROPIC_BASE_URL", "HEADROOM_SESSION")}))
    sys.exit(5)
""")


def test_adding_a_tool_is_adding_a_file(tmp_path, monkeypatch, capfd, headroom_home):
    (tmp_path / "newtool.py").write_text(TOOL)
    monkeypatch.setattr(loader, "WRAPPER_DIRS", (tmp_path,))
    (tmp_path / "newtool.toml").write_text(textwrap.dedent(f"""
        name = "newtool"
        binary = {json.dumps(sys.executable)}
        args = [{json.dumps(str(tmp_path / "newtool.py"))}]
        [model]
        flags = ["--llm"]
        [providers.openai]
        env = {{ NEWTOOL_OPENAI = "{{proxy_url}}/v1" }}
        models = ["gpt-*"]
        [providers.anthropic]
        env = {{ ANTHROPIC_BASE_URL = "{{proxy_url}}" }}
        models = ["claude-*"]
    """))
    assert "newtool" in loader.available()
    result = runner.run(loader.load("newtool"), Settings.resolve(port=0), ["--llm", "gpt-5"])
    assert result.exit_code == 5
    seen = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert seen == {"NEWTOOL_OPENAI": result.proxy.url + "/v1", "ANTHROPIC_BASE_URL": None,
                    "HEADROOM_SESSION": result.proxy.session}


def test_mcp_for_a_tool_that_cannot_take_the_server_is_one_clear_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from headroom_cli.cli import app

    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path))
    done = CliRunner().invoke(app, ["wrap", "--mcp", "aider"])
    assert done.exit_code == 2
    assert "cannot hand the tool Headroom's MCP server: drop --mcp" in " ".join(done.output.split())
