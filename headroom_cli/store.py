"""CCR store (SQLite): the original of every part that lost something, keyed by its hr_ ID, and the
frozen decision for every part seen (what it compressed to), keyed by the SHA-256 of its bytes.

Originals carry their size, when they were created and last used, and how often they were retrieved,
so the store can be kept within a size and age budget (``prune``). A frozen lossy decision is pruned
with its original: a marker that could no longer be redeemed is never replayed."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Iterator

from headroom_cli.backends import Target, is_shared, open_database, release, where
from headroom_cli.db import DataError
from headroom_cli.pipeline import Outcome

_DECIDE = ("INSERT INTO decisions (hash, engine, kind, part_id, text, created) VALUES (?, ?, ?, ?, ?, ?)"
           " ON CONFLICT (hash) DO NOTHING")
_TOUCH = "UPDATE originals SET last_used = ? WHERE id = ?"
_INSERT = """
INSERT INTO originals (id, kind, text, created, size, last_used, retrievals) VALUES (?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (id) DO UPDATE SET last_used = CASE WHEN excluded.last_used > COALESCE(originals.last_used, 0)
    THEN excluded.last_used ELSE originals.last_used END
"""

DAY = 86_400.0
log = logging.getLogger("headroom.store")


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
    def __init__(self, path: Target, read_only: bool = False):
        """``path``: the SQLite file, or a postgresql:// URL (backends/). ``read_only``: for reading a
        store this process may not write (retrieval counts are then not kept). Raises db.DataError
        (one line for the user) when it cannot be opened."""
        self.path = where(path) if is_shared(path) else Path(path)  # a URL is named without its password
        self.read_only = read_only
        self._db = open_database(path, "store", read_only)
        self._pruner = _Pruner(self)
        self._local = threading.local()  # this thread's open batch (batch())

    @classmethod
    def for_reading(cls, path: Target) -> "Store":
        """The store as it is, also when it cannot be written (a read-only home)."""
        try:
            return cls(path)
        except DataError as exc:
            if exc.damaged:
                raise
            return cls(path, read_only=True)

    def database_state(self) -> dict:
        """What /headroom/health says of the database, without connecting to it."""
        return {"kind": self._db.kind, "reachable": self._db.reachable}

    def put(self, part_id: str, kind: str, text: str, now: float | None = None) -> None:
        """Keep an original (content-addressed: the same ID again only marks it used)."""
        now = time.time() if now is None else now
        self._write([(_INSERT, (part_id, kind, text, now, _size(text), now))], (part_id,))

    def get(self, part_id: str) -> str | None:
        """The original, without marking it used (for internal reads)."""
        with self._db.use() as conn:
            row = conn.execute("SELECT text FROM originals WHERE id = ?", (part_id,)).fetchone()
        return row[0] if row else None

    def kind_of(self, part_id: str) -> str | None:
        """What kind of thing an original is ("image" is base64 text, to be written as bytes)."""
        with self._db.use() as conn:
            row = conn.execute("SELECT kind FROM originals WHERE id = ?", (part_id,)).fetchone()
        return row[0] if row else None

    def has(self, part_id: str) -> bool:
        """Whether an original is here (a cheap check; nothing is read or marked)."""
        with self._db.use() as conn:
            return conn.execute("SELECT 1 FROM originals WHERE id = ?", (part_id,)).fetchone() is not None

    def missing(self, part_ids) -> set[str]:
        """Which of these originals are not here: one query for a request's omissions."""
        # Those written in this thread's open batch are left out: they are in the store once it
        # commits, before the request that names them goes anywhere.
        batch = getattr(self._local, "batch", None)
        wanted = sorted(set(part_ids) - (batch.ids if batch is not None else set()))
        if not wanted:
            return set()
        with self._db.use() as conn:
            rows = conn.execute(f"SELECT id FROM originals WHERE id IN ({','.join('?' * len(wanted))})",
                                wanted).fetchall()
        return set(wanted) - {row[0] for row in rows}

    def fetch_for_retrieval(self, part_id: str, now: float | None = None) -> str | None:
        """The original for someone redeeming a marker: counted, and marked used so pruning keeps it
        (best effort: a store that cannot be written still gives it back)."""
        now = time.time() if now is None else now
        with self._db.use() as conn:
            row = conn.execute("SELECT text FROM originals WHERE id = ?", (part_id,)).fetchone()
            if row is not None and not self.read_only:
                try:
                    with conn:
                        conn.execute("UPDATE originals SET retrievals = retrievals + 1, last_used = ? WHERE id = ?",
                                     (now, part_id))
                except sqlite3.OperationalError as exc:
                    log.debug("retrieval of %s not counted: %s", part_id, exc)
        return row[0] if row else None

    # -- frozen decisions (the pipeline's FrozenDecisions) ----------------------------------------
    def recall(self, part_hash: str, original: str) -> Outcome | None:
        with self._db.use() as conn:
            row = conn.execute("SELECT engine, kind, part_id, text FROM decisions WHERE hash = ?",
                               (part_hash,)).fetchone()
        if row is None:
            return None
        if row[2]:  # the part is being sent again: its original is in use
            self._write([(_TOUCH, (time.time(), row[2]))])
        engine, kind, part_id, text = row
        return Outcome(original, original if text is None else text, engine, kind, part_id)

    def freeze(self, part_hash: str, outcome: Outcome) -> None:
        """Remember what a part became; with its original in the same transaction when lossy, so a
        frozen marker can never point at nothing."""
        now = time.time()
        writes = []
        if outcome.part_id:
            stored = outcome.stored or outcome.original
            writes.append((_INSERT, (outcome.part_id, outcome.kind or "text", stored, now, _size(stored), now)))
        writes.append((_DECIDE, (part_hash, outcome.engine, outcome.kind, outcome.part_id,
                                 outcome.text if outcome.changed else None, now)))
        self._write(writes, (outcome.part_id,) if outcome.part_id else ())

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for what this thread writes until the block ends (originals, frozen
        decisions, originals marked used), committed when it ends: one request's writes, committed
        before it goes upstream. Nothing is written when the block raises; a failed commit raises
        DataError like a failed write. Nested blocks join the outermost."""
        if getattr(self._local, "batch", None) is not None:
            yield
            return
        batch = self._local.batch = _Batch()
        try:
            yield
        finally:
            self._local.batch = None
        if batch.writes:
            self._commit(batch.writes)

    def _write(self, writes: list[tuple[str, tuple]], ids: tuple = ()) -> None:
        batch = getattr(self._local, "batch", None)
        if batch is None:
            self._commit(writes)
        else:
            batch.writes += writes
            batch.ids.update(ids)

    def _commit(self, writes: list[tuple[str, tuple]]) -> None:
        with self._db.use() as conn, conn:
            for sql, args in writes:
                conn.execute(sql, args)
        self._pruner.wrote(sum(args[4] for sql, args in writes if sql is _INSERT))

    # -- owners (tokens per person: a user redeems only what was sent on their behalf) -----------
    def grant(self, owner: str, part_ids) -> None:
        """``owner`` may redeem these originals: they were in a request sent for them."""
        rows = sorted({(part_id, owner) for part_id in part_ids if part_id})
        if rows:
            with self._db.use() as conn, conn:
                conn.executemany("INSERT INTO original_owners (part_id, owner) VALUES (?, ?)"
                                 " ON CONFLICT (part_id, owner) DO NOTHING", rows)

    def owned_by(self, part_id: str, owner: str) -> bool:
        with self._db.use() as conn:
            return conn.execute("SELECT 1 FROM original_owners WHERE part_id = ? AND owner = ?",
                                (part_id, owner)).fetchone() is not None

    # -- budget ---------------------------------------------------------------------------------
    def keep_within(self, max_bytes: int | None, max_age_days: float | None) -> None:
        """Enforce this budget while running too: pruned off the request path, after every
        ``max_bytes / 8`` bytes (at most 8 MB) written and at least once a minute of writing."""
        self._pruner.budget = (max_bytes, max_age_days)

    def prune(self, max_bytes: int | None = None, max_age_days: float | None = None,
              now: float | None = None) -> tuple[int, int]:
        """Drop originals unused for more than ``max_age_days``, then the least recently used ones
        until the rest fit in ``max_bytes``; with them, the frozen decisions that pointed at them; then
        give the freed pages back to the file system. Returns (originals removed, bytes freed).
        Cheap when there is nothing to do."""
        now = time.time() if now is None else now
        with self._db.use() as conn:
            with conn:
                doomed = _doomed(conn, max_bytes, max_age_days, now)
                if doomed:
                    ids = [(part_id,) for part_id, _ in doomed]
                    conn.executemany("DELETE FROM decisions WHERE part_id = ?", ids)
                    conn.executemany("DELETE FROM originals WHERE id = ?", ids)
                    conn.executemany("DELETE FROM original_owners WHERE part_id = ?", ids)
            if doomed:
                self._db.backend.compact(conn)
        return len(doomed), sum(size for _, size in doomed)

    def clear(self) -> int:
        """Remove every original and frozen decision; returns how many originals there were."""
        with self._db.use() as conn:
            with conn:
                (count,) = conn.execute("SELECT COUNT(*) FROM originals").fetchone()
                conn.execute("DELETE FROM decisions")
                conn.execute("DELETE FROM originals")
                conn.execute("DELETE FROM original_owners")
            self._db.backend.vacuum(conn)
        return count

    def stats(self, top: int = 5) -> StoreStats:
        with self._db.use() as conn:
            items, total, oldest, newest, lru, retrievals = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created), MAX(created), "
                "MIN(COALESCE(last_used, created)), COALESCE(SUM(retrievals), 0) FROM originals").fetchone()
            (decisions,) = conn.execute("SELECT COUNT(*) FROM decisions").fetchone()
            most = [tuple(row) for row in conn.execute(
                "SELECT id, kind, size, retrievals FROM originals WHERE retrievals > 0 "
                "ORDER BY retrievals DESC, id LIMIT ?", (top,))]
        return StoreStats(items, total, decisions, oldest, newest, lru, retrievals, most)

    def close(self) -> None:
        self._pruner.stop()
        db, self._db = self._db, _CLOSED
        if db is not _CLOSED:  # twice would take the connection from the file's other users
            release(db)


@dataclass
class _Batch:
    writes: list[tuple[str, tuple]] = field(default_factory=list)  # (sql, args) in the order asked
    ids: set[str] = field(default_factory=set)  # the originals among them


class _Closed:
    def use(self):
        raise sqlite3.ProgrammingError("the store is closed")


_CLOSED = _Closed()


def _doomed(conn: sqlite3.Connection, max_bytes: int | None, max_age_days: float | None,
            now: float) -> list[tuple[str, int]]:
    """(id, size) of the originals past the age budget, then of the least recently used past the size one."""
    total, oldest = conn.execute(
        "SELECT COALESCE(SUM(size), 0), MIN(COALESCE(last_used, created)) FROM originals").fetchone()
    doomed: list[tuple[str, int]] = []
    if max_age_days is not None and oldest is not None and oldest < now - max_age_days * DAY:
        doomed = list(conn.execute("SELECT id, size FROM originals WHERE COALESCE(last_used, created) < ?",
                                   (now - max_age_days * DAY,)))
    remaining = total - sum(size for _, size in doomed)
    if max_bytes is not None and remaining > max_bytes:
        gone = {part_id for part_id, _ in doomed}
        for part_id, size in conn.execute(
                "SELECT id, size FROM originals ORDER BY COALESCE(last_used, created), created, id"):
            if remaining <= max_bytes:
                break
            if part_id not in gone:
                doomed.append((part_id, size))
                remaining -= size
    return doomed


class _Pruner:
    """Keeps a running store within its budget: a prune on a background thread once enough was
    written, one at a time, so no request waits for it."""

    MAX_STEP = 8 * 1024 * 1024
    MAX_INTERVAL_S = 60.0

    def __init__(self, store: Store):
        self.store = store
        self.budget: tuple[int | None, float | None] | None = None
        self._written = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wrote(self, size: int) -> None:
        if self.budget is None:
            return
        max_bytes = self.budget[0]
        step = min(self.MAX_STEP, max(max_bytes // 8, 64 * 1024)) if max_bytes else self.MAX_STEP
        with self._lock:
            self._written += size
            due = self._written >= step or time.monotonic() - self._last >= self.MAX_INTERVAL_S
            if not due or (self._thread is not None and self._thread.is_alive()):
                return
            self._written, self._last = 0, time.monotonic()
            self._thread = threading.Thread(target=self._run, name="headroom-store-prune", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        budget = self.budget
        if budget is None:
            return
        try:
            removed, freed = self.store.prune(max_bytes=budget[0], max_age_days=budget[1])
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not prune the store %s (%s)", self.store.path, exc)
            return
        if removed:
            log.info("store pruned: %d originals (%.1f MB) past the budget", removed, freed / (1024 * 1024))

    def stop(self) -> None:
        self.budget = None
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
