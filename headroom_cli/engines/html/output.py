"""The engine's text: the title, the kept blocks in page order, a marker per condensed chapter and
one final marker for the markup, so the whole page is always retrievable by its ID."""

from __future__ import annotations

from collections import Counter

from headroom_cli.engines.html.render import Block
from headroom_cli.markers import omission_marker

_KIND_LABEL = {"para": "text paragraphs", "item": "list items", "code": "code blocks", "row": "table rows",
               "quote": "quotes", "heading": "section headings", "term": "definition terms"}
GAP = "\u2026"


def title_lines(title: str, shown: str, blocks: list[Block]) -> list[str]:
    first = blocks[0].text if blocks else ""
    if not title or (blocks and blocks[0].kind == "heading" and title in first):
        return []
    return [f"# {shown}"]


def _cut_text(block: Block) -> str:
    text = block.text[: block.cut].rstrip()
    return f"{text} {GAP}"


def _span(blocks: list[Block], i: int, j: int, n_lines: int) -> tuple[int, int] | None:
    """The original lines that hold the blocks i..j-1 that lost something: from the first one's line
    (or the nearest known line before it) to the line the next block starts on (or the page's end)."""
    lost = [k for k in range(i, j) if not blocks[k].keep or blocks[k].cut is not None]
    before = next((blocks[k].line for k in range(lost[0], -1, -1) if blocks[k].line), None)
    after = next((blocks[k].line for k in range(lost[-1] + 1, len(blocks)) if blocks[k].line), n_lines)
    known = [blocks[k].line for k in lost if blocks[k].line]  # lxml's lines may come out of order
    if before is None:
        return None
    start, end = min([before, *known]), max([after, *known])
    if not 1 <= start <= end <= n_lines:
        return None
    return start, end


def body_lines(blocks: list[Block], part_id: str, n_lines: int) -> tuple[list[str], int]:
    """The kept blocks, a gap mark where blocks were left out, and after each chapter that lost
    blocks one marker naming them and their lines; how many blocks were left out."""
    out: list[str] = []
    omitted = 0
    i, n = 0, len(blocks)
    while i < n:
        j = i
        while j < n and blocks[j].chapter == blocks[i].chapter:
            j += 1
        lost: Counter[str] = Counter()
        gap = False
        for block in blocks[i:j]:
            if not block.keep or block.cut is not None:
                label = _KIND_LABEL.get(block.kind, "blocks")
                lost[label if not block.keep else f"{label[:-1]} ends"] += 1
            if not block.keep:
                if not gap:
                    out.append(GAP)
                gap = True
                continue
            gap = False
            out.append(block.text if block.cut is None else _cut_text(block))
        if lost:
            count = sum(lost.values())
            omitted += count
            noun = "block of this section" if count == 1 else "blocks of this section"
            out.append(omission_marker(part_id, count, noun, lost, _span(blocks, i, j, n_lines)))
        i = j
    return out, omitted
