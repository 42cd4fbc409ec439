"""The start banner: where the proxy listens, where it forwards, where state lives."""

from __future__ import annotations

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from headroom_cli import kompress
from headroom_cli.config import Settings


def banner(title: str, url: str, settings: Settings, session: str, extra: list[tuple[str, str]] = ()) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row("listening", url)
    grid.add_row("anthropic", settings.anthropic_upstream)
    grid.add_row("openai", settings.openai_upstream)
    grid.add_row("compression", "on" if settings.compress else "[yellow]off[/] (--no-compress): traffic passes through")
    if settings.compress:  # said once, here: the ML engine for text no specialised engine claims
        grid.add_row("kompress", escape(kompress.status()))  # its pip extra in [brackets]
    grid.add_row("state", str(settings.home))
    grid.add_row("session", session)
    for key, value in extra:
        grid.add_row(key, value)
    return Panel(grid, title=f"[bold]headroom[/] · {title}", border_style="cyan", expand=False)
