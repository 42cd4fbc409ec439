"""Hand the allocator's free memory back to the system while the proxy serves.

Each request allocates and frees ~100 KB bodies several times over, on several threads (the compression
pool, the recorder, the event loop). glibc keeps what is freed in per-thread arenas for reuse, so a
worker's resident memory climbed by tens of MB over its first minute and stayed there, although the
Python objects alive stayed flat (tracemalloc). ``malloc_trim(0)`` returns the free pages of every
arena; it runs every few seconds on a thread of its own (it takes about a millisecond). Elsewhere
than glibc (macOS, musl) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

INTERVAL_S = 2.0


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Give the allocator's free pages back to the system now; False where that cannot be done."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


class Trimmer:
    """Calls release_free_memory() every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = INTERVAL_S):
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headroom-trim", daemon=True)

    def start(self) -> "Trimmer":
        if _TRIM is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            release_free_memory()
            self.runs += 1
