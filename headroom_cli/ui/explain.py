"""`headroom compress --explain`: how the router scored a part and what the chosen engine did."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from headroom_cli.pipeline import MIN_SCORE, Explanation, Outcome
from headroom_cli.tokens import count_tokens
from headroom_cli.ui.format import percent, tokens


def explanation(why: Explanation, outcome: Outcome) -> Group:
    table = Table(title="route", title_justify="left", header_style="bold")
    table.add_column("engine")
    table.add_column("score", justify="right")
    table.add_column("")
    for name, score in sorted(why.scores.items(), key=lambda item: (-item[1], item[0])):
        mark = "[bold green]chosen[/]" if name == why.chosen else ("" if score >= MIN_SCORE else "[dim]below threshold[/]")
        table.add_row(name, f"{score:.2f}", mark)
    before, after = count_tokens(outcome.original), count_tokens(outcome.text)
    lines = [
        Text(f"decision: {why.decision}"),
        Text(f"input: {'Read-format (N<TAB>line), compressed without the numbers' if why.read_format else 'plain text'}"),
        Text(f"tokens (cl100k): {tokens(before)} → {tokens(after)} "
             f"({percent(100 * (before - after) / before) if before else '0%'} saved) in {why.elapsed_ms:.1f} ms"),
    ]
    if outcome.changed and why.reasons:  # engines tried before the one that did it
        lines.append(Text(f"tried first: {'; '.join(dict.fromkeys(why.reasons))}"))
    if outcome.part_id:
        lines.append(Text(f"original stored as {outcome.part_id}: `headroom retrieve {outcome.part_id}`"))
    return Group(*(lines[:1] + ([table] if why.scores else []) + lines[1:]))
