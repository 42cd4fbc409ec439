"""Run a wrapped tool as a child process behind the proxy; hand back its exit code.

The terminal is the child's: stdio is inherited and nothing is drawn while it runs. Ctrl-C reaches
the child through the terminal's process group; SIGTERM and SIGHUP sent to us are passed on.
Everything the child needs comes through its environment and arguments, so a crash or `kill -9`
leaves nothing behind in the tool's own configuration; and the child dies with us (``lifeline``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Mapping

from headroom_cli.config import Settings
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.proxy.boundary import TOKEN_HEADER
from headroom_cli.wrap import lifeline
from headroom_cli.wrap.loader import Wrapper
from headroom_cli.wrap.upstreams import inherit_upstreams

log = logging.getLogger("headroom.wrap")


class ToolNotInstalled(Exception):
    pass


@dataclass
class WrapRun:
    exit_code: int
    proxy: ProxyServer


@dataclass
class Plan:
    """What a wrap will run, decided before the proxy starts."""

    binary: str
    args: list[str]  # the person's arguments for the tool
    providers: list[str]  # whose base URLs point at the proxy
    settings: Settings
    notes: list[str] = field(default_factory=list)  # one line each, for the person, before the tool starts


def find_binary(wrapper: Wrapper, args: list[str] | None = None) -> tuple[str, list[str]]:
    """The executable and the arguments it gets; for `wrap -- CMD …` the command is the first argument."""
    args = list(args or [])
    if wrapper.command_from_args:
        if not args:
            raise ToolNotInstalled("say which command to run after --, e.g. `headroom wrap -- python app.py`")
        name, args = args[0], args[1:]
        found = shutil.which(name)
        if not found:
            raise ToolNotInstalled(f"{name}: command not found")
        return found, args
    override = os.environ.get(wrapper.binary_env) if wrapper.binary_env else None
    found = shutil.which(override or wrapper.binary)
    if not found:
        raise ToolNotInstalled(wrapper.install_hint)
    return found, args


def prepare(wrapper: Wrapper, settings: Settings, user_args: list[str],
            environ: Mapping[str, str] | None = None) -> Plan:
    environ = os.environ if environ is None else environ
    binary, args = find_binary(wrapper, user_args)
    providers, unserved = wrapper.providers_for(args, environ)
    notes = [f"model {m} is not an Anthropic or OpenAI model: its requests go straight to its provider, "
             "uncompressed" for m in unserved]
    settings, inherited = inherit_upstreams(wrapper, providers, settings, environ)
    notes += inherited
    settings = dataclasses.replace(settings, saved_outputs_root=wrapper.saved_outputs_root())
    return Plan(binary, args, providers, settings, notes)


def child_environment(wrapper: Wrapper, proxy: ProxyServer, providers: list[str] | None = None,
                      mcp: bool | None = None) -> tuple[dict[str, str], list[str]]:
    extra_env, lead_args = wrapper.render(proxy.url, proxy.session, str(proxy.settings.home), providers, os.environ,
                                          mcp=mcp)
    env = dict(os.environ)
    env.update(extra_env)
    # So `headroom statusline` (run by the tool) and nested headroom commands find this session.
    env.update(HEADROOM_SESSION=proxy.session, HEADROOM_HOME=str(proxy.settings.home), HEADROOM_PROXY_URL=proxy.url)
    if proxy.settings.database:  # the status line and the MCP server the tool starts read the same database
        env["HEADROOM_DATABASE"] = proxy.settings.database
    env[lifeline.WRAP_PID_ENV] = str(os.getpid())  # Headroom's MCP server, started by the tool, ends with us
    if proxy.settings.token:  # the proxy checks it (HEADROOM_TOKEN): Claude Code sends it as a custom header
        headers = [env.get("ANTHROPIC_CUSTOM_HEADERS", ""), f"{TOKEN_HEADER}: {proxy.settings.token}"]
        env["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(h for h in headers if h)
    return env, lead_args


def run(wrapper: Wrapper, settings: Settings, user_args: list[str],
        on_started: Callable[[ProxyServer, Plan], None] | None = None, mcp: bool | None = None) -> WrapRun:
    """``mcp``: hand the tool Headroom's MCP server (None: as its wrapper file says)."""
    plan = prepare(wrapper, settings, user_args)
    proxy = ProxyServer(plan.settings).start()
    try:
        env, lead_args = child_environment(wrapper, proxy, plan.providers, mcp)
        if on_started is not None:
            on_started(proxy, plan)
        code = _run_child([plan.binary, *lead_args, *plan.args], env)
    finally:
        proxy.stop()
    return WrapRun(code, proxy)


def serve(wrapper: Wrapper, settings: Settings, show: Callable[[ProxyServer, str], None]) -> WrapRun:
    """A tool that cannot be started for the person (a desktop app): run the proxy in the foreground;
    ``show(proxy, instructions)`` tells them what to set, then blocks (the live dashboard) until Ctrl-C."""
    proxy = ProxyServer(settings).start()
    try:
        values = wrapper.values(proxy.url, proxy.session, str(settings.home),
                                anthropic_upstream=settings.anthropic_upstream, openai_upstream=settings.openai_upstream)
        show(proxy, wrapper.instructions.format(**values).strip())
    finally:
        proxy.stop()
    return WrapRun(0, proxy)


def _run_child(argv: list[str], env: dict[str, str]) -> int:
    # Handlers go in before the child starts: a signal sent the moment it is up must not kill us.
    started: list[subprocess.Popen] = []
    pending: list[int] = []

    def forward(signum, _frame):
        if not started:
            pending.append(signum)  # arrived while the child was being started: passed on once it runs
        elif started[0].poll() is None:
            started[0].send_signal(signum)

    # At a terminal, Ctrl-C already reaches the child (same foreground process group): passing it on
    # too would make it a double Ctrl-C. A no-op Python handler, not SIG_IGN: an ignored signal would
    # stay ignored in the child after exec.
    on_interrupt = (lambda *_: None) if _terminal_delivers_signals() else forward
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    reaper = None
    try:
        # From this (the main) thread: the kernel's parent-death signal follows the forking thread.
        preexec = lifeline.death_signal_preexec()
        child = subprocess.Popen(argv, env=env, preexec_fn=preexec)
        started.append(child)
        if preexec is None:
            reaper = lifeline.Reaper(child.pid)
        for signum in pending:
            child.send_signal(signum)
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        if reaper is not None:
            reaper.done()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def _terminal_delivers_signals() -> bool:
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False
