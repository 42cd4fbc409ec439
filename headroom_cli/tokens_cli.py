"""`headroom tokens create|list|revoke`: personal access tokens for a shared proxy (tokens_auth.py)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

tokens_app = typer.Typer(
    help="Personal tokens for a shared proxy (`headroom proxy --require-token`): clients send one in an "
         "x-headroom-token header; savings and retrievals are then per person. Run these against the proxy's "
         "database (the same --database or HEADROOM_DATABASE; on SQLite, the same HEADROOM_HOME): a token "
         "made elsewhere is unknown to it.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
DATABASE_HELP = ("The proxy's postgresql:// URL (env HEADROOM_DATABASE; default: store.sqlite3 in Headroom's folder, "
                 "as for `headroom proxy` without --database).")


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]headroom:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _book(database: str | None):
    from headroom_cli.config import HomeError, database_target
    from headroom_cli.tokens_auth import TokenBook

    try:
        return TokenBook(database_target("store", database))
    except (ValueError, HomeError) as exc:
        _fail(str(exc), 2)
    except (sqlite3.Error, OSError) as exc:
        _fail(str(exc))


@tokens_app.command()
def create(name: str = typer.Argument(..., help="Whose token: a person (alice) or a machine (ci-runner-3)."),
           database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP)) -> None:
    """Make a token for NAME and print it once (only its hash is kept: it cannot be shown again)."""
    book = _book(database)
    try:
        secret = book.create(name)
    except ValueError as exc:
        _fail(str(exc), 2)
    except sqlite3.Error as exc:
        _fail(str(exc))
    finally:
        book.close()
    print(secret)
    err.print(f"headroom: token for {name} made; it is shown only now. Clients send it as the x-headroom-token "
              "header (Claude Code: ANTHROPIC_CUSTOM_HEADERS='x-headroom-token: …')", highlight=False, soft_wrap=True)


@tokens_app.command("list")
def list_tokens(as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
                database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP)) -> None:
    """Every token: its ID, whose it is, when it was made, whether it is revoked (never the token itself)."""
    book = _book(database)
    try:
        tokens = book.list()
    except sqlite3.Error as exc:
        _fail(str(exc))
    finally:
        book.close()
    if as_json:
        out.print_json(json.dumps([{"id": t.id, "name": t.name, "created": t.created, "revoked": t.revoked}
                                   for t in tokens]))
        return
    table = Table("id", "name", "created", "state")
    for t in tokens:
        state = f"revoked {_when(t.revoked)}" if t.revoked else "active"
        table.add_row(str(t.id), t.name, _when(t.created), state)
    out.print(table if tokens else "No tokens yet: `headroom tokens create NAME` makes one.")


@tokens_app.command()
def revoke(which: str = typer.Argument(..., metavar="NAME|ID", help="A token's ID (from `list`), or a name: all its tokens."),
           database: Optional[str] = typer.Option(None, "--database", metavar="URL", help=DATABASE_HELP)) -> None:
    """Revoke a token (every proxy refuses it within 5 seconds)."""
    book = _book(database)
    try:
        count = book.revoke(which)
    except sqlite3.Error as exc:
        _fail(str(exc))
    finally:
        book.close()
    if not count:
        _fail(f"no active token {which!r}: `headroom tokens list` shows them")
    out.print(f"revoked {count} token{'s' if count != 1 else ''} of {which}", highlight=False)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"
