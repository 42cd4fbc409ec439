"""`headroom stats --by user`: all-time savings per person (the owner of each request's token)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from headroom_cli.ledger import NO_TOKEN, Ledger
from headroom_cli.ui.format import percent, tokens

NO_TOKEN_LABEL = "(no token)"


def per_user_json(ledger: Ledger) -> list[dict]:
    """Each user's totals, and the originals read back for them (the model's retrieve calls the proxy
    answered, the MCP tool's)."""
    return [{"user": owner, **totals.to_json(),
             "retrievals": ledger.retrieval_count(owner=NO_TOKEN if owner is None else owner)}
            for owner, totals in ledger.totals_by_owner().items()]


def print_per_user(ledger: Ledger, out: Console, as_json: bool) -> None:
    rows = per_user_json(ledger)
    if as_json:
        out.print_json(json.dumps({"tokenizer": "cl100k_base", "by_user": rows}))
        return
    if not rows:
        out.print("No requests recorded yet.")
        return
    table = Table("user", "requests", "tokens before", "tokens after", "saved", "net $ saved", "retrievals",
                  title="all time, per user")
    for row in rows:
        table.add_row(row["user"] or NO_TOKEN_LABEL, f"{row['requests']:,}", tokens(row["tokens_before"]),
                      tokens(row["tokens_after"]), percent(row["percent_saved"]),
                      f"${row['net_input_dollars_saved']:.4f}", f"{row['retrievals']:,}")
    out.print(table)
