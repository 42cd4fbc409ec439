"""The wrapped tool dies with `headroom wrap`, even when wrap itself is killed with SIGKILL.

Linux: the child asks the kernel for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG), set
between fork and exec. The kernel sends it when the *thread* that forked the child exits, so the
child must be started from the main thread (``runner.run`` is called from it).

Elsewhere (macOS, the BSDs): no such call, and a foreign binary cannot be given a watchdog of its
own, so a small reaper process holds the read end of a pipe whose write end only wrap has: when wrap
dies, the pipe closes and the reaper sends the tool SIGTERM, then SIGKILL. Its limit: the reaper is
one more process, and it is itself killed if someone kills the whole process group at once (the
tool then dies with it anyway, being in that group).

The tool's own children (Claude Code's MCP server) are the tool's to end; Headroom's MCP server also
watches for its parent or wrap going away (``mcp.server``), since a killed tool cannot close it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable

WRAP_PID_ENV = "HEADROOM_WRAP_PID"  # set in the tool's environment: the wrap process it belongs to
_PR_SET_PDEATHSIG = 1
_DONE = b"d"  # wrap's word to the reaper that the tool ended normally: nothing to kill


def _prctl():
    """libc's prctl, resolved now: the child must not import or load anything between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def death_signal_preexec(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn that makes the child get ``signum`` when this process dies; None where the
    platform has no such thing (then use ``Reaper``)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # wrap died before the call took effect: nobody will send it
            os.kill(os.getpid(), signum)

    return preexec


class Reaper:
    """A watcher process that ends ``pid`` when this process dies without saying it is done."""

    def __init__(self, pid: int):
        read, self._write = os.pipe()
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "headroom_cli.wrap.lifeline", str(pid)],
                                          stdin=read, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)  # a Ctrl-C to the tool's group spares it
        finally:
            os.close(read)

    def done(self) -> None:
        """The tool ended on its own: the reaper leaves without touching anything."""
        try:
            os.write(self._write, _DONE)
        except OSError:
            pass
        os.close(self._write)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> int:
    """Reaper's body: block on the pipe; at EOF without _DONE, SIGTERM the tool, SIGKILL after 5 s."""
    word = os.read(0, 1)
    if word == _DONE or not _alive(pid):
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    return 0


def process_gone(pid: int) -> bool:
    """The process is gone, or a zombie nobody reaped yet (its parent is a shell that will)."""
    if not _alive(pid):
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False  # no /proc (macOS): alive as far as we can tell


if __name__ == "__main__":
    sys.exit(_reap(int(sys.argv[1])))
