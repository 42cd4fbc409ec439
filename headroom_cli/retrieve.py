"""Serve omitted content back: a whole original, a line range of it, or the lines matching a pattern."""

from __future__ import annotations

import re

from headroom_cli.markers import original_lines
from headroom_cli.store import Store


class NotFound(KeyError):
    pass


def parse_range(spec: str) -> tuple[int, int]:
    """'A-B' (1-based, inclusive) or a single 'N'."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", spec)
    if not match:
        raise ValueError(f"--lines takes A-B or N (1-based line numbers), not {spec!r}")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last < first:
        raise ValueError(f"--lines {spec}: need 1 <= A <= B")
    return first, last


def retrieve(store: Store, part_id: str, lines: str | None = None, grep: str | None = None) -> str:
    original = store.fetch_for_retrieval(part_id)
    if original is None:
        raise NotFound(part_id)
    if lines is None and grep is None:
        return original
    numbered = list(enumerate(original_lines(original), start=1))
    if lines is not None:
        first, last = parse_range(lines)
        numbered = numbered[first - 1 : last]
    if grep is not None:
        pattern = re.compile(grep)
        # Each match keeps its line number, so a reader can ask for the lines around it.
        return "".join(f"{n}:{line}" if line.endswith("\n") else f"{n}:{line}\n"
                       for n, line in numbered if pattern.search(line))
    return "".join(line for _, line in numbered)
