"""CCR store (SQLite): the original of every part that lost something, keyed by its hr_ ID, and the
frozen decision for every part seen (what it compressed to), keyed by the SHA-256 of its bytes.

Originals carry their size, when they were created and last used, and how often they were retrieved,
so the store can be kept within a size and age budget (``prune``). A frozen lossy decision is pruned
with its original: a marker that could no longer be redeemed is never replayed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from headroom_cli.db import add_columns, connect
from headroom_cli.pipeline import Outcome

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    last_used REAL,
    retrievals INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS decisions (
    hash TEXT PRIMARY KEY,
    engine TEXT,
    kind TEXT,
    part_id TEXT,
    text TEXT,  -- NULL: the part passes through unchanged
    created REAL NOT NULL
);
"""

# Columns added after the first release: a store file from then gets them on open.
_ADDED_COLUMNS = {
    "size": "INTEGER NOT NULL DEFAULT 0",
    "last_used": "REAL",
    "retrievals": "INTEGER NOT NULL DEFAULT 0",
}

_INDEXES = """
CREATE INDEX IF NOT EXISTS originals_last_used ON originals (last_used);
CREATE INDEX IF NOT EXISTS decisions_part_id ON decisions (part_id);
"""

_INSERT = """
INSERT INTO originals (id, kind, text, created, size, last_used, retrievals) VALUES (?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (id) DO UPDATE SET last_used = MAX(COALESCE(last_used, 0), excluded.last_used)
"""

DAY = 86_400.0


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


@dataclass
class StoreStats:
    items: int = 0
    bytes: int = 0
    decisions: int = 0
    oldest: float | None = None  # created
    newest: float | None = None
    least_recently_used: float | None = None
    retrievals: int = 0
    most_retrieved: list[tuple[str, str, int, int]] = field(default_factory=list)  # (id, kind, size, retrievals)


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._conn = connect(path, _SCHEMA)
        self._lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self) -> None:
        with self._lock, self._conn:
            if add_columns(self._conn, "originals", _ADDED_COLUMNS):
                self._conn.execute("UPDATE originals SET size = length(CAST(text AS BLOB)) WHERE size = 0")
                self._conn.execute("UPDATE originals SET last_used = created WHERE last_used IS NULL")
            self._conn.executescript(_INDEXES)

    def put(self, part_id: str, kind: str, text: str, now: float | None = None) -> None:
        """Keep an original (content-addressed: the same ID again only marks it used)."""
        now = time.time() if now is None else now
        with self._lock, self._conn:
            self._conn.execute(_INSERT, (part_id, kind, text, now, _size(text), now))

    def get(self, part_id: str) -> str | None:
        """The original, without marking it used (for internal reads)."""
        with self._lock:
            row = self._conn.execute("SELECT text FROM originals WHERE id = ?", (part_id,)).fetchone()
        return row[0] if row else None

    def has(self, part_id: str) -> bool:
        """Whether an original is here (a cheap check; nothing is read or marked)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM originals WHERE id = ?", (part_id,)).fetchone() is not None

    def fetch_for_retrieval(self, part_id: str, now: float | None = None) -> str | None:
        """The original for someone redeeming a marker: counted, and marked used so pruning keeps it."""
        now = time.time() if now is None else now
        with self._lock, self._conn:
            row = self._conn.execute("SELECT text FROM originals WHERE id = ?", (part_id,)).fetchone()
            if row is not None:
                self._conn.execute("UPDATE originals SET retrievals = retrievals + 1, last_used = ? WHERE id = ?",
                                   (now, part_id))
        return row[0] if row else None

    # -- frozen decisions (the pipeline's FrozenDecisions) ----------------------------------------
    def recall(self, part_hash: str, original: str) -> Outcome | None:
        with self._lock:
            row = self._conn.execute("SELECT engine, kind, part_id, text FROM decisions WHERE hash = ?",
                                     (part_hash,)).fetchone()
            if row is not None and row[2]:
                # The part is being sent again: its original is in use.
                with self._conn:
                    self._conn.execute("UPDATE originals SET last_used = ? WHERE id = ?", (time.time(), row[2]))
        if row is None:
            return None
        engine, kind, part_id, text = row
        return Outcome(original, original if text is None else text, engine, kind, part_id)

    def freeze(self, part_hash: str, outcome: Outcome) -> None:
        """Remember what a part became; with its original in the same transaction when lossy, so a
        frozen marker can never point at nothing."""
        now = time.time()
        with self._lock, self._conn:
            if outcome.part_id:
                stored = outcome.stored or outcome.original
                self._conn.execute(_INSERT, (outcome.part_id, outcome.kind or "text", stored, now, _size(stored), now))
            self._conn.execute(
                "INSERT OR IGNORE INTO decisions (hash, engine, kind, part_id, text, created) VALUES (?, ?, ?, ?, ?, ?)",
                (part_hash, outcome.engine, outcome.kind, outcome.part_id,
                 outcome.text if outcome.changed else None, now),
            )

    # -- budget ---------------------------------------------------------------------------------
    def prune(self, max_bytes: int | None = None, max_age_days: float | None = None,
              now: float | None = None) -> tuple[int, int]:
        """Drop originals unused for more than ``max_age_days``, then the least recently used ones
        until the rest fit in ``max_bytes``; with them, the frozen decisions that pointed at them.
        Returns (originals removed, bytes freed). Cheap when there is nothing to do."""
        now = time.time() if now is None else now
        with self._lock, self._conn:
            total, oldest = self._conn.execute(
                "SELECT COALESCE(SUM(size), 0), MIN(COALESCE(last_used, created)) FROM originals").fetchone()
            doomed: list[tuple[str, int]] = []
            if max_age_days is not None and oldest is not None and oldest < now - max_age_days * DAY:
                doomed = list(self._conn.execute(
                    "SELECT id, size FROM originals WHERE COALESCE(last_used, created) < ?",
                    (now - max_age_days * DAY,)))
            remaining = total - sum(size for _, size in doomed)
            if max_bytes is not None and remaining > max_bytes:
                gone = {part_id for part_id, _ in doomed}
                for part_id, size in self._conn.execute(
                        "SELECT id, size FROM originals ORDER BY COALESCE(last_used, created), created, id"):
                    if remaining <= max_bytes:
                        break
                    if part_id in gone:
                        continue
                    doomed.append((part_id, size))
                    remaining -= size
            if doomed:
                ids = [(part_id,) for part_id, _ in doomed]
                self._conn.executemany("DELETE FROM decisions WHERE part_id = ?", ids)
                self._conn.executemany("DELETE FROM originals WHERE id = ?", ids)
        return len(doomed), sum(size for _, size in doomed)

    def clear(self) -> int:
        """Remove every original and frozen decision; returns how many originals there were."""
        with self._lock, self._conn:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM originals").fetchone()
            self._conn.execute("DELETE FROM decisions")
            self._conn.execute("DELETE FROM originals")
        with self._lock:
            self._conn.execute("VACUUM")
        return count

    def stats(self, top: int = 5) -> StoreStats:
        with self._lock:
            items, total, oldest, newest, lru, retrievals = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created), MAX(created), "
                "MIN(COALESCE(last_used, created)), COALESCE(SUM(retrievals), 0) FROM originals").fetchone()
            (decisions,) = self._conn.execute("SELECT COUNT(*) FROM decisions").fetchone()
            most = [tuple(row) for row in self._conn.execute(
                "SELECT id, kind, size, retrievals FROM originals WHERE retrievals > 0 "
                "ORDER BY retrievals DESC, id LIMIT ?", (top,))]
        return StoreStats(items, total, decisions, oldest, newest, lru, retrievals, most)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
