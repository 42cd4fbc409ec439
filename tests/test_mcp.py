"""`headroom mcp`: the MCP tools, the stdio server spoken to by the SDK's client, install/uninstall,
the wrapper's --mcp-config, and the proxy leaving retrievals whole."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.ledger import Ledger
from headroom_cli.markers import find_markers
from headroom_cli.mcp import is_retrieval
from headroom_cli.mcp.server import headroom_compress, headroom_retrieve, headroom_stats
from headroom_cli.retrieve import ToolFailure
from headroom_cli.mock_upstream import _fill_markers
from headroom_cli.wrap import loader
from samples import FAILED_TEST, pytest_verbose_log

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def compressed() -> tuple[str, str]:
    """(original, compressed) of a long pytest log, its original stored under HEADROOM_HOME."""
    original = pytest_verbose_log(400)
    return original, headroom_compress(original, "tests")


def test_compress_stores_the_original_and_retrieve_gives_back_exactly_the_omitted_lines(compressed):
    original, text = compressed
    assert len(text) < len(original) / 4 and FAILED_TEST in text
    marker = find_markers(text)[0]
    a, b = int(marker.group("a")), int(marker.group("b"))
    back = headroom_retrieve(marker.group("id"), f"{a}-{b}")
    assert back == "".join(original.splitlines(keepends=True)[a - 1 : b])
    assert _all_pages(marker.group("id")) == original  # over 30,000 characters: in pages
    assert headroom_retrieve(marker.group("id"), pattern="FAILED").startswith(f"{original.splitlines().index(next(l for l in original.splitlines() if 'FAILED' in l)) + 1}:")


def _all_pages(part_id: str) -> str:
    """A whole original through the tool, following each answer's note to the next page."""
    text, lines = "", None
    for _ in range(100):
        page = headroom_retrieve(part_id, lines)
        body, cut, note = page.partition("[headroom: answer cut")
        text += body
        if not cut:
            return text
        lines = re.search(r'lines "(\d+-\d+)"', note).group(1)
    raise AssertionError("the pages never ended")


def test_retrieve_of_unknown_or_malformed_ids_is_a_clear_final_error():
    with pytest.raises(ToolFailure, match="never compressed here.*Do not retry"):
        headroom_retrieve("hr_0123456789abcdef")
    with pytest.raises(ToolFailure, match="not a Headroom ID"):
        headroom_retrieve("../../etc/passwd")


def test_retrieve_rejects_bad_ranges_and_patterns_clearly(compressed):
    marker = find_markers(compressed[1])[0]
    with pytest.raises(ToolFailure, match="A-B"):
        headroom_retrieve(marker.group("id"), "ten")
    with pytest.raises(ToolFailure, match="regular expression"):
        headroom_retrieve(marker.group("id"), pattern="(")
    assert headroom_retrieve(marker.group("id"), pattern="no such line anywhere") == "(no lines matched)"


def test_retrievals_are_counted_in_the_ledger_and_stats(compressed, headroom_home, monkeypatch):
    monkeypatch.setenv("HEADROOM_SESSION", "s1")
    marker = find_markers(compressed[1])[0]
    headroom_retrieve(marker.group("id"), f"{marker.group('a')}-{marker.group('b')}")
    ledger = Ledger(headroom_home / "ledger.sqlite3")
    assert ledger.retrieval_count("s1") == 1 and ledger.retrieval_count() == 1
    ledger.close()
    assert json.loads(headroom_stats())["retrievals"] == {"this_session": 1, "all_time": 1}
    from typer.testing import CliRunner

    from headroom_cli.cli import app

    shown = CliRunner().invoke(app, ["stats", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["retrievals"]["all_time"] == 1


def _is_error(result) -> bool:
    """mcp 2.x spells CallToolResult's flag is_error; 1.x isError."""
    return getattr(result, "is_error", None) or getattr(result, "isError", False)


def test_the_server_speaks_mcp_over_stdio(compressed, headroom_home):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    original, text = compressed
    marker = find_markers(text)[0]
    params = StdioServerParameters(command=sys.executable, args=["-m", "headroom_cli", "mcp", "serve"],
                                   env={**os.environ, "HEADROOM_HOME": str(headroom_home)}, cwd=str(REPO))

    async def talk():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            ok = await session.call_tool("headroom_retrieve", {"id": marker.group("id"),
                                                               "lines": f"{marker.group('a')}-{marker.group('b')}"})
            missing = await session.call_tool("headroom_retrieve", {"id": "hr_ffffffffffffffff"})
            return tools, ok, missing

    tools, ok, missing = asyncio.run(asyncio.wait_for(talk(), 60))
    assert set(tools) == {"headroom_retrieve", "headroom_compress", "headroom_stats"}
    assert "marker" in tools["headroom_retrieve"].description and "--lines" in tools["headroom_retrieve"].description
    assert not _is_error(ok)
    a, b = int(marker.group("a")), int(marker.group("b"))
    assert ok.content[0].text == "".join(original.splitlines(keepends=True)[a - 1 : b])
    assert _is_error(missing) and "Do not retry" in missing.content[0].text


def test_an_image_id_is_answered_with_the_original_image_over_stdio(headroom_home):
    """Retrieval of an image's ID hands back MCP image content holding the original bytes (the SDK's
    own client reads it), and the plain function says what it is first; a text ID still gets text."""
    import base64

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from headroom_cli.config import database_target
    from headroom_cli.store import Store
    from image_samples import terminal_png

    original = terminal_png()
    store = Store(database_target("store"))
    try:
        store.put("hr_00000000000000ab", "image", base64.b64encode(original).decode())
    finally:
        store.close()
    direct = headroom_retrieve("hr_00000000000000ab")
    assert "1920x1080" in direct[0].text and base64.b64decode(direct[1].data) == original
    params = StdioServerParameters(command=sys.executable, args=["-m", "headroom_cli", "mcp", "serve"],
                                   env={**os.environ, "HEADROOM_HOME": str(headroom_home)}, cwd=str(REPO))

    async def talk():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool("headroom_retrieve", {"id": "hr_00000000000000ab"})

    result = asyncio.run(asyncio.wait_for(talk(), 60))
    assert not _is_error(result)
    text, image = result.content
    assert text.type == "text" and "original image hr_00000000000000ab" in text.text
    assert image.type == "image" and base64.b64decode(image.data) == original
    assert (getattr(image, "mimeType", None) or image.mime_type) == "image/png"
    ledger = Ledger(database_target("ledger"))
    try:
        assert ledger.retrieval_count() == 2  # the direct call and the one over stdio
    finally:
        ledger.close()


# -- install / uninstall (no Claude Code on PATH: the documented files are edited) -------------------


def _headroom(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HEADROOM_HOME": str(home / "hh")}
    return subprocess.run([sys.executable, "-m", "headroom_cli", "mcp", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("scope", ["user", "project"])
def test_install_then_uninstall_edits_exactly_one_entry(tmp_path, scope):
    home, proj = tmp_path / "home", tmp_path / "proj"
    home.mkdir(), proj.mkdir()
    path = home / ".claude.json" if scope == "user" else proj / ".mcp.json"
    before = {"theme": "dark", "mcpServers": {"other": {"command": "x", "args": []}}}
    path.write_text(json.dumps(before))

    done = _headroom("install", "--scope", scope, cwd=proj, home=home)
    assert done.returncode == 0, done.stderr
    assert f"Added mcpServers.headroom to {path}" in done.stdout
    after = json.loads(path.read_text())
    entry = after["mcpServers"].pop("headroom")
    assert after == before
    assert entry["command"] == sys.executable and entry["args"] == ["-m", "headroom_cli", "mcp", "serve"]
    again = _headroom("install", "--scope", scope, cwd=proj, home=home)
    assert again.returncode == 0 and "Already installed" in again.stdout

    done = _headroom("uninstall", "--scope", scope, cwd=proj, home=home)
    assert done.returncode == 0 and f"Removed mcpServers.headroom from {path}" in done.stdout
    assert json.loads(path.read_text()) == before


def test_project_install_into_no_file_and_uninstall_leaves_no_file(tmp_path):
    home, proj = tmp_path / "home", tmp_path / "proj"
    home.mkdir(), proj.mkdir()
    assert _headroom("install", "--scope", "project", cwd=proj, home=home).returncode == 0
    assert list(json.loads((proj / ".mcp.json").read_text())["mcpServers"]) == ["headroom"]
    assert _headroom("uninstall", "--scope", "project", cwd=proj, home=home).returncode == 0
    assert not (proj / ".mcp.json").exists() and not (home / ".claude.json").exists()


def test_someone_elses_headroom_entry_is_left_alone(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    theirs = {"mcpServers": {"headroom": {"command": "something-else"}}}
    (home / ".claude.json").write_text(json.dumps(theirs))
    for command in ("install", "uninstall"):
        done = _headroom(command, cwd=tmp_path, home=home)
        assert done.returncode == 1 and "left it alone" in done.stderr
    assert json.loads((home / ".claude.json").read_text()) == theirs


@pytest.mark.e2e
def test_install_uses_claude_codes_own_cli_when_present(tmp_path):
    claude = os.environ.get("HEADROOM_CLAUDE_BIN") or str(REPO / ".cache/npm/node_modules/.bin/claude")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HEADROOM_CLAUDE_BIN": claude,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "headroom_cli", "mcp", *a], cwd=tmp_path, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    done = run("install")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mcp add --scope user headroom --" in done.stdout
    entry = json.loads((home / ".claude.json").read_text())["mcpServers"]["headroom"]
    assert entry["command"] == sys.executable and entry["args"][-3:] == ["headroom_cli", "mcp", "serve"]
    done = run("uninstall")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "headroom" not in json.loads((home / ".claude.json").read_text()).get("mcpServers", {})


# -- wrap, the mock's marker templating, the proxy ----------------------------------------------------


def test_claude_wrapper_hands_over_the_mcp_server_for_the_session_only():
    env, args = loader.load("claude").render("http://127.0.0.1:4321", "sess-1", "/tmp/hh", mcp=True)  # `--mcp`
    (flag,) = [a for a in args if a.startswith("--mcp-config")]
    assert flag.startswith("--mcp-config=")  # one argument: the flag takes several values
    server = json.loads(flag.split("=", 1)[1])["mcpServers"]["headroom"]
    assert server["command"] == sys.executable and server["args"] == ["-m", "headroom_cli", "mcp", "serve"]
    assert server["env"] == {"HEADROOM_HOME": "/tmp/hh", "HEADROOM_SESSION": "sess-1"}


def test_mock_fills_marker_placeholders_from_the_latest_tool_result():
    result = "a\n[headroom: 9 lines omitted (9 PASSED) · retrieve hr_00112233445566ff --lines 3-11]\nb\n"
    step = {"id": "{marker.id}", "lines": "{marker.lines}", "nested": ["{marker.first}/{marker.last}"], "n": 1}
    assert _fill_markers(step, result) == {"id": "hr_00112233445566ff", "lines": "3-11", "nested": ["3/11"], "n": 1}
    assert _fill_markers(step, "no marker") == step


def test_retrievals_pass_the_proxy_uncompressed():
    assert is_retrieval("mcp__headroom__headroom_retrieve") and is_retrieval("headroom_retrieve")
    assert is_retrieval("Bash", "headroom retrieve hr_00112233445566ff --lines 3-9")
    assert not is_retrieval("Bash", "pytest -q") and not is_retrieval("mcp__other__retrieve")
    from headroom_cli.pipeline import Pipeline
    from headroom_cli.providers import adapter_for
    from headroom_cli.rewrite import rewrite_body

    log = pytest_verbose_log(300)
    body = {"model": "m", "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "mcp__headroom__headroom_retrieve",
                                           "input": {"id": "hr_00112233445566ff"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]}
    raw = json.dumps(body).encode()
    assert rewrite_body(raw, adapter_for("/v1/messages"), Pipeline()).body == raw
