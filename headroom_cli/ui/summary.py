"""Savings tables: the wrap exit summary and `headroom stats`."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from headroom_cli.ledger import Ledger, RequestRecord, Totals
from headroom_cli.ui.format import dollars, percent, tokens


def totals_table(t: Totals, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    for name in ("requests", "tokens before", "tokens after", "saved", "% saved", "$ saved"):
        table.add_column(name, justify="right")
    table.add_row(
        str(t.requests), tokens(t.tokens_before), tokens(t.tokens_after), tokens(t.tokens_saved),
        percent(t.percent_saved), dollars(t.dollars_saved),
    )
    return table


def engines_table(per_engine: dict[str, list[int]]) -> Table:
    table = Table(title="by engine (tool outputs only)", title_justify="left", header_style="bold")
    for name, justify in (("engine", "left"), ("parts", "right"), ("before", "right"), ("after", "right"), ("% saved", "right")):
        table.add_column(name, justify=justify)
    for name, (parts, before, after) in per_engine.items():
        table.add_row(name, str(parts), tokens(before), tokens(after), percent(100 * (before - after) / before if before else 0))
    return table


def usage_line(t: Totals) -> Text:
    return Text(
        f"upstream reported: {tokens(t.usage_input)} input · {tokens(t.usage_output)} output · "
        f"{tokens(t.usage_cache_read)} cache read · {tokens(t.usage_cache_write)} cache write",
        style="dim",
    )


def recent_table(rows: list[RequestRecord]) -> Table:
    table = Table(title="latest requests", title_justify="left", header_style="bold")
    for name, justify in (("time", "left"), ("model", "left"), ("status", "right"), ("before", "right"),
                          ("after", "right"), ("saved", "right"), ("engines", "left")):
        table.add_column(name, justify=justify)
    for r in rows:
        saved = r.tokens_before - r.tokens_after
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(r.ts)), r.model or "?", str(r.status or "-"),
            tokens(r.tokens_before), tokens(r.tokens_after),
            f"{tokens(saved)} ({percent(100 * saved / r.tokens_before if r.tokens_before else 0)})",
            ", ".join(sorted(r.engines)) or "-",
        )
    return table


def session_summary(ledger: Ledger, session: str, title: str = "headroom · this session") -> Group:
    t = ledger.totals(session)
    parts = [totals_table(t, title)]
    per_engine = ledger.per_engine(session)
    if per_engine:
        parts.append(engines_table(per_engine))
    parts.append(usage_line(t))
    parts.append(Text("tokens counted with cl100k_base, one yardstick across providers", style="dim"))
    return Group(*parts)
