"""CCR store (SQLite): the original of every part that lost something, keyed by its hr_ ID, and the
frozen decision for every part seen (what it compressed to), keyed by the SHA-256 of its bytes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from headroom_cli.db import connect
from headroom_cli.pipeline import Outcome

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL
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


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._conn = connect(path, _SCHEMA)
        self._lock = threading.Lock()

    def put(self, part_id: str, kind: str, text: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO originals (id, kind, text, created) VALUES (?, ?, ?, ?)",
                (part_id, kind, text, time.time()),
            )

    def get(self, part_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT text FROM originals WHERE id = ?", (part_id,)).fetchone()
        return row[0] if row else None

    # -- frozen decisions (the pipeline's FrozenDecisions) ----------------------------------------
    def recall(self, part_hash: str, original: str) -> Outcome | None:
        with self._lock:
            row = self._conn.execute("SELECT engine, kind, part_id, text FROM decisions WHERE hash = ?",
                                     (part_hash,)).fetchone()
        if row is None:
            return None
        engine, kind, part_id, text = row
        return Outcome(original, original if text is None else text, engine, kind, part_id)

    def freeze(self, part_hash: str, outcome: Outcome) -> None:
        """Remember what a part became; with its original in the same transaction when lossy, so a
        frozen marker can never point at nothing."""
        with self._lock, self._conn:
            if outcome.part_id:
                self._conn.execute(
                    "INSERT OR IGNORE INTO originals (id, kind, text, created) VALUES (?, ?, ?, ?)",
                    (outcome.part_id, outcome.kind or "text", outcome.stored or outcome.original, time.time()),
                )
            self._conn.execute(
                "INSERT OR IGNORE INTO decisions (hash, engine, kind, part_id, text, created) VALUES (?, ?, ?, ?, ?, ?)",
                (part_hash, outcome.engine, outcome.kind, outcome.part_id,
                 outcome.text if outcome.changed else None, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
