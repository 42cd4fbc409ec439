"""A request's compression on a pool thread, with the event loop waiting for it a while.

A proxy worker is one process, and Python runs one of its threads at a time (the GIL). When the event
loop carries on while a pool thread compresses, the two take turns: each time the loop comes back from
a socket read or write it must wait for the pool thread to let go of the GIL (CPython makes it wait up
to its switch interval, 5 ms), runs a little, and lets go again at its next system call. Under
scripts/bench_gateway.py (2 workers, 50 clients) that turn-taking cost ~12% of the proxy's CPU per
request and ~14% of its requests per second. So the loop waits for the result instead, asleep on a
lock while the pool thread runs alone, as long as that takes no more than WAIT_S: most requests are
compressed in a few milliseconds. A longer one (a resumed conversation's first request, a part that
runs to its budget) is then awaited as before, the loop serving the other connections meanwhile, so no
connection waits on another's compression for longer than WAIT_S. Once a reply is done, the savings
recorder's count is made by the loop itself when the recorder is idle and the count needs no I/O, else
waited for the same way (Recorder.record's wait_s).
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Executor
from typing import Callable, TypeVar

T = TypeVar("T")

WAIT_S = 0.05  # the longest the event loop waits on one request's compression before serving others


async def run_waiting(pool: Executor | None, func: Callable[..., T], *args) -> T:
    """``func(*args)`` on ``pool`` (asyncio.to_thread's default pool when None, without the wait): its
    result or its exception, waited for in this thread up to WAIT_S, then awaited."""
    if pool is None:
        return await asyncio.to_thread(func, *args)
    future = pool.submit(contextvars.copy_context().run, func, *args)  # as to_thread: the caller's context
    try:
        return future.result(timeout=WAIT_S)
    except TimeoutError:  # concurrent.futures' since Python 3.11; func may raise one of its own
        if future.done():
            raise
    return await asyncio.wrap_future(future)
