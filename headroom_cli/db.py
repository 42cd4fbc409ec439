"""One way to open Headroom's SQLite files: WAL, so a dashboard can read while the proxy writes;
a busy timeout, since several proxies and the MCP server may write at once; user-only files."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


def private_dir(path: Path) -> None:
    """Create a folder (and its parents) readable by this user only; an existing one is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does: its -wal and -shm files copy its mode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm"):
        sibling = path.with_name(path.name + suffix)
        try:
            if sibling.stat().st_mode & 0o077:
                os.chmod(sibling, 0o600)
        except OSError:
            pass  # not there (yet), or not ours to change


def _retry_locked(step, deadline_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + random.random() * 0.05)


def connect(path: Path, schema: str) -> sqlite3.Connection:
    private_dir(path.parent)
    _private_file(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Switching a new file to WAL takes an exclusive lock that SQLite does not wait for: when
        # two processes open a new store at once, one of them retries here.
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        _retry_locked(lambda: conn.executescript(schema))
    except BaseException:
        conn.close()
        raise
    for suffix in ("-wal", "-shm"):
        sibling = path.with_name(path.name + suffix)
        try:
            if sibling.stat().st_mode & 0o077:
                os.chmod(sibling, 0o600)
        except OSError:
            pass
    return conn


def add_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> list[str]:
    """Add the columns a file from an older release lacks; returns the ones added. Call inside a
    transaction. Another process adding the same column at the same moment is not an error."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    missing = [name for name in columns if name not in have]
    for name in missing:
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {columns[name]}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
    return missing
