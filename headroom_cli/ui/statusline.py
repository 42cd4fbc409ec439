"""`headroom statusline`: one short line of this session's savings, for a tool's own status bar.

Claude Code runs this often (its statusLine setting) and pipes session JSON to stdin, which we
do not need. It must start fast, so it imports only the ledger, and never fails loudly.
"""

from __future__ import annotations

import os
import sys


def render(session: str | None = None) -> str:
    from pathlib import Path

    from headroom_cli.config import database_target
    from headroom_cli.ledger import Ledger
    from headroom_cli.ui.format import dollars, percent, tokens

    path = database_target("ledger")  # the shared database when HEADROOM_DATABASE is set
    if isinstance(path, Path) and not path.exists():
        return "headroom: no requests yet"
    ledger = Ledger(path)
    try:
        session = session or os.environ.get("HEADROOM_SESSION") or ledger.latest_session()
        t = ledger.totals(session)
    finally:
        ledger.close()
    if not t.requests:
        return "headroom: no requests yet"
    if not t.priced_requests:  # no usage from the upstream: the list-price figure, labelled
        return (f"headroom ▼ {tokens(t.tokens_saved)} tokens ({percent(t.percent_saved)})"
                f" · {dollars(t.dollars_saved)} at list price, uncached · {t.requests} req")
    return (
        f"headroom ▼ {dollars(t.input_dollars_saved)} net ({percent(t.net_percent_saved)}) after caching"
        f" · paid {dollars(t.input_dollars_paid)} · {tokens(t.tokens_saved)} tokens ({percent(t.percent_saved)})"
        f" · {t.requests} req"
    )


def main() -> int:
    if not sys.stdin.isatty():
        try:
            sys.stdin.read()  # drain what the tool sends so it never blocks on a full pipe
        except (OSError, ValueError):
            pass
    try:
        print(render())
    except Exception:  # a status bar is no place for a traceback
        print("headroom")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
