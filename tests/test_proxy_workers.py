"""`headroom proxy --workers N`: N processes on one port, a killed worker replaced, all stopped on SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from headroom_cli.mock_upstream import MockUpstream

from samples import FAILED_TEST, pytest_verbose_log
from test_proxy import ANTHROPIC_HEADERS, _anthropic_body

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the socket is handed to each worker")


class Workers:
    def __init__(self, upstream_url: str, home, count: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "headroom_cli", "proxy", "--workers", str(count), "--port", "0",
             "--anthropic-upstream", upstream_url], env={**os.environ, "HEADROOM_HOME": str(home), "COLUMNS": "200"},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._started.wait(120):
            self.process.kill()
            pytest.fail("no start line: " + "".join(self.lines)[-2000:])
        found = re.search(rf"{count} workers on 127\.0\.0\.1:(\d+) \(pids ([\d, ]+)\)", "".join(self.lines))
        assert found, "".join(self.lines)
        self.port = int(found.group(1))
        self.pids = {int(p) for p in found.group(2).split(",")}

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if " workers on " in line or "error" in line.lower():
                self._started.set()
        self._started.set()

    def health_pid(self) -> int | None:
        """The pid of whichever worker answers a new connection."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/headroom/health")
            data = json.loads(conn.getresponse().read())
            conn.close()
            return data["pid"]
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def pids_answering(self, until, seconds: float = 60) -> set[int]:
        """The workers that answered new connections, until ``until(seen)`` or the time is up (a
        replacement worker warms its engines first: seconds on a loaded machine)."""
        seen: set[int] = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid = self.health_pid()
            if pid is not None:
                seen.add(pid)
            if until(seen):
                break
            time.sleep(0.05)
        return seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_share_a_port_survive_a_kill_and_stop_together(headroom_home):
    with MockUpstream() as upstream:
        workers = Workers(upstream.url, headroom_home, 2)
        try:
            assert len(workers.pids) == 2
            assert workers.pids_answering(lambda seen: seen == workers.pids) == workers.pids

            # A real request through whichever worker: compressed as by one proxy.
            conn = http.client.HTTPConnection("127.0.0.1", workers.port, timeout=60)
            conn.request("POST", "/v1/messages", body=_anthropic_body(pytest_verbose_log(1999)),
                         headers=ANTHROPIC_HEADERS)
            assert conn.getresponse().status == 200
            conn.close()
            sent = upstream.tool_results(upstream.requests[-1])[0]["text"]
            assert FAILED_TEST in sent and "retrieve hr_" in sent

            killed = min(workers.pids)
            os.kill(killed, signal.SIGKILL)
            survivor = (workers.pids - {killed}).pop()
            seen = workers.pids_answering(lambda s: len(s - {survivor}) > 0, seconds=180)
            assert killed not in seen
            replacement = seen - {survivor}
            assert replacement, "no worker replaced the killed one: " + "".join(workers.lines)[-2000:]
            assert any(f"worker {killed} ended" in line for line in workers.lines)
        finally:
            workers.process.send_signal(signal.SIGTERM)
            code = workers.process.wait(timeout=60)
        assert code == 0, "".join(workers.lines)[-2000:]
        for pid in workers.pids | replacement:
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid), f"worker {pid} outlived the supervisor"


def test_a_burst_of_connections_is_shared_between_the_workers(headroom_home):
    """Forty clients connect at once and keep their connections: the workers take them one at a time
    from the one socket, so each holds some (asyncio's default would let the first to wake take all)."""
    with MockUpstream() as upstream:
        workers = Workers(upstream.url, headroom_home, 2)
        try:
            assert workers.pids_answering(lambda seen: seen == workers.pids) == workers.pids  # both listen
            conns = [http.client.HTTPConnection("127.0.0.1", workers.port, timeout=60) for _ in range(40)]
            for pid in workers.pids:  # all forty wait in the socket's queue before either worker looks
                os.kill(pid, signal.SIGSTOP)
            try:
                for conn in conns:
                    conn.connect()
            finally:
                for pid in workers.pids:
                    os.kill(pid, signal.SIGCONT)
            held: dict[int, int] = {}
            for conn in conns:
                conn.request("GET", "/headroom/health")
                pid = json.loads(conn.getresponse().read())["pid"]
                held[pid] = held.get(pid, 0) + 1
                conn.close()
            assert set(held) == workers.pids and min(held.values()) >= 2, held
        finally:
            workers.process.send_signal(signal.SIGTERM)
            workers.process.wait(timeout=60)

