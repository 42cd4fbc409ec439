"""The shared backend: one PostgreSQL database for every proxy, worker and host (psycopg 3).

Each thread keeps one connection (autocommit; ``with conn:`` is a transaction), made on first use.
While the server is unreachable every use fails at once with DatabaseUnavailable (a DataError, so
the request path goes on losslessly as it does for a broken SQLite file) instead of waiting on it:
after a failure no connection is tried for BACKOFF_S, then the next use tries again, so the proxy
recovers by itself when the database is back. SQL is written once for both backends; the only
rewrite is SQLite's ``?`` placeholders to psycopg's ``%s`` (no statement here has a ``%`` or a ``?``
of its own).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
import threading
import time
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit
import contextlib

from headroom_cli import here
from headroom_cli.backends.migrate import migrate_postgres
from headroom_cli.db import DataError

NAME = "postgres"
CONNECT_TIMEOUT_S = 3
BACKOFF_S = 0.5
log = logging.getLogger("headroom.db")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


class DatabaseUnavailable(DataError):
    """PostgreSQL cannot be reached (down, restarting, network): what was asked is not done."""

    def __init__(self, where: str, reason: str):
        self.path, self.reason, self.damaged = where, reason, False
        sqlite3.DatabaseError.__init__(self, f"the database {where} cannot be reached ({reason}); "
                                             "check that PostgreSQL runs and the URL is right")


class DatabaseFailure(sqlite3.DatabaseError):
    """PostgreSQL refused a statement (not a connection problem); one line for the user."""


_SQL: dict[str, str] = {}
# PostgreSQL's text cannot hold NUL, which tool output can (`find -print0`, a binary file read): it is
# stored as ESC + "0", and ESC itself as ESC ESC, so every string comes back exactly as it was given.
ESC = "\ue000"  # a private-use character
_UNESCAPE = re.compile(ESC + "(.)", re.S)


def escape_text(text: str) -> str:
    if "\x00" not in text and ESC not in text:
        return text
    return text.replace(ESC, ESC + ESC).replace("\x00", ESC + "0")


def unescape_text(text: str) -> str:
    if ESC not in text:
        return text
    return _UNESCAPE.sub(lambda m: "\x00" if m.group(1) == "0" else m.group(1), text)


def _nul_safe(raw) -> None:
    """Every str parameter escaped and every text result unescaped, on this connection."""
    from psycopg.types.string import StrDumperUnknown, TextLoader

    class Dumper(StrDumperUnknown):
        def dump(self, obj):
            return super().dump(escape_text(obj))

    class Loader(TextLoader):
        def load(self, data):
            return unescape_text(super().load(data))

    raw.adapters.register_dumper(str, Dumper)
    raw.adapters.register_loader("text", Loader)


def _pg_sql(sql: str) -> str:
    out = _SQL.get(sql)
    if out is None:
        out = _SQL[sql] = sql.replace("?", "%s")
    return out


class Connection:
    """The subset of sqlite3.Connection the store, the ledger and the fit memory use."""

    def __init__(self, raw):
        self.raw = raw
        self._transactions: list[Any] = []

    def execute(self, sql: str, args: tuple | list = ()):
        return self.raw.execute(_pg_sql(sql), args)

    def executemany(self, sql: str, rows) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(_pg_sql(sql), list(rows))

    def __enter__(self) -> "Connection":
        transaction = self.raw.transaction()
        transaction.__enter__()
        self._transactions.append(transaction)
        return self

    def __exit__(self, *exc) -> None:
        self._transactions.pop().__exit__(*exc)


class PgDatabase:
    """One database URL, shared by every user of it in this process (store, fits, ledger, tokens)."""

    backend = sys.modules[__name__]
    read_only = False
    in_memory = False

    def __init__(self, url: str):
        self.url = url
        self.path = redact(url)  # what messages name
        self.refs = 0
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._why_down = ""  # the latest failure's reason, for the uses refused during the backoff
        self._announced = False  # an outage was logged and its end was not yet
        self._generation = 0  # counts failures: connections older than the latest are replaced
        self._unmigrated: list[str] = []  # components opened while the server was unreachable

    kind = "postgresql"

    @property
    def reachable(self) -> bool:
        """False from a failure until a connection succeeds again (read without connecting)."""
        return not self._announced

    def migrate(self, component: str, upto: int | None = None) -> int:
        with self.use() as conn:
            return migrate_postgres(conn.raw, component, upto)

    def add_component(self, component: str) -> None:
        """Migrate ``component``'s tables now, or on the first use once the server is reachable: a
        proxy started while the database is down serves requests losslessly until then."""
        try:
            self.migrate(component)
        except DatabaseUnavailable as exc:  # the outage itself was logged once, by _drop
            log.debug("%s; %s's tables are checked once it is back", exc, component)
            with self._lock:
                self._unmigrated.append(component)

    def _connection(self):
        import psycopg

        raw = getattr(self._local, "conn", None)
        if raw is not None and not raw.closed and getattr(self._local, "generation", None) == self._generation:
            return raw
        if raw is not None:  # made before the latest failure: likely cut by the same restart, so not tried
            with contextlib.suppress(Exception):
                raw.close()
        if time.monotonic() < self._down_until:
            raise DatabaseUnavailable(self.path, self._why_down)
        raw = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                              application_name="headroom")
        _nul_safe(raw)
        if self._announced:
            self._announced = False
            log.warning("database %s is back", self.path)
        self._local.conn, self._local.generation = raw, self._generation
        with self._lock:
            self._connections = [c for c in self._connections if not c.closed] + [raw]
            pending, self._unmigrated = self._unmigrated, []
        try:
            for component in pending:
                migrate_postgres(raw, component)
        except BaseException:
            with self._lock:
                self._unmigrated[:0] = pending
            raise
        return raw

    @contextlib.contextmanager
    def use(self) -> Iterator[Connection]:
        import psycopg

        if here.active():  # a round trip to another host (or an outage's timeout): never in a here.block
            raise here.NotHere
        try:
            yield Connection(self._connection())
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop(exc)
            raise DatabaseUnavailable(self.path, _first_line(exc)) from exc
        except psycopg.Error as exc:
            raise DatabaseFailure(f"the database {self.path} refused a statement ({_first_line(exc)})") from exc

    def _drop(self, exc: BaseException) -> None:
        """A broken connection goes; none is tried for a moment (requests go on without the database)."""
        raw = getattr(self._local, "conn", None)
        self._local.conn = None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()
        if not self._announced:  # once per outage: every request would otherwise say it
            self._announced = True
            log.warning("database %s unreachable (%s); going on without it until it is back", self.path,
                        _first_line(exc))
        self._why_down = _first_line(exc)
        self._down_until = time.monotonic() + BACKOFF_S
        self._generation += 1

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for raw in connections:
            with contextlib.suppress(Exception):
                raw.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_registry: dict[str, PgDatabase] = {}
_registry_lock = threading.Lock()


def open_database(url: str, component: str) -> PgDatabase:
    """This process's handle on ``url``, with ``component``'s tables migrated (now, or once the
    server is reachable)."""
    _require_driver()
    with _registry_lock:
        database = _registry.get(url)
        if database is None:
            database = _registry[url] = PgDatabase(url)
        database.refs += 1
    try:
        database.add_component(component)
    except BaseException:
        release(database)
        raise
    return database


def release(database: PgDatabase) -> None:
    with _registry_lock:
        database.refs -= 1
        if database.refs > 0:
            return
        if _registry.get(database.url) is database:
            del _registry[database.url]
    database.close()


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseFailure("a postgresql:// database needs psycopg: pip install 'headroom-compress[postgres]'") from None


def compact(conn: Connection) -> None:
    """Nothing to do: PostgreSQL's autovacuum gives freed space back to new rows."""


def vacuum(conn: Connection) -> None:
    """Nothing either (VACUUM cannot run inside a transaction, and autovacuum does it)."""
