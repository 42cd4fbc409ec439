"""CCR store: the original of every part that lost lines, keyed by its hr_ ID (SQLite)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from headroom_cli.db import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
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

    def close(self) -> None:
        with self._lock:
            self._conn.close()
