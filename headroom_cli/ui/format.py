"""Small number formats shared by every view."""

from __future__ import annotations


def tokens(n: int) -> str:
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1000:.0f}k"
    if abs(n) >= 1_000:
        return f"{n / 1000:.1f}k"
    return str(n)


def dollars(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.4f}"


def percent(x: float) -> str:
    return f"{x:.0f}%" if x >= 10 else f"{x:.1f}%"


def net_headline(t) -> str:
    """What the user pays, first: input dollars after prompt caching against the same requests without
    Headroom (a ledger.Totals). Without reported usage, only the list-price figure, labelled as such."""
    if not t.priced_requests:
        return (f"no upstream usage reported: {dollars(t.dollars_saved)} saved at list price, uncached "
                f"({tokens(t.tokens_saved)} tokens)")
    unpriced = t.requests - t.priced_requests
    note = f" · {unpriced} request(s) without reported usage left out" if unpriced else ""
    return (f"net input {dollars(t.input_dollars_paid)} after caching vs ≈{dollars(t.input_dollars_without)} without "
            f"Headroom: {dollars(t.input_dollars_saved)} saved ({percent(t.net_percent_saved)}){note}")
