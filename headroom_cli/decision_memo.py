"""The pipeline's memo of recent decisions, keyed by the part's hash, bounded in entries and in text.

A coding agent re-sends its whole history every turn, so most parts of a request were decided a turn
ago: a memo hit spares the frozen-decision lookup (a database round trip) and, with many conversations
at once (a team gateway), it must hold every live conversation's parts, not the last few hundred. It
keeps no originals (the caller has the text in hand; the key is its hash), only what a part became,
so an entry costs its compressed text; MEMO_CHARS bounds that total, MEMO_SIZE the entries.

An entry put ``pending`` is a decision whose transaction (Pipeline.batch) has not committed yet: a
thread that finds it writes it again in its own request, so no request sends a decision that the
store, and so the other workers, might never see. ``settle`` marks it durable once committed;
``forget`` drops it when the commit failed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headroom_cli.pipeline import Outcome

MEMO_SIZE = 4096  # decisions: about 80 conversations of 50 parts, each entry ~1 KB
MEMO_CHARS = 16 * 1024 * 1024  # characters of kept texts (compressed texts, wholes behind a note)

_Key = tuple[str, "str | None"]


class Memo:
    def __init__(self, size: int = MEMO_SIZE, chars: int = MEMO_CHARS):
        self.size, self.chars = size, chars
        self._entries: OrderedDict[_Key, tuple[Outcome, int, bool]] = OrderedDict()  # (kept, cost, pending)
        self._held = 0  # characters held by the entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0

    def get(self, key: _Key, original: str) -> Outcome | None:
        """The outcome remembered for ``key``, as decided for ``original`` (whose hash the key holds)."""
        return self.lookup(key, original)[0]

    def lookup(self, key: _Key, original: str) -> tuple[Outcome | None, bool]:
        """``get``'s outcome, and whether it is known to be durable (not pending)."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None, False
            self._entries.move_to_end(key)
        kept = found[0]
        text = original if kept.text is None else kept.text
        return type(kept)(original, text, kept.engine, kept.kind, kept.part_id, kept.stored), not found[2]

    def settle(self, key: _Key, token: object) -> None:
        """The entry ``put`` returned ``token`` for is durable now (if it is still there)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] is token:
                self._entries[key] = (found[0], found[1], False)

    def forget(self, key: _Key, token: object) -> None:
        """Drop the entry ``put`` returned ``token`` for, if it is still there and pending."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] is token and found[2]:
                del self._entries[key]
                self._held -= found[1]

    def put(self, key: _Key, outcome: Outcome, pending: bool = False) -> object:
        """Remember ``outcome``; returns a token for ``settle``/``forget``."""
        if self.size <= 0:
            return None
        changed = outcome.changed
        # an unchanged part's text is its original: kept as None, rebuilt from the caller's text
        kept = type(outcome)(None, outcome.text if changed else None, outcome.engine, outcome.kind,  # type: ignore[arg-type]
                             outcome.part_id, outcome.stored)
        cost = (len(outcome.text) if changed else 0) + len(outcome.stored or "") + 64
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[1]
            self._entries[key] = (kept, cost, pending)
            self._held += cost
            while self._entries and (len(self._entries) > self.size or self._held > self.chars):
                self._held -= self._entries.popitem(last=False)[1][1]
        return kept
