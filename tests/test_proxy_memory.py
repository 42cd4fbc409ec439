"""The proxy hands the allocator's free memory back to the system while it serves (proxy/memory.py)."""

from __future__ import annotations

import sys
import threading
import time

import psutil
import pytest

from headroom_cli.proxy.memory import Trimmer, release_free_memory

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")


def _churn(alive: list) -> None:
    # Bodies of ~100 KB allocated on a thread, as the compression pool does, and every other one freed
    # while the rest stay alive: the holes stay in that thread's arena, resident, unless trimmed.
    bodies = [bytearray(100_000) for _ in range(600)]
    alive.extend(bodies[::2])
    bodies.clear()


@glibc
def test_trimming_gives_free_memory_back():
    me = psutil.Process()
    alive: list = []
    thread = threading.Thread(target=_churn, args=(alive,))
    thread.start()
    thread.join()
    before = me.memory_info().rss
    assert release_free_memory()
    after = me.memory_info().rss
    del alive
    assert before - after > 8 << 20, (before >> 20, after >> 20)  # 300 holes of 100 KB: ~30 MB


@glibc
def test_the_trimmer_runs_until_stopped():
    trimmer = Trimmer(interval=0.01).start()
    deadline = time.monotonic() + 10
    while trimmer.runs < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    trimmer.stop()
    runs = trimmer.runs
    assert runs >= 3
    time.sleep(0.05)
    assert trimmer.runs == runs
