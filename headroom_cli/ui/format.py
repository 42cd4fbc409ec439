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
