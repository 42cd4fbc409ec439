"""`headroom demo`: the main job end to end with no API key and no coding agent installed.

An embedded mock Anthropic upstream plays the model; this module plays the agent (it runs the
"tools" by returning real captured outputs); the real proxy sits between them and compresses.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from headroom_cli.config import Settings, headroom_home
from headroom_cli.db import private_dir
from headroom_cli.markers import find_markers
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.retrieve import retrieve
from headroom_cli.tokens import count_tokens
from headroom_cli.ui.format import dollars, percent, tokens

MODEL = "claude-sonnet-4-5"
PROMPT = "The billing tests fail since this morning and invoices stopped going out. Find out why."


@dataclass(frozen=True)
class DemoStep:
    """One tool call of the scripted session, and the real output the agent gets back."""

    tool: str
    input: dict
    label: str
    data_file: str
    read_format: bool = False

    def output(self) -> str:
        text = _data(self.data_file)
        return _read_format(text) if self.read_format else text


STEPS = (
    DemoStep("Bash", {"command": "pytest -v", "description": "Run the test suite"}, "Bash `pytest -v`",
             "pytest_run.txt.gz"),
    DemoStep("Read", {"file_path": "/srv/api/logs/billing_api.log"}, "Read billing_api.log",
             "billing_api.log.gz", read_format=True),
    DemoStep("Bash", {"command": "curl -s 'https://billing.internal/api/invoices?date=2026-06-20'",
                      "description": "List today's invoices"}, "Bash `curl …/api/invoices` (JSON)",
             "invoices_api.json.gz"),
)
TOOLS = [
    {"name": "Bash", "description": "Run a shell command.",
     "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
    {"name": "Read", "description": "Read a file.",
     "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}},
]


def _data(name: str) -> str:
    return gzip.decompress(resources.files("headroom_cli.demo_data").joinpath(name).read_bytes()).decode()


def _read_format(text: str) -> str:
    """How Claude Code's Read tool presents a file: `N<TAB>line`."""
    return "".join(f"{n}\t{line}" for n, line in enumerate(text.splitlines(keepends=True), start=1))


@dataclass
class Turn:
    label: str
    before: int = 0
    after: int = 0


@dataclass
class AgentReply:
    text: str = ""
    tool_use: dict | None = None
    stop_reason: str | None = None
    events: int = 0


@dataclass
class Session:
    messages: list = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    final: str = ""


def _stream_message(conn: http.client.HTTPConnection, body: dict) -> AgentReply:
    conn.request("POST", "/v1/messages?beta=true", json.dumps(body),
                 {"content-type": "application/json", "x-api-key": "demo-key-not-needed", "anthropic-version": "2023-06-01"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"the proxy answered {response.status}: {response.read()[:300]!r}")
    reply, partial = AgentReply(), ""
    for raw in response:
        line = raw.decode().rstrip("\n")
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        reply.events += 1
        kind = event.get("type")
        if kind == "content_block_start" and event["content_block"]["type"] == "tool_use":
            reply.tool_use = dict(event["content_block"])
        elif kind == "content_block_delta":
            delta = event["delta"]
            reply.text += delta.get("text", "")
            partial += delta.get("partial_json", "")
        elif kind == "message_delta":
            reply.stop_reason = event["delta"].get("stop_reason")
    if reply.tool_use is not None:
        reply.tool_use["input"] = json.loads(partial or "{}")
    return reply


def _view(session: Session, proxy_url: str) -> Group:
    table = Table(title=f"requests through the proxy ({proxy_url})", title_justify="left", header_style="bold")
    for name, justify in (("#", "right"), ("what the agent sent", "left"), ("tokens before", "right"),
                          ("tokens after", "right"), ("saved", "right")):
        table.add_column(name, justify=justify)
    for i, t in enumerate(session.turns, start=1):
        saved = t.before - t.after
        table.add_row(str(i), t.label, tokens(t.before), tokens(t.after),
                      f"[green]{tokens(saved)} ({percent(100 * saved / t.before if t.before else 0)})[/]")
    before = sum(t.before for t in session.turns)
    after = sum(t.after for t in session.turns)
    table.add_section()
    table.add_row("", "[bold]session[/]", tokens(before), tokens(after),
                  f"[bold green]{tokens(before - after)} ({percent(100 * (before - after) / before if before else 0)})[/]")
    return Group(table)


def demo_home() -> Path:
    """The demo's state: a folder of its own inside Headroom's (so `headroom stats` stays the user's),
    kept after the demo exits so that its `headroom retrieve` hint still works; each run starts it anew."""
    home = headroom_home() / "demo"
    shutil.rmtree(home, ignore_errors=True)
    private_dir(home)
    return home


def shell_command() -> str:
    """How a shell runs this same headroom: `headroom` when that is the one on PATH; else its path
    (scripts/demo runs .venv/bin/headroom with no virtual environment active), or `python -m`."""
    script = Path(sys.argv[0])
    if script.name == "headroom" and script.is_file():
        on_path = shutil.which("headroom")
        if on_path and os.path.samefile(on_path, script):
            return "headroom"
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m headroom_cli"


def run_demo(console: Console, pause: float = 0.6) -> int:
    outputs = [step.output() for step in STEPS]
    script = [ToolStep(step.tool, step.input) for step in STEPS]
    home, command = demo_home(), shell_command()

    console.print(Panel.fit(
        "[bold]headroom demo[/]: a coding agent's session, sent through the real proxy to a mock model.\n"
        f"No API key, no network, no Claude Code needed. The demo's state stays in {home}.",
        border_style="cyan"))
    with MockUpstream(script) as upstream:
        settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                            compress=True, home=home)
        with ProxyServer(settings, session="demo") as proxy:
            session = _run_session(console, proxy, outputs, pause)
            proxy.recorder.flush()
            received = upstream.tool_results(upstream.requests[-1])
            _show_before_after(console, proxy, outputs, received,
                               f"HEADROOM_HOME={shlex.quote(str(home))} {command}")
    _show_how_to(console, session, command)
    return 0


def _run_session(console: Console, proxy: ProxyServer, outputs: list[str], pause: float) -> Session:
    session = Session(messages=[{"role": "user", "content": PROMPT}])
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    with Live(_view(session, proxy.url), console=console, refresh_per_second=8) as live:
        label = "the user's question"
        while True:
            body = {"model": MODEL, "max_tokens": 1024, "stream": True, "system": "You are a coding agent.",
                    "tools": TOOLS, "messages": session.messages}
            reply = _stream_message(conn, body)
            proxy.recorder.flush()
            latest = proxy.ledger.recent(1, proxy.session)[0]
            session.turns.append(Turn(label, latest.tokens_before, latest.tokens_after))
            live.update(_view(session, proxy.url))
            content = ([{"type": "text", "text": reply.text}] if reply.text else [])
            if reply.tool_use is None:
                session.messages.append({"role": "assistant", "content": content})
                session.final = reply.text
                break
            tool = reply.tool_use
            content.append({"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": tool["input"]})
            session.messages.append({"role": "assistant", "content": content})
            step = len(session.turns) - 1  # the mock asks for the script's tool calls in order
            session.messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool["id"], "content": outputs[step]}]})
            label = f"{STEPS[step].label} → {len(outputs[step].splitlines()):,} lines"
            time.sleep(pause)
    console.print()
    conn.close()
    return session


def _show_before_after(console: Console, proxy: ProxyServer, outputs: list[str], received: list[dict],
                       command: str) -> None:
    for step, original, got in zip(STEPS, outputs, received):
        name = step.label
        compressed = got["text"]
        before, after = count_tokens(original), count_tokens(compressed)
        head = "\n".join(original.splitlines()[:12])
        console.print(Panel(
            Text(head + f"\n… {len(original.splitlines()) - 12:,} more lines", overflow="fold"),
            title=f"{name} output as the agent read it: {len(original.splitlines()):,} lines, {tokens(before)} tokens",
            border_style="red", title_align="left"))
        console.print(Panel(
            Text(compressed, overflow="fold"),
            title=f"what the model read instead: {len(compressed.splitlines()):,} lines, {tokens(after)} tokens "
                  f"({percent(100 * (before - after) / before)} smaller)",
            border_style="green", title_align="left"))
    markers = [m for got in received for m in find_markers(got["text"])]
    if markers:
        m = markers[0]
        first = int(m.group("a"))
        back = retrieve(proxy.store, m.group("id"), lines=f"{first}-{first + 2}")
        console.print(Panel(Text(back.rstrip("\n"), overflow="fold"),
                            title=f"nothing is lost: `headroom retrieve {m.group('id')} --lines {first}-{first + 2}`",
                            border_style="cyan", title_align="left"))
        console.print("Read it back yourself, now or later:", highlight=False)
        console.print(f"  {command} retrieve {m.group('id')} --lines {first}-{first + 2}", markup=False,
                      highlight=False, soft_wrap=True)


def _show_how_to(console: Console, session: Session, command: str) -> None:
    before = sum(t.before for t in session.turns)
    after = sum(t.after for t in session.turns)
    from headroom_cli.tokens import dollars_for_input_tokens

    console.print(
        f"[bold]Saved {tokens(before - after)} of {tokens(before)} input tokens "
        f"({percent(100 * (before - after) / before)}), {dollars(dollars_for_input_tokens(MODEL, before - after))} "
        f"at {MODEL} list price, uncached[/] (no prompt cache in the demo; tokens counted with cl100k_base).\n"
        "The model still got the failing test and its assertion, the FATAL line with its traceback, and the "
        "one failed invoice among 420; every omitted line stays retrievable.\n\n"
        "[bold]Run it for real:[/]")
    for line, why in ((f"{command} wrap claude", "Claude Code, with its tool outputs compressed"),
                      (f"{command} proxy --port 8787", "any Anthropic/OpenAI client: ANTHROPIC_BASE_URL=http://127.0.0.1:8787"),
                      (f"{command} dashboard", "live savings in another terminal")):
        console.print(f"  {line:<30}  # {why}", markup=False, highlight=False, soft_wrap=True)
