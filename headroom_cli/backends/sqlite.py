"""The embedded backend: one SQLite file per database (store.sqlite3, ledger.sqlite3) in Headroom's
folder, opened through headroom_cli/db.py (one connection per file and process, WAL, the careful
multi-process handling explained there)."""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path

from headroom_cli import db as sqlite_files
from headroom_cli.backends.migrate import migrate_sqlite

NAME = "sqlite"
log = logging.getLogger("headroom.store")


def _setup(component: str):
    return lambda conn: migrate_sqlite(conn, component)


def open_database(path: Path, component: str, read_only: bool = False) -> sqlite_files.Database:
    database = sqlite_files.open_database(path, _setup(component), read_only)
    database.backend = sys.modules[__name__]
    return database


def memory_database(component: str) -> sqlite_files.Database:
    database = sqlite_files.memory_database(_setup(component))
    database.backend = sys.modules[__name__]
    return database


def release(database: sqlite_files.Database) -> None:
    sqlite_files.release(database)


def compact(conn: sqlite3.Connection) -> None:
    """Give freed pages back to the file system, so the file shrinks after pruning. A file made
    before auto_vacuum was set is rebuilt once (VACUUM) with it. Best effort: a busy reader only
    delays it to the next prune."""
    try:
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("VACUUM")
        else:
            conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page only
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError as exc:
        log.debug("store not compacted now: %s", exc)


def vacuum(conn: sqlite3.Connection) -> None:
    conn.execute("VACUUM")
