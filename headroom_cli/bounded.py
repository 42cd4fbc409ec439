"""A small map bounded in entries, shared by the threads of one process: the memos that spare
re-sent history a second computation (token counts, message digests) keep at most ``kept`` entries,
the oldest dropped first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """At most ``kept`` entries; the oldest put goes first, or with ``lru`` the least recently read."""

    def __init__(self, kept: int, lru: bool = False):
        self._kept, self._lru = kept, lru
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._lru:
                self._entries.move_to_end(key)
            return found

    def remembered(self, key: K, make: Callable[[], V]) -> V:
        """The value kept under ``key``, else ``make()``'s, kept (made outside the lock; what it raises is
        raised, and nothing is kept)."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._kept:
                self._entries.popitem(last=False)
