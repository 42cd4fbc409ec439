"""Work a thread may do only while it stays quick: the proxy's event loop compresses a request itself
rather than wake a pool thread and wait for it (proxy/offload.py), inside ``block(max_chars)``.

In such a block, deciding a part that is not remembered spends its characters from ``max_chars``
(Pipeline._once); a part past what is left, one that is never decided there (an image, a saved output),
a database lock another thread holds, or a SQLite file another process writes for longer than BUSY_MS
raise NotHere before anything waits on them. The caller then does the whole of it again elsewhere. At a
part it cannot afford, the parts decided before it are committed first (Unaffordable: they are replayed
then, not decided twice); at a lock, nothing of the attempt is written (its batch is dropped)."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

BUSY_MS = 5  # how long a block's SQLite statement waits for another process's write (a commit takes less)

_local = threading.local()


class NotHere(BaseException):
    """Raised in a block at what it may not do there. A BaseException, as GeneratorExit is, so that no
    engine's or caller's ``except Exception`` takes it for a failed part and sends something else."""


class Unaffordable(NotHere):
    """More new text than the block has left (or a part never decided in one): what was decided before
    it stands (Pipeline.batch commits it), and the thread that takes the request over replays it."""


@contextlib.contextmanager
def block(max_chars: int) -> Iterator[None]:
    """Work on this thread that decides at most ``max_chars`` of new text and never waits on a lock."""
    _local.left = max_chars
    try:
        yield
    finally:
        _local.left = None


def active() -> bool:
    return getattr(_local, "left", None) is not None


def spend(cost: int | None, spent: int) -> None:
    """In a block: NotHere unless ``cost`` (None: never in a block) fits what is left; then use ``spent``."""
    left = getattr(_local, "left", None)
    if left is None:
        return
    if cost is None or cost > left:
        raise Unaffordable
    _local.left = left - spent


@contextlib.contextmanager
def holding(lock) -> Iterator[None]:
    """``with lock``, except that in a block a lock another thread holds raises NotHere."""
    if not lock.acquire(blocking=not active()):
        raise NotHere
    try:
        yield
    finally:
        lock.release()
