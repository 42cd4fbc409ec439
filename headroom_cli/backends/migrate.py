"""Bring a component's tables to the newest schema: its numbered migrations (backends/schema.py) run
in order, each once, under a lock, so that processes opening one database at once (several proxies,
the MCP server) neither run a migration twice nor see half of one.

The lock is SQLite's write lock (BEGIN IMMEDIATE) or, on PostgreSQL, a transaction-scoped advisory
lock; the version is read under it. Both backends keep it in ``schema_version`` (one row per component).
"""

from __future__ import annotations

import sqlite3

from headroom_cli.backends.schema import COMPONENTS, Migration
from headroom_cli.db import retry_locked

_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
_READ = "SELECT version FROM schema_version WHERE component = ?"
_WRITE = ("INSERT INTO schema_version (component, version) VALUES (?, ?) "
          "ON CONFLICT (component) DO UPDATE SET version = excluded.version")
PG_LOCK_KEY = 0x4865616472  # "Headr": one advisory lock for every Headroom schema change


def latest(component: str) -> int:
    return COMPONENTS[component][-1].number


def _pending(component: str, current: int) -> list[Migration]:
    return [m for m in COMPONENTS[component] if m.number > current]


def migrate_sqlite(conn: sqlite3.Connection, component: str, upto: int | None = None) -> int:
    """Apply what is missing; returns the version now. ``upto``: stop there (tests of older versions)."""
    retry_locked(lambda: conn.execute(_VERSIONS))
    if conn.in_transaction:
        conn.commit()
    retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        row = conn.execute(_READ, (component,)).fetchone()
        version = row[0] if row else 0
        for step in _pending(component, version):
            if upto is not None and step.number > upto:
                break
            if callable(step.sqlite):
                step.sqlite(conn)
            else:
                for sql in step.sqlite:
                    conn.execute(sql)
            version = step.number
            conn.execute(_WRITE, (component, version))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return version


def migrate_postgres(conn, component: str, upto: int | None = None) -> int:
    """``conn``: a psycopg connection in autocommit mode; DDL is transactional there, so a failed
    migration leaves nothing behind."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
        conn.execute(_VERSIONS)
        row = conn.execute(_READ.replace("?", "%s"), (component,)).fetchone()
        version = row[0] if row else 0
        for step in _pending(component, version):
            if upto is not None and step.number > upto:
                break
            for sql in step.postgres:
                conn.execute(sql)
            version = step.number
            conn.execute(_WRITE.replace("?", "%s"), (component, version))
    return version
