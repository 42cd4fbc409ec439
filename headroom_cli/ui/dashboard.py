"""`headroom dashboard`: a live view of the ledger, for a terminal beside the wrapped tool."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from headroom_cli.ledger import Ledger
from headroom_cli.ui.cache_view import cache_notes
from headroom_cli.ui.format import net_headline
from headroom_cli.ui.summary import engines_table, recent_table, retrieval_line, totals_table, usage_line


def frame(ledger: Ledger, session: str | None) -> Group:
    session = session or ledger.latest_session()
    heading = Text(f"headroom dashboard · session {session or '(none yet)'} · Ctrl-C to quit", style="bold cyan")
    if session is None:
        return Group(heading, Text("No requests yet. Start `headroom wrap claude` or `headroom proxy`.", style="dim"))
    t = ledger.totals(session)
    notes = cache_notes(ledger, session)
    retrievals = retrieval_line(ledger, session)
    return Group(
        heading,
        Text(net_headline(t), style="bold green"),
        totals_table(t, "this session", headline=False),
        totals_table(ledger.totals(), "all time"),
        engines_table(ledger.per_engine(session)),
        recent_table(ledger.recent(8, session)),
        usage_line(t),
        *([retrievals] if retrievals is not None else []),
        *([notes] if notes is not None else []),
    )


def run(ledger: Ledger, session: str | None, interval: float = 1.0, console: Console | None = None,
        once: bool = False) -> None:
    console = console or Console()
    if once:
        console.print(frame(ledger, session))
        return
    with Live(frame(ledger, session), console=console, refresh_per_second=4, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(frame(ledger, session))
        except KeyboardInterrupt:
            pass
