"""One way to open Headroom's SQLite files, and one owner of each file per process.

WAL, so a dashboard can read while the proxy writes; a busy timeout, since several proxies and the
MCP server may write at once; user-only files (0600 in a 0700 folder).

Why one owner: POSIX drops *every* lock a process holds on a file when it closes *any* descriptor of
that file. SQLite relies on those locks to know whether another process still uses the WAL, so an
``open()``/``close()`` of the database file by hand in a process that holds a connection to it makes
the next process that closes the file think it is the last user and delete the live WAL: the
originals written after that are seen by nobody else and lost on a crash. So every connection is made
here, at most one per file and process (shared by the file's users: the store, the fit memory…), and
a database file is never opened by hand except to create it new, under the lock connections open under.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

from headroom_cli import here

BUSY_TIMEOUT_MS = 10_000
RECHECK_S = 1.0  # how often a file's identity is checked (a store deleted while the proxy runs)

log = logging.getLogger("headroom.db")
# Held while a database file is created or a connection opens its descriptors (and nothing else is
# taken while it is held): a file created here is closed before any connection can open it.
_open_lock = threading.Lock()
Setup = Callable[[sqlite3.Connection], None]


class DataError(sqlite3.DatabaseError):
    """A Headroom database that cannot be opened, read or written; ``str()`` is one line for the user:
    which file, what is wrong, what to do."""

    def __init__(self, path: Path, reason: str, damaged: bool):
        self.path, self.reason, self.damaged = path, reason, damaged
        what = _label(path)
        if damaged:
            text = (f"the {what} {path} is damaged ({reason}); move it aside or delete it "
                    f"(with its -wal and -shm files) to start a new one")
        else:
            text = (f"the {what} {path} cannot be used ({reason}); check that its folder is writable "
                    f"and the disk is not full")
        super().__init__(text)


def _label(path: Path) -> str:
    return {"store.sqlite3": "store", "ledger.sqlite3": "ledger"}.get(path.name, "database")


_DAMAGED = ("not a database", "malformed", "file is encrypted", "database corrupt")
_UNUSABLE = ("readonly", "read-only", "unable to open", "disk is full", "disk i/o error", "cannot open")


def as_data_error(path: Path, exc: BaseException) -> BaseException:
    """The error a user can act on, for an SQLite or OS error about ``path``; others unchanged."""
    if isinstance(exc, DataError):
        return exc
    text = str(exc)
    if isinstance(exc, OSError):
        return DataError(path, exc.strerror or text, damaged=False)
    if not isinstance(exc, sqlite3.DatabaseError):
        return exc
    lower = text.lower()
    if any(word in lower for word in _DAMAGED) or type(exc) is sqlite3.DatabaseError:
        return DataError(path, text, damaged=True)
    if any(word in lower for word in _UNUSABLE):
        return DataError(path, text, damaged=False)
    return exc


def private_dir(path: Path) -> None:
    """Create a folder (and its parents) readable by this user only; an existing one is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)


def private_file_mode(path: Path, mode: int = 0o600) -> None:
    """Make a file (0600) or folder (0o700) Headroom wrote user-only (by its path: never through a
    descriptor, see above)."""
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, mode)
    except OSError:
        pass  # not there (yet), not ours to change, or a read-only home


def private_tree(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root`` (what a library wrote there with its own modes)."""
    if not root.is_dir() or root.is_symlink():
        return
    private_file_mode(root, 0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            if not os.path.islink(os.path.join(folder, name)):
                private_file_mode(Path(folder, name), 0o700)
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                private_file_mode(Path(folder, name))


def private_log_file(path: Path) -> Path:
    """A log file that is user-only from its first byte (logging.FileHandler would make it 0644)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # not a database: no lock to lose
    private_file_mode(path)
    return path


def _create_new(path: Path) -> None:
    """Create a missing database file 0600 before SQLite does (its -wal and -shm copy its mode).

    Only a file that does not exist yet is opened here: a brand new inode, which no connection of
    this process can hold (every connection is opened under ``_open_lock``), so closing it drops no lock."""
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it a moment ago
    os.close(fd)


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def retry_locked(step, deadline_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + random.random() * 0.05)


def _connect(path: Path) -> sqlite3.Connection:
    private_dir(path.parent)
    with _open_lock:
        _create_new(path)
        private_file_mode(path)
        for needed in (path, path.parent):  # SQLite would open it read-only without a word
            if not os.access(needed, os.W_OK):
                raise DataError(path, f"{needed} is read-only", damaged=False)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file: pages freed by pruning can be given back to the file system.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        # Switching a new file to WAL takes an exclusive lock that SQLite does not wait for: when
        # two processes open a new store at once, one of them retries here.
        retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    for suffix in ("-wal", "-shm"):
        private_file_mode(path.with_name(path.name + suffix))
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """For a store or ledger Headroom may not write (a read-only home): read-only, then immutable
    (when not even the -shm file can be made; what an unfinished WAL holds is then not seen)."""
    if not path.is_file():
        raise DataError(path, "no such file", damaged=False)
    uri = "file:" + quote(str(path))
    failure: BaseException | None = None
    for flags in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = None
        try:
            with _open_lock:
                conn = sqlite3.connect(uri + flags, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                       check_same_thread=False)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            failure = exc
            if conn is not None:  # opened, but unreadable this way: closed before the next try
                conn.close()
    raise as_data_error(path, failure)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Database:
    """This process's one connection to one SQLite file, shared by every user of the file.

    Use it as ``with db.use() as conn:`` (add ``, conn`` for a transaction): that holds the file's
    lock, gives the current connection, notices a file deleted or replaced under a writer (at most
    every RECHECK_S) and reopens it, and turns SQLite's damage/permission errors into DataError."""

    kind = "sqlite"
    reachable = True  # a local file: its errors are raised where it is used

    def __init__(self, path: Path, read_only: bool, conn: sqlite3.Connection | None = None):
        self.path = path
        self.read_only = read_only
        self.lock = threading.RLock()
        self.refs = 0
        self._setups: list[Setup] = []
        self.in_memory = conn is not None
        if conn is None:
            conn = _connect_read_only(path) if read_only else _connect(path)
        self._conn = conn
        self._identity = _identity(path)
        self._checked = time.monotonic()

    def add_setup(self, setup: Setup) -> None:
        """Run ``setup`` (create tables, migrate) now and whenever the file is made anew."""
        with self.use() as conn:
            if not self.read_only:
                setup(conn)
            self._setups.append(setup)

    @contextlib.contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        with here.holding(self.lock):  # in a here.block, NotHere rather than wait for another thread
            quick = here.active() and not self.in_memory
            try:
                self._recheck()
                if quick:  # nor wait long for another process's write
                    self._conn.execute(f"PRAGMA busy_timeout={here.BUSY_MS}")
                yield self._conn
            except (sqlite3.Error, OSError) as exc:
                if quick and isinstance(exc, sqlite3.OperationalError) and _locked(exc):
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.rollback()  # a commit that could not take the lock leaves its transaction open
                    raise here.NotHere from exc
                converted = as_data_error(self.path, exc)
                if converted is exc:
                    raise
                raise converted from exc
            finally:
                if quick:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def recheck_now(self) -> None:
        with self.lock:
            self._checked = float("-inf")
            self._recheck()

    def _recheck(self) -> None:
        if self.read_only or self.in_memory or time.monotonic() - self._checked < RECHECK_S:
            return
        self._checked = time.monotonic()
        if _identity(self.path) == self._identity:
            return
        # Deleted (or replaced) while open: new rows must never go into a file nobody can reach.
        log.warning("%s %s was deleted or replaced while in use; starting a new one", _label(self.path), self.path)
        old, self._conn = self._conn, _connect(self.path)
        self._identity = _identity(self.path)
        with contextlib.suppress(sqlite3.Error):
            old.close()
        for setup in self._setups:
            setup(self._conn)

    def close(self) -> None:
        with self.lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


_registry: dict[tuple[str, bool], Database] = {}
_registry_lock = threading.Lock()


def open_database(path: Path, setup: Setup, read_only: bool = False) -> Database:
    """This process's connection to ``path`` (made if needed), with ``setup`` run on it; give it
    back with ``release``. Raises DataError when the file cannot be opened or is damaged."""
    key = (os.path.abspath(path), read_only)
    with _registry_lock:
        db = _registry.get(key)
        try:
            if db is None:
                db = Database(Path(key[0]), read_only)
            else:
                db.recheck_now()  # a file deleted since: made anew before this user writes to it
            db.add_setup(setup)
        except (sqlite3.Error, OSError) as exc:
            if db is not None and db.refs == 0:
                db.close()
            converted = as_data_error(Path(key[0]), exc)
            if converted is exc:
                raise
            raise converted from exc
        _registry[key] = db
        db.refs += 1
        return db


def memory_database(setup: Setup) -> Database:
    """A database kept in memory, for when the file cannot be used (nothing survives the process)."""
    db = Database(Path(":memory:"), False, sqlite3.connect(":memory:", check_same_thread=False))
    db.add_setup(setup)
    db.refs = 1
    return db


def release(db: Database) -> None:
    """One user is done with ``db``; the last one closes the connection."""
    with _registry_lock:
        db.refs -= 1
        if db.refs > 0:
            return
        if db.in_memory:
            db.close()
            return
        key = (str(db.path), db.read_only)
        if _registry.get(key) is db:
            del _registry[key]
    db.close()


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
