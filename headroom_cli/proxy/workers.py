"""`headroom proxy --workers N`: N proxy processes serving one port.

Why processes: compression is CPU work under one GIL; N processes use N cores. How they share the port:
the supervisor listens on it and every worker inherits that one listening socket, and each worker takes
one waiting connection each time its event loop comes round (not asyncio's burst of up to a hundred).
A worker busy compressing is not accepting meanwhile, so new connections go to one that is free: the
load spreads by how busy the workers are. SO_REUSEPORT (one listening socket per worker) spread them by
a hash of the client's address instead: 50 keep-alive clients came out 29 to 21 as often as not, and the
worker with 29 fell behind at a load the two together carried easily. A connection waiting in the one
queue is also served by another worker if the one that would have taken it dies. `--port 0` names one
free port for all, and a worker restarted later serves the same socket.

Each worker is a whole proxy (ProxyServer: warmed engines, its own recorder and relay) on the shared
store and ledger (SQLite in WAL mode, safe across processes: db.py; or the PostgreSQL of --database). All workers record under one
session. A worker that dies is restarted and reported on stderr; one that keeps dying is given up on
(reported) while the others go on serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from headroom_cli.config import Settings

log = logging.getLogger("headroom.proxy")

READY = "headroom-worker-ready"
START_TIMEOUT_S = 90.0  # warming the engines takes seconds; on a loaded machine, more
STOP_TIMEOUT_S = 20.0
RESTARTS = 5  # within RESTART_WINDOW_S: past that a worker slot is given up on
RESTART_WINDOW_S = 60.0


class WorkersError(RuntimeError):
    """The workers could not start; the message says why."""


LISTEN_BACKLOG = 1024  # connections the kernel holds until a worker takes them


class _OneAtATime(socket.socket):
    """The inherited listening socket as a worker serves it. asyncio.start_server calls listen(backlog)
    and then accepts up to ``backlog`` connections each time the socket is ready: served with backlog=1,
    a worker takes one at a time, and listen() leaves the supervisor's queue as it is."""

    def listen(self, backlog: int = 0) -> None:
        pass


def serve_inherited(fd: int) -> None:
    """Make mitmproxy's reverse-mode listener serve the supervisor's listening socket ``fd``.

    mitmproxy (11 and 12) binds with a plain ``asyncio.start_server(handler, host, port)`` and has no
    option for a socket of one's own; this worker-only override of that one method serves a copy of the
    inherited one instead (mitmproxy closes it at the end; the supervisor's stays open). Called once, in
    a worker process, before its proxy starts."""
    from mitmproxy.proxy import mode_servers

    async def listen(self, host: str, port: int) -> list:
        sock = _OneAtATime(fileno=os.dup(fd))
        return [await asyncio.start_server(self.handle_stream, sock=sock, backlog=1)]

    if not hasattr(mode_servers.ReverseInstance, "listen"):
        raise WorkersError("this mitmproxy version cannot share a port between workers")
    mode_servers.ReverseInstance.listen = listen


def listening_socket(host: str, port: int) -> socket.socket:
    """The port's one listening socket, for the workers to inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Slot:
    process: subprocess.Popen
    started: float
    restarts: list[float] = field(default_factory=list)
    given_up: bool = False


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all."""

    def __init__(self, settings: Settings, workers: int, session: str):
        self.settings, self.count, self.session = settings, workers, session
        self.slots: list[_Slot] = []
        self._listening: socket.socket | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        assert self._listening is not None
        return self._listening.getsockname()[1]

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process.poll() is None]

    def start(self) -> "Supervisor":
        from headroom_cli.proxy.server import _bind_error

        if os.name != "posix":
            raise WorkersError("--workers needs a POSIX system to hand the port to its workers (Linux, macOS, "
                               "BSD); run one worker here")
        try:
            self._listening = listening_socket(self.settings.host, self.settings.port)
        except OSError:
            raise WorkersError(f"could not listen on {self.settings.host}:{self.settings.port} "
                               f"({_bind_error(self.settings.host, self.settings.port)})") from None
        try:
            self.slots = [_Slot(self._spawn(), time.monotonic()) for _ in range(self.count)]
            for slot in self.slots:
                self._await_ready(slot.process)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self) -> subprocess.Popen:
        settings = _replace_port(self.settings, self.port)
        assert self._listening is not None
        fd = self._listening.fileno()
        process = subprocess.Popen([sys.executable, "-m", "headroom_cli.proxy.workers"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=None, start_new_session=False, pass_fds=(fd,))
        assert process.stdin is not None
        # The settings go through a pipe, not the command line: they may hold the access token. The pipe
        # stays open: a worker stops when it closes (this process gone, however it ended).
        process.stdin.write(pickle.dumps((settings, self.session, logging.getLogger("headroom").level, fd)))
        process.stdin.flush()
        return process

    def _await_ready(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(process.stdout.readline().decode()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not ready or not ready[0].startswith(READY):
            code = process.poll()
            raise WorkersError(f"a worker did not start (pid {process.pid}, "
                               f"{'exit code %s' % code if code is not None else 'no answer'}; its error is above)")

    def watch(self) -> bool:
        """Until request_stop(): restart a worker that ended; give up on one that keeps ending. False
        when every worker was given up on (nothing serves the port any more)."""
        while not self._stopping.wait(0.5):
            for slot in self.slots:
                code = slot.process.poll()
                if code is None or slot.given_up or self._stopping.is_set():
                    continue
                self._restart(slot, code)
            if all(slot.given_up for slot in self.slots):
                return False
        return True

    def _restart(self, slot: _Slot, code: int) -> None:
        now = time.monotonic()
        slot.restarts = [t for t in slot.restarts if now - t < RESTART_WINDOW_S] + [now]
        if len(slot.restarts) > RESTARTS:
            slot.given_up = True
            log.error("worker %d ended (exit code %s) %d times in %.0f s: not restarted; %d worker(s) serve "
                      "port %d", slot.process.pid, code, len(slot.restarts), RESTART_WINDOW_S, len(self.pids), self.port)
            return
        old = slot.process.pid
        # Said before the replacement starts: it may serve before its ready line is read.
        log.warning("worker %d ended (exit code %s); starting another in its place", old, code)
        slot.process = self._spawn()
        slot.started = now
        try:
            self._await_ready(slot.process)
            log.warning("worker %d serves in place of worker %d", slot.process.pid, old)
        except WorkersError as exc:
            log.error("the worker in place of worker %d: %s", old, exc)

    def request_stop(self) -> None:
        """Ends watch() (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> None:
        """Every worker asked to stop (SIGTERM: each finishes recording), then waited for; killed past
        STOP_TIMEOUT_S."""
        self._stopping.set()
        for slot in self.slots:
            if slot.process.poll() is None:
                slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for slot in self.slots:
            try:
                slot.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop within %.0f s: killed", slot.process.pid, STOP_TIMEOUT_S)
                slot.process.kill()
                slot.process.wait()
        if self._listening is not None:
            self._listening.close()


def _replace_port(settings: Settings, port: int) -> Settings:
    from dataclasses import replace

    return replace(settings, port=port)


# -- a worker process ----------------------------------------------------------------------------

def _worker_main() -> int:
    settings, session, level, fd = pickle.load(sys.stdin.buffer)
    from headroom_cli.cli import _request_line
    from headroom_cli.proxy.server import ProxyServer, ProxyStartError

    root = logging.getLogger("headroom")
    root.setLevel(level)
    root.handlers[:] = [_stderr_handler(os.getpid())]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # The supervisor gone (its end of the pipe closed), this worker stops too.
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()
    serve_inherited(fd)
    try:
        server = ProxyServer(settings, session).start()
    except ProxyStartError as exc:
        log.error("worker %d: %s", os.getpid(), exc)
        return 1
    server.recorder.listeners.append(_request_line)
    sys.stdout.write(f"{READY} {os.getpid()}\n")
    sys.stdout.flush()
    stop.wait()
    server.stop()
    return 0


def _stderr_handler(pid: int) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"headroom[{pid}] %(levelname)s %(name)s: %(message)s"))
    return handler


if __name__ == "__main__":
    raise SystemExit(_worker_main())
