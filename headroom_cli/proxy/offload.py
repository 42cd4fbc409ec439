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

Handing over and waiting still cost each request two thread wake-ups, and on a busy machine a woken
thread waits for a core: at 150 requests/s on 2 cores that wait was most of a request's added latency.
So the loop first compresses a request itself (run_here_first) where that is sure to be quick: the
store's database is local (SQLite: no network round trip, which PostgreSQL's could be), no engine that
may be slow on a small part (a model's) is installed, and the request brings at most HERE_MAX_CHARS of
text not decided before (a conversation re-sends its history, decided and memoised already). Past that
limit, or at a database lock another thread or process holds, here.NotHere is raised before anything
waits and the request goes to the pool as before, which replays what the attempt decided and committed
(nothing, at a lock): the same bytes either way (here.py). The loop is then busy for the compression
instead of asleep on it: in-process, 4 ms at the median, 21 ms at p99, 28 ms at most (WAIT_S is 50).
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Executor
from typing import Callable, TypeVar

from headroom_cli import engines, here

T = TypeVar("T")

WAIT_S = 0.05  # the longest the event loop waits on one request's compression before serving others
HERE_MAX_CHARS = 65536  # new text the loop decides itself (2% of the gateway workload's requests bring more)


def may_compress_here(store) -> bool:
    """Whether the loop may compress at all: the store's database is local, and no engine may be slow."""
    local = store is None or store.database_state()["kind"] == "sqlite"
    return local and not any(getattr(engine, "slow", False) for engine in engines.registered())


async def run_here_first(pool: Executor | None, quick: bool, func: Callable[..., T], *args) -> T:
    """``func(*args)`` on this thread in a here.block (when ``quick``), or where that raises NotHere
    (and when not ``quick``) through run_waiting."""
    if quick:
        try:
            with here.block(HERE_MAX_CHARS):
                return func(*args)
        except here.NotHere:
            pass
    return await run_waiting(pool, func, *args)


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
