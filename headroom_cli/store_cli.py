"""`headroom store stats|prune|clear`: look after the CCR store (the originals markers point at)."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

store_app = typer.Typer(
    help="Look after the local store of omitted originals: size, pruning to the budget, starting afresh.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]headroom:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def where(path) -> str:
    from headroom_cli.backends import where as named

    return named(path)


def _path():
    """The store.sqlite3 file, or the shared database (HEADROOM_DATABASE)."""
    from headroom_cli.config import database_target

    return database_target("store")


def open_store(path: Path):
    """The store at ``path`` (read-only when this user may not write it), or one line and exit 1."""
    from headroom_cli.store import Store

    try:
        return Store.for_reading(path) if not isinstance(path, Path) or path.exists() else Store(path)
    except (sqlite3.Error, OSError) as exc:  # a DataError says its reason without the file's name
        _fail(f"the store {path} cannot be read ({getattr(exc, 'reason', exc)}); "
              "`headroom store clear --yes` starts a new one")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def _when(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else None


@store_app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """How much is stored: originals, bytes, oldest and newest, the most retrieved."""
    from headroom_cli.config import store_budget

    path = _path()
    store = open_store(path)
    try:
        s = store.stats()
    finally:
        store.close()
    try:
        max_bytes, max_days = store_budget()
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps({
            "path": where(path), "items": s.items, "bytes": s.bytes, "frozen_decisions": s.decisions,
            "oldest": s.oldest, "newest": s.newest, "least_recently_used": s.least_recently_used,
            "retrievals": s.retrievals,
            "most_retrieved": [{"id": i, "kind": k, "bytes": b, "retrievals": r} for i, k, b, r in s.most_retrieved],
            "budget": {"max_bytes": max_bytes, "max_days": max_days},
        }))
        return
    out.print(f"store {where(path)}", highlight=False, soft_wrap=True)
    out.print(f"  {s.items:,} originals, {_mb(s.bytes)} (budget {_mb(max_bytes)}, "
              f"kept {max_days:g} days after last use); {s.decisions:,} frozen decisions", highlight=False,
              soft_wrap=True)
    if s.items:
        out.print(f"  oldest {_when(s.oldest)}, newest {_when(s.newest)}, "
                  f"least recently used {_when(s.least_recently_used)}", highlight=False)
    out.print(f"  {s.retrievals:,} retrievals", highlight=False)
    if s.most_retrieved:
        table = Table("most retrieved", "kind", "size", "retrievals")
        for part_id, kind, size, count in s.most_retrieved:
            table.add_row(part_id, kind, f"{size:,} B", f"{count:,}")
        out.print(table)


@store_app.command()
def prune(
    max_mb: Optional[float] = typer.Option(None, "--max-mb", help="Size budget in MB (env HEADROOM_STORE_MAX_MB; default 512)."),
    max_days: Optional[float] = typer.Option(None, "--max-days", help="Drop what was not used for this many days (env HEADROOM_STORE_MAX_DAYS; default 30)."),
) -> None:
    """Drop originals unused past the age budget, then the least recently used until under the size budget."""
    from headroom_cli.config import store_budget

    try:
        env_bytes, env_days = store_budget()
    except ValueError as exc:
        _fail(str(exc))
    for name, value in (("--max-mb", max_mb), ("--max-days", max_days)):
        if value is not None and value < 0:
            _fail(f"{name} must be 0 or more, not {value:g}", 2)
    max_bytes = int(max_mb * 1024 * 1024) if max_mb is not None else env_bytes
    days = max_days if max_days is not None else env_days
    store = open_store(_path())
    try:
        removed, freed = store.prune(max_bytes=max_bytes, max_age_days=days)
        left = store.stats()
    finally:
        store.close()
    out.print(f"removed {removed:,} originals ({_mb(freed)}); {left.items:,} left ({_mb(left.bytes)})", highlight=False)


@store_app.command()
def clear(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Remove every stored original and frozen decision. Markers already sent can no longer be retrieved."""
    path = _path()
    if not yes:
        if not sys.stdin.isatty():
            _fail("`headroom store clear` deletes every stored original; not asking without a terminal: "
                  "add --yes to confirm", 2)
        if not typer.confirm(f"Delete every stored original in {where(path)}? Markers already sent will not be retrievable"):
            _fail("nothing deleted", 1)
    from headroom_cli.store import Store

    try:
        store = Store(path)
    except (sqlite3.Error, OSError) as exc:
        if not isinstance(path, Path):  # a shared database is never deleted from here
            _fail(str(exc))
        # Unreadable: start afresh rather than leave the user stuck with it.
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        out.print(f"the store {path} could not be read; removed it (a new one is made on next use)",
                  highlight=False, soft_wrap=True)
        return
    try:
        count = store.clear()
    finally:
        store.close()
    out.print(f"removed {count:,} originals from {path}", highlight=False, soft_wrap=True)
