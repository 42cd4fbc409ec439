"""Which blocks of a long page's main content stay: the outline, each section's lead, what the
question asks about, then an even share of what is left, chapter by chapter.

Only a page that is all content (trafilatura found no furniture on it: documentation, a report, a
man page) is condensed, to about ``RATIO`` of the page's characters, and only when its text is long
(over ``LONG_TEXT`` characters, about 5,000 tokens, which an article hardly ever reaches) or it is a
reference (it defines terms: API signatures, command options), which is looked up, not read through. An article cut out of its page (a news or blog page, whose
navigation, related links and footer trafilatura dropped) is kept whole: it is what was asked for.
Blocks keep their order: what the question asks about is kept where the page has it, not moved up,
so a reader never sees a section out of the context the page gave it.
"""

from __future__ import annotations

import math
import re

from headroom_cli.engines.html.render import Block

MIN_BUDGET = 3_500  # characters of text always allowed
LONG_TEXT = 20_000  # a page whose text is shorter is kept whole: an article hardly ever is longer ...
REFERENCE_TERMS = 3  # ... unless it defines this many terms (signatures, options): a reference, looked up, not read
RATIO = 0.16  # the share of the page's characters a condensed page keeps
LEAD = 320  # characters of each section's first blocks always kept
CODE_LEAD = 600  # each section's first code sample is kept too, when no longer than this
QUERY_SHARE = 0.75  # the most of the budget left after the leads that the question's words may take ...
QUERY_FLOOR = 0.15  # ... and at least this share of the whole budget, beyond it if the leads took it all
RARE_SHARE = 1 / 6  # a question word in more of the blocks than this says nothing about where to look
SMALL_GAP = 160  # a section whose omitted blocks add up to fewer characters keeps them: a marker costs as much
_SENTENCE_END = re.compile(r"[.!?:;][)\"']?( )(?=\S)")


def budget_for(blocks: list[Block], page_chars: int, all_content: bool) -> int | None:
    """How many characters of text a page keeps; None: all of them."""
    text_chars = sum(len(block.text) for block in blocks)
    budget = max(MIN_BUDGET, int(RATIO * page_chars))
    if not all_content or text_chars <= budget:
        return None
    reference = sum(1 for block in blocks if block.kind == "term") >= REFERENCE_TERMS
    return budget if reference or text_chars > LONG_TEXT else None


def sections(blocks: list[Block]) -> None:
    """Number each block's chapter (under the highest heading level used twice) and unit (under any heading)."""
    levels = [b.level for b in blocks if b.kind == "heading"]
    chapter_level = next((lv for lv in range(1, 7) if levels.count(lv) >= 2), 2)
    chapter = unit = 0
    for block in blocks:
        if block.kind == "heading":
            unit += 1
            if block.level <= chapter_level:
                chapter += 1
        block.chapter, block.unit = chapter, unit


def condense(blocks: list[Block], budget: int, terms: tuple[str, ...]) -> None:
    """Mark what to keep (block.keep, block.cut) so that about ``budget`` characters stay."""
    used = _leads(blocks)
    if terms:
        room = max(QUERY_SHARE * max(budget - used, 0), QUERY_FLOOR * budget)
        used = _query_fill(blocks, terms, used, used + int(room))
    left: dict[int, int] = {}
    for block in blocks:
        if not block.keep or block.cut is not None:
            left[block.chapter] = left.get(block.chapter, 0) + _cost(block)
    total_left = sum(left.values())
    if total_left and used < budget:  # each chapter keeps the same share of what it has left, in order
        share = (budget - used) / total_left
        allowance = {chapter: int(size * share) for chapter, size in left.items()}
        for block in blocks:
            cost = _cost(block)
            if cost and cost <= allowance[block.chapter] and used + cost <= budget:
                allowance[block.chapter] -= cost
                used = _take(block, used, budget)
    omitted: dict[int, int] = {}
    for block in blocks:
        omitted[block.chapter] = omitted.get(block.chapter, 0) + _cost(block)
    for block in blocks:  # a small gap costs less than its marker would
        if omitted[block.chapter] < SMALL_GAP:
            block.keep, block.cut = True, None


def _leads(blocks: list[Block]) -> int:
    """Keep every heading, definition term (a signature, an option: the outline of an API page), table
    row (a report's rows are its data: the worst one and the total are what is asked about) and each
    section's first blocks up to LEAD characters and its first code sample; what that costs."""
    used = 0
    lead: dict[int, int] = {}
    code: set[int] = set()  # the units whose first code sample was seen
    for block in blocks:
        block.keep, block.cut = False, None
        first_code = block.kind == "code" and block.unit not in code
        if block.kind == "code":
            code.add(block.unit)
        if block.kind in ("heading", "term", "row") or (first_code and len(block.text) <= CODE_LEAD):
            block.keep = True
            used += len(block.text)
            continue
        have = lead.get(block.unit, 0)
        if have >= LEAD:
            continue
        block.keep = True
        if block.kind not in ("row", "code"):
            block.cut = cut_point(block.text, max(LEAD - have, LEAD // 2))
        kept = block.cut if block.cut is not None else len(block.text)
        lead[block.unit] = have + kept
        used += kept
    return used


def cut_point(text: str, limit: int) -> int | None:
    """Where to cut a long block so that about ``limit`` characters stay: a line break, else a
    sentence end, else a word boundary. None when the block is short enough to keep whole."""
    if len(text) <= limit + limit // 2:
        return None
    if "\n" in text:
        cut = text.rfind("\n", 0, limit + 1)
        return cut if cut > 0 else text.find("\n")
    best = None
    for match in _SENTENCE_END.finditer(text, min(40, limit // 2), limit + limit // 2):
        best = match.end(1)
        if best >= limit:
            break
    if best is None:
        best = text.rfind(" ", 0, limit)
    return best if best and best > 0 else None


def _query_fill(blocks: list[Block], terms: tuple[str, ...], used: int, budget: int) -> int:
    """Keep what the question asks about while the budget lasts: first the sections whose heading
    has its rarer words (most relevant first), then other blocks that have them."""
    lowered = [block.text.lower() for block in blocks]
    n = len(blocks)
    weights = {}
    for term in terms:
        df = sum(1 for low in lowered if term in low)
        if 0 < df <= n * RARE_SHARE:
            weights[term] = math.log(n / df)
    if not weights:
        return used
    heading_score: dict[int, float] = {}
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            heading_score[block.unit] = sum(w for t, w in weights.items() if t in lowered[i])
    sections_first, others = [], []
    for i, block in enumerate(blocks):
        if block.keep and block.cut is None:
            continue
        score = heading_score.get(block.unit, 0.0)
        if score:
            sections_first.append((-score, i))
        else:
            own = sum(w for t, w in weights.items() if t in lowered[i])
            if own:
                others.append((-own, i))
    for _, i in sorted(sections_first) + sorted(others):
        used = _take(blocks[i], used, budget)
    return used


def _cost(block: Block) -> int:
    """Characters that keeping the whole block adds."""
    if block.keep:
        return 0 if block.cut is None else len(block.text) - block.cut
    return len(block.text)


def _take(block: Block, used: int, budget: int) -> int:
    """Keep the whole block if the budget allows; the new amount used."""
    cost = _cost(block)
    if used + cost <= budget:
        block.keep, block.cut = True, None
        return used + cost
    return used
