"""Every table Headroom keeps, as numbered migrations per component, for both backends.

The one place the two SQL dialects differ in their DDL: SQLite's types and AUTOINCREMENT beside
PostgreSQL's DOUBLE PRECISION (its REAL is 4 bytes: a timestamp would lose its seconds) and
identity columns. A component's migrations run in order, each once, recorded in ``schema_version``
(backends/migrate.py); a database made by a release before versioning is at version 0 and its first
migration is written to upgrade it in place (CREATE … IF NOT EXISTS, then the columns it lacks).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Union

from headroom_cli.db import add_columns

SqliteStep = Union[tuple[str, ...], Callable[[sqlite3.Connection], None]]


@dataclass(frozen=True)
class Migration:
    number: int
    sqlite: SqliteStep
    postgres: tuple[str, ...]


# -- store: originals and frozen decisions ------------------------------------------------------

def _store_v1_sqlite(conn: sqlite3.Connection) -> None:
    for sql in (
        "CREATE TABLE IF NOT EXISTS originals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL,"
        " created REAL NOT NULL, size INTEGER NOT NULL DEFAULT 0, last_used REAL,"
        " retrievals INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS decisions (hash TEXT PRIMARY KEY, engine TEXT, kind TEXT, part_id TEXT,"
        " text TEXT, created REAL NOT NULL)",  # text NULL: the part passes through unchanged
    ):
        conn.execute(sql)
    # A store from the first release lacks these; its rows get their values.
    if add_columns(conn, "originals", {"size": "INTEGER NOT NULL DEFAULT 0", "last_used": "REAL",
                                       "retrievals": "INTEGER NOT NULL DEFAULT 0"}):
        conn.execute("UPDATE originals SET size = length(CAST(text AS BLOB)) WHERE size = 0")
        conn.execute("UPDATE originals SET last_used = created WHERE last_used IS NULL")
    conn.execute("CREATE INDEX IF NOT EXISTS originals_last_used ON originals (last_used)")
    conn.execute("CREATE INDEX IF NOT EXISTS decisions_part_id ON decisions (part_id)")


_OWNERS = ("CREATE TABLE IF NOT EXISTS original_owners (part_id TEXT NOT NULL, owner TEXT NOT NULL,"
           " PRIMARY KEY (part_id, owner))",)

STORE = [
    Migration(1, _store_v1_sqlite, (
        "CREATE TABLE IF NOT EXISTS originals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL,"
        " created DOUBLE PRECISION NOT NULL, size INTEGER NOT NULL DEFAULT 0, last_used DOUBLE PRECISION,"
        " retrievals INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS decisions (hash TEXT PRIMARY KEY, engine TEXT, kind TEXT, part_id TEXT,"
        " text TEXT, created DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX IF NOT EXISTS originals_last_used ON originals (last_used)",
        "CREATE INDEX IF NOT EXISTS decisions_part_id ON decisions (part_id)",
    )),
    # Who may redeem an original when tokens are in use: the users whose requests it was sent in.
    Migration(2, _OWNERS, _OWNERS),
]

# -- fit memory: frozen context-fit decisions per conversation ----------------------------------

_FITS = ("CREATE TABLE IF NOT EXISTS context_fits (conversation TEXT PRIMARY KEY, state TEXT NOT NULL,"
         " updated {real} NOT NULL)")
FITS = [Migration(1, (_FITS.format(real="REAL"),), (_FITS.format(real="DOUBLE PRECISION"),))]

# -- ledger: one row per request --------------------------------------------------------------------

_LEDGER_ADDED = {
    "retrieval_rounds": "INTEGER NOT NULL DEFAULT 0",  # answered by the proxy, unseen by the client
    "stream_rebuilt": "INTEGER NOT NULL DEFAULT 0",  # the client's stream was held and continued
    "net_dollars_saved": "REAL",  # after the provider's cache prices (prices.py)
    "cache_breakpoints": "INTEGER NOT NULL DEFAULT 0",  # automatic cache_control markers added
    "cache_warning": "TEXT",  # Headroom made the provider write what it could have read: why
}
_REQUESTS = (
    "CREATE TABLE IF NOT EXISTS requests (id {id}, ts {real} NOT NULL, session TEXT NOT NULL,"
    " provider TEXT NOT NULL, model TEXT, path TEXT NOT NULL, status INTEGER, tokens_before INTEGER NOT NULL,"
    " tokens_after INTEGER NOT NULL, engines TEXT NOT NULL DEFAULT '{{}}', usage_input INTEGER,"
    " usage_output INTEGER, usage_cache_read INTEGER, usage_cache_write INTEGER,"
    " dollars_saved {real} NOT NULL DEFAULT 0, duration_ms {real}{more})")
_RETRIEVALS = ("CREATE TABLE IF NOT EXISTS retrievals (id {id}, ts {real} NOT NULL, session TEXT,"
               " part_id TEXT NOT NULL, lines TEXT, bytes INTEGER NOT NULL)")
_VOLATILE = ("CREATE TABLE IF NOT EXISTS volatile_prefixes (id {id}, ts {real} NOT NULL, session TEXT NOT NULL,"
             " location TEXT NOT NULL, \"offset\" INTEGER NOT NULL, kind TEXT NOT NULL, before TEXT NOT NULL,"
             " after TEXT NOT NULL, UNIQUE (session, location))")
_SQLITE = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "more": ""}
_PG = {"id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION",
       "more": "".join(f", {name} {kind.replace('REAL', 'DOUBLE PRECISION')}" for name, kind in _LEDGER_ADDED.items())}


def _ledger_v1_sqlite(conn: sqlite3.Connection) -> None:
    for sql in (_REQUESTS, _RETRIEVALS, _VOLATILE):
        conn.execute(sql.format(**_SQLITE))
    conn.execute("CREATE INDEX IF NOT EXISTS requests_session ON requests (session, id)")
    add_columns(conn, "requests", _LEDGER_ADDED)  # a ledger from before these columns


def _ledger_v2_sqlite(conn: sqlite3.Connection) -> None:
    add_columns(conn, "requests", {"owner": "TEXT"})
    add_columns(conn, "retrievals", {"owner": "TEXT"})
    conn.execute("CREATE INDEX IF NOT EXISTS requests_owner ON requests (owner)")


LEDGER = [
    Migration(1, _ledger_v1_sqlite, tuple(sql.format(**_PG) for sql in (_REQUESTS, _RETRIEVALS, _VOLATILE)) + (
        "CREATE INDEX IF NOT EXISTS requests_session ON requests (session, id)",)),
    # The user (token owner) each request and retrieval was made for; NULL without tokens.
    Migration(2, _ledger_v2_sqlite, (
        "ALTER TABLE requests ADD COLUMN IF NOT EXISTS owner TEXT",
        "ALTER TABLE retrievals ADD COLUMN IF NOT EXISTS owner TEXT",
        "CREATE INDEX IF NOT EXISTS requests_owner ON requests (owner)",
    )),
]

# -- tokens: one per person, only their SHA-256 kept ----------------------------------------------

_TOKENS = ("CREATE TABLE IF NOT EXISTS access_tokens (id {id}, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
           " created {real} NOT NULL, revoked {real})")
TOKENS = [Migration(1, (_TOKENS.format(**_SQLITE),), (_TOKENS.format(**_PG),))]

COMPONENTS: dict[str, list[Migration]] = {"store": STORE, "fits": FITS, "ledger": LEDGER, "tokens": TOKENS}
