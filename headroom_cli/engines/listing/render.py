"""The output: kept lines verbatim (a tree's leaves compacted), each dropped run of lines as one marker
naming its line range and what its entries were, where the marker is shorter than the run."""

from __future__ import annotations

from collections import Counter

from headroom_cli.engines.listing.selection import Selection
from headroom_cli.engines.listing.tree import compact, TreeLines
from headroom_cli.markers import line_marker

MIN_RUN = 3  # a shorter dropped run is kept: its marker would save next to nothing


def counts(labels: list[str]) -> Counter[str]:
    """Labels counted, a label seen once in its singular ("1 directory", "1 node_modules entry")."""
    out: Counter[str] = Counter()
    for key, num in Counter(labels).items():
        if num == 1:
            if key.endswith("ies"):
                key = key[:-3] + "y"
            elif key.endswith("s") and " " not in key:
                key = key[:-1]
        out[key] += num
    return out


def _run_cost(lines: list[str], i: int, j: int, tree: TreeLines | None) -> int:
    """Characters the lines i..j would take in the output (a tree's leaves as compacted names)."""
    if tree is None:
        return sum(map(len, lines[i:j])) + (j - i)
    return sum(len(tree.bare[x]) + 2 if tree.entry[x] else len(lines[x]) + 1 for x in range(i, j))


def _markers(lines: list[str], sel: Selection, part_id: str, tree: TreeLines | None) -> dict[int, tuple[int, str]]:
    """The dropped runs worth a marker: first line -> (end, marker); a run not worth one is kept."""
    keep, n = sel.keep, len(lines)
    markers: dict[int, tuple[int, str]] = {}
    i = keep.find(0)
    while 0 <= i < n:
        j = keep.find(1, i)
        if j < 0:
            j = n
        marker = line_marker(part_id, i + 1, j, counts(sel.label[i:j])) if j - i >= MIN_RUN else ""
        if marker and _run_cost(lines, i, j, tree) > len(marker):
            markers[i] = (j, marker)
        else:
            keep[i:j] = b"\x01" * (j - i)
        i = keep.find(0, j)
    return markers


def assemble(lines: list[str], sel: Selection, part_id: str, tree: TreeLines | None) -> tuple[list[str], int]:
    """(the output lines, how many original lines the markers stand for). ``lines`` are the raw lines."""
    keep, n = sel.keep, len(lines)
    markers = _markers(lines, sel, part_id, tree)
    out: list[str] = []
    omitted = 0
    i = 0
    while i < n:
        if i in markers:
            j, marker = markers[i]
            out.append(marker)
            omitted += j - i
            i = j
            continue
        j = keep.find(0, i)
        if j < 0:
            j = n
        if tree is None or not tree.compact:
            out.extend(lines[i:j])
        else:
            compact(lines, i, j, tree, out)
        i = j
    return out, omitted
