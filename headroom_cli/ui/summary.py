"""Savings tables: the wrap exit summary and `headroom stats`."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from headroom_cli.ledger import Ledger, RequestRecord, Totals
from headroom_cli.ui.cache_view import cache_notes
from headroom_cli.ui.format import dollars, net_headline, percent, tokens


def totals_table(t: Totals, title: str, headline: bool = True) -> Table:
    """Net input dollars after caching first (what the user pays); tokens as sent; list price last, labelled."""
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold",
                  caption=net_headline(t) if headline else None, caption_justify="left")
    for name in ("requests", "input $ paid", "≈ without Headroom", "net $ saved", "tokens before",
                 "tokens sent", "tokens saved", "list price, uncached"):
        table.add_column(name, justify="right")
    priced = bool(t.priced_requests)
    table.add_row(
        str(t.requests), dollars(t.input_dollars_paid) if priced else "-",
        dollars(t.input_dollars_without) if priced else "-",
        f"{dollars(t.input_dollars_saved)} ({percent(t.net_percent_saved)})" if priced else "-",
        tokens(t.tokens_before), tokens(t.tokens_after), f"{tokens(t.tokens_saved)} ({percent(t.percent_saved)})",
        dollars(t.dollars_saved),
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
    prompt = t.usage_input + t.usage_cache_read + t.usage_cache_write
    hits = f" ({percent(100 * t.usage_cache_read / prompt)} of input from the cache)" if prompt and t.usage_cache_read else ""
    warned = f" · {t.cache_warnings} cache write(s) caused by Headroom" if t.cache_warnings else ""
    return Text(
        f"upstream reported: {tokens(t.usage_input)} input · {tokens(t.usage_output)} output · "
        f"{tokens(t.usage_cache_read)} cache read · {tokens(t.usage_cache_write)} cache write{hits}{warned}",
        style="dim",
    )


def retrieval_line(ledger: Ledger, session: str | None) -> Text | None:
    """How often the model read back what Headroom left out. Its cost is already in the numbers above:
    a retrieved result counts as sent but not as saved, and so do the rounds the proxy answered."""
    found = ledger.retrieval_summary(session)
    if not found["retrievals"] and not found["proxy_rounds"]:
        return None
    rounds = (f" · {found['proxy_rounds']} answered by the proxy" if found["proxy_rounds"] else "")
    return Text(f"retrievals: {found['retrievals']} ({found['bytes_read_back']:,} bytes read back){rounds}"
                " · counted against the savings above", style="dim")


def recent_table(rows: list[RequestRecord]) -> Table:
    table = Table(title="latest requests", title_justify="left", header_style="bold")
    for name, justify in (("time", "left"), ("model", "left"), ("status", "right"), ("before", "right"),
                          ("sent", "right"), ("saved", "right"), ("cache r/w", "right"), ("engines", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("time", "model", "cache r/w"))  # kept whole
    for r in rows:
        saved = r.tokens_before - r.tokens_after
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(r.ts)), r.model or "?", str(r.status or "-"),
            tokens(r.tokens_before), tokens(r.tokens_after),
            f"{tokens(saved)} ({percent(100 * saved / r.tokens_before if r.tokens_before else 0)})",
            f"{tokens(r.usage.cache_read or 0)}/{tokens(r.usage.cache_write or 0)}" + (" ⚠" if r.cache_warning else ""),
            (", ".join(sorted(r.engines)) or "-") + (f" · {r.retrieval_rounds} retrieval round(s)" if r.retrieval_rounds else ""),
        )
    return table


def session_summary(ledger: Ledger, session: str, title: str = "headroom · this session") -> Group:
    t = ledger.totals(session)
    parts: list = [Text(net_headline(t), style="bold green"), totals_table(t, title, headline=False)]
    per_engine = ledger.per_engine(session)
    if per_engine:
        parts.append(engines_table(per_engine))
    parts.append(usage_line(t))
    retrievals = retrieval_line(ledger, session)
    if retrievals is not None:
        parts.append(retrievals)
    notes = cache_notes(ledger, session)
    if notes is not None:
        parts.append(notes)
    parts.append(Text("tokens counted with cl100k_base, one yardstick across providers; \"tokens sent\" is the count "
                      "of what went upstream; dollars at the model's list prices", style="dim"))
    return Group(*parts)
