"""What the prompt cache made of this session: volatile prefix values and cache writes Headroom caused."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from headroom_cli.ledger import Ledger


def volatile_table(found: list[dict]) -> Table:
    table = Table(title="volatile prompt prefix (every request misses the cache from here on)", title_justify="left",
                  header_style="bold", title_style="bold yellow")
    for name, justify in (("where", "left"), ("offset", "right"), ("what", "left"), ("before → now", "left")):
        table.add_column(name, justify=justify)
    for f in found:
        table.add_row(f["location"], f"{f['offset']:,}", f["kind"], f"{f['before']!r} → {f['after']!r}")
    return table


def cache_notes(ledger: Ledger, session: str | None) -> Group | None:
    """Volatile prefix values and Headroom-caused cache writes of a session; None when there are none."""
    parts = []
    found = ledger.volatile(session)
    if found:
        parts.append(volatile_table(found))
    for warning in ledger.cache_warnings(session, limit=3):
        parts.append(Text(f"⚠ {warning}", style="yellow"))
    return Group(*parts) if parts else None
