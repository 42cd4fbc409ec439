"""Run a wrapped tool as a child process behind the proxy; hand back its exit code.

The terminal is the child's: stdio is inherited and nothing is drawn while it runs. Ctrl-C reaches
the child through the terminal's process group; SIGTERM and SIGHUP sent to us are passed on.
Everything the child needs comes through its environment and arguments, so a crash or `kill -9`
leaves nothing behind in the tool's own configuration.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass

from headroom_cli.config import Settings
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.wrap.loader import Wrapper

log = logging.getLogger("headroom.wrap")


class ToolNotInstalled(Exception):
    pass


@dataclass
class WrapRun:
    exit_code: int
    proxy: ProxyServer


def find_binary(wrapper: Wrapper) -> str:
    override = os.environ.get(wrapper.binary_env) if wrapper.binary_env else None
    found = shutil.which(override or wrapper.binary)
    if not found:
        raise ToolNotInstalled(wrapper.install_hint)
    return found


def child_environment(wrapper: Wrapper, proxy: ProxyServer) -> tuple[dict[str, str], list[str]]:
    extra_env, lead_args = wrapper.render(proxy.url, proxy.session, str(proxy.settings.home))
    env = dict(os.environ)
    env.update(extra_env)
    # So `headroom statusline` (run by the tool) and nested headroom commands find this session.
    env.update(HEADROOM_SESSION=proxy.session, HEADROOM_HOME=str(proxy.settings.home), HEADROOM_PROXY_URL=proxy.url)
    return env, lead_args


def run(wrapper: Wrapper, settings: Settings, user_args: list[str], on_started=None) -> WrapRun:
    binary = find_binary(wrapper)
    settings = dataclasses.replace(settings, saved_outputs_root=wrapper.saved_outputs_root())
    proxy = ProxyServer(settings).start()
    try:
        env, lead_args = child_environment(wrapper, proxy)
        if on_started is not None:
            on_started(proxy)
        code = _run_child([binary, *lead_args, *user_args], env)
    finally:
        proxy.stop()
    return WrapRun(code, proxy)


def _run_child(argv: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(argv, env=env)

    def forward(signum, _frame):
        if child.poll() is None:
            child.send_signal(signum)

    # At a terminal, Ctrl-C already reaches the child (same foreground process group): passing it on
    # too would make it a double Ctrl-C. A no-op Python handler, not SIG_IGN: an ignored signal would
    # stay ignored in the child after exec.
    on_interrupt = (lambda *_: None) if _terminal_delivers_signals() else forward
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def _terminal_delivers_signals() -> bool:
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False
