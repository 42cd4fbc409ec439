"""`headroom proxy` as a separate process, for tests that must not share a GIL (or a log) with it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass
class ProxyProcess:
    port: int
    process: subprocess.Popen
    stdout: str = ""
    stderr: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def proxy_process(upstream_url: str, home: Path, **env: str) -> Iterator[ProxyProcess]:
    """The proxy on a free port in front of ``upstream_url``; stopped with Ctrl-C (SIGINT) on exit, its
    output then in ``stdout``/``stderr``."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "headroom_cli", "proxy", "--port", str(port),
                                "--anthropic-upstream", upstream_url, "--openai-upstream", upstream_url],
                               env={**os.environ, "HEADROOM_HOME": str(home), **env}, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = ProxyProcess(port, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:  # serving, not only listening: an HTTP answer (401 where a token is needed)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/headroom/health")
                conn.getresponse().read()
                conn.close()
                break
            except (OSError, http.client.HTTPException):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the proxy did not start: {process.communicate()[1][-2000:]}") from None
                time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            running.stdout, running.stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            running.stdout, running.stderr = process.communicate()
