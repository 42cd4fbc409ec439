"""Where Headroom keeps its state, behind one seam: SQLite files in Headroom's folder (the embedded
default) or one PostgreSQL database that every proxy, worker and host shares (``--database
postgresql://…`` or HEADROOM_DATABASE).

Each backend is one module with the same interface: ``open_database(target, component)`` returns a
handle whose ``use()`` gives a connection with sqlite3's ``execute``/``executemany`` and ``with conn:``
transactions; ``release``, ``compact`` and ``vacuum``. The store, the fit memory, the ledger and the
tokens write their SQL once (portable: ``ON CONFLICT``, no SQLite-only functions) and name a target:
a file path, or the database URL. Tables come from numbered migrations (schema.py, migrate.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from headroom_cli.backends import postgres, sqlite

DATABASE_ENV = "HEADROOM_DATABASE"
Target = Union[Path, str]
_SCHEMES = ("postgresql://", "postgres://")


def is_shared(target: Target) -> bool:
    """Whether ``target`` names a PostgreSQL database (else it is an SQLite file)."""
    return isinstance(target, str) and target.startswith(_SCHEMES)


def database_url(flag: str | None = None) -> str | None:
    """--database, else HEADROOM_DATABASE; None: the SQLite files in Headroom's folder."""
    value = flag if flag not in (None, "") else os.environ.get(DATABASE_ENV) or None
    if value is None:
        return None
    value = value.strip()
    if not value.startswith(_SCHEMES):
        where = "--database" if flag else DATABASE_ENV
        raise ValueError(f"{where} must be a postgresql:// URL (e.g. postgresql://headroom@db.internal/headroom), "
                         f"not {postgres.redact(value)!r}; leave it unset to keep the SQLite files in Headroom's folder")
    return value


def open_database(target: Target, component: str, read_only: bool = False):
    if is_shared(target):
        return postgres.open_database(str(target), component)
    return sqlite.open_database(Path(target), component, read_only)


def memory_database(component: str):
    return sqlite.memory_database(component)


def release(database) -> None:
    database.backend.release(database)


def where(target: Target) -> str:
    """``target`` as messages name it (a URL without its password)."""
    return postgres.redact(target) if is_shared(target) else str(target)
