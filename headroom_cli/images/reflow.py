"""A screen's text lines re-packed to fill whole provider tiles at a legible scale.

Trimming (layout.py) keeps a screen's geometry: a full-HD page of text still spans more 512-px tiles
than its text needs, because its lines are short or far apart. Here the screen is cut into its lines
of ink (a run of rows holding ink, read in each of layout's columns: a sidebar, the page), the blank
bands between lines are narrowed to LINE_GAP (PARA_GAP between paragraphs), a line wider than the
column it must fit is wrapped at a gap between words (never through ink: a line with no gap to wrap
at makes the packing fail; a figure taller than two lines of text is cut only at an empty band of
layout.BAND), and the pieces are laid in reading order down one column (see below), sized so
that the result fills one of OpenAI's grids of at most 3 tiles at the largest legible scale.

Every piece is a crop of the original, pixel for pixel: nothing is redrawn or resampled here, so
legibility is the scale's alone (decide.legible_floor). Positions do change: the marker says so, and
the original is retrievable. Reading order is kept (blocks left to right, lines top to bottom, a
wrapped line's rest right after it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image

from headroom_cli.images import layout, tokens

LINE_GAP = 4  # a blank band between two lines of a paragraph is narrowed to at most this ...
PARA_GAP = 10  # ... one taller than a line of text (a paragraph break) to this
BLOCK_GAP = 16  # between two blocks (the sidebar's last line and the page's first)
MARGIN = 8  # background round the packed column
# OpenAI tile grids (across, down) that bill at most 3 tiles: what 40% fewer than a full-HD screen's 6 is
GRIDS = ((3, 1), (1, 3), (2, 1), (1, 2), (1, 1))
# One column: the lines read top to bottom. Packed in 2-4 newspaper columns (fewer wraps, larger scales)
# tesseract read the bench's terminals and the Vec page at 47-82% of the original's text in order
# (across the columns, or splitting each), against 99% in one; a gap of 120 px or a rule between the
# columns did not help.
KEEP = 1  # packings composed and handed to decide (the best: its order, not decide's largest scale, ranks them)


@dataclass(frozen=True)
class Line:
    x0: int
    y0: int
    x1: int
    y1: int
    gap: int  # background rows above it once packed
    cuts: tuple[tuple[int, int], ...]  # empty runs inside it, wide enough to wrap at (absolute x)
    tall: bool  # taller than two lines of text: a figure, wrapped only at a wide empty band


@dataclass(frozen=True)
class Packing:
    scale: float  # the scale at which it fills its grid
    grid: tuple[int, int]
    pieces: tuple[tuple[int, int, int, int, int], ...]  # (x0, y0, x1, y1, gap) crops, top to bottom
    wraps: int  # lines wrapped to fit


SPARSE = 8  # a column with ink in at most 3% of its rows (8/255) can part two blocks


def blocks(mask: Image.Image) -> list[tuple[int, int]]:
    """The screen's blocks side by side (a sidebar, the page), as [start, end) x spans covering all its ink.
    Blocks are parted at a band of at least layout.BAND columns with ink in at most 3% of their rows (a
    sidebar's resize handle does not join it to the page), cut in the middle of the band's widest empty stretch, so that
    every pixel of ink lands in one block or the other."""
    counts = mask.resize((mask.width, 1), Image.Resampling.BOX).tobytes()  # each column's ink share, 0-255
    sparse = bytes(0 if v <= SPARSE else 1 for v in counts)
    cuts = [0]
    for run in re.finditer(rb"\x00{%d,}" % layout.BAND, sparse):
        empty = [m.span() for m in re.finditer(rb"\x00+", counts[run.start():run.end()])]
        if empty:
            a, b = max(empty, key=lambda e: (e[1] - e[0], -e[0]))  # the band's widest empty stretch
            cut = run.start() + (a + b) // 2
            if counts[:cut].strip(b"\x00") and counts[cut:].strip(b"\x00"):  # ink on both sides
                cuts.append(cut)
    cuts.append(mask.width)
    found = []
    for a, b in zip(cuts, cuts[1:]):
        inked = [x for x in range(a, b) if counts[x]] if counts[a:b].strip(b"\x00") else []
        if inked:
            found.append((max(a, inked[0] - layout.PAD), min(b, inked[-1] + 1 + layout.PAD)))
    return found


def lines_of(mask: Image.Image, spans: list[tuple[int, int]], text_h: int) -> list[Line]:
    """The lines of ink of each block (an x span: see blocks), in reading order."""
    found: list[Line] = []
    for a, b in spans:
        block = mask.crop((a, 0, b, mask.height))
        last_end = None
        for run in re.finditer(rb"[^\x00]+", bytes(block.getprojection()[1])):
            y0, y1 = run.span()
            xs = bytes(block.crop((0, y0, b - a, y1)).getprojection()[0])
            gap = BLOCK_GAP if last_end is None else _squeezed(y0 - last_end, text_h)
            right = len(xs.rstrip(b"\x00"))
            tall = y1 - y0 > 2 * text_h
            found.append(Line(a, y0, min(b, a + right + layout.PAD), y1, gap if found else 0,
                              _cuts(xs, a, layout.BAND if tall else max(3, round(text_h * 0.3))), tall))
            last_end = y1
    return found


def _cuts(xs: bytes, offset: int, min_gap: int) -> tuple[tuple[int, int], ...]:
    """The empty runs of at least ``min_gap`` between a line's first and last ink: for a line of text,
    wider than the gap between two letters; for a figure (a tall line), as wide as layout's empty bands."""
    left, right = len(xs) - len(xs.lstrip(b"\x00")), len(xs.rstrip(b"\x00"))
    runs = re.finditer(rb"\x00{%d,}" % min_gap, xs[left:right])
    return tuple((offset + left + m.start(), offset + left + m.end()) for m in runs)


def _squeezed(gap: int, text_h: int) -> int:
    return min(gap, LINE_GAP) if gap <= text_h else min(gap, PARA_GAP)


def wrapped(lines: list[Line], width: int) -> list[tuple[int, int, int, int, int]] | None:
    """The lines as crops (x0, y0, x1, y1, gap) no wider than ``width``; None where one cannot be."""
    pieces = []
    for line in lines:
        start, gap = line.x0, line.gap
        while line.x1 - start > width:
            cut = _cut(line.cuts, start, start + width)
            if cut is None:
                return None
            pieces.append((start, line.y0, cut[0], line.y1, gap))
            start, gap = cut[1], LINE_GAP
        pieces.append((start, line.y0, line.x1, line.y1, gap))
    return pieces


def _cut(cuts: tuple[tuple[int, int], ...], start: int, end: int) -> tuple[int, int] | None:
    """Where to wrap a piece starting at ``start`` to end by ``end``: the widest gap in its second half
    (a space between words rather than between letters), else the last gap that fits."""
    fitting = [c for c in cuts if start < c[0] <= end]
    if not fitting:
        return None
    late = [c for c in fitting if c[0] >= (start + end) // 2]
    if late:
        return max(late, key=lambda c: (c[1] - c[0], c[0]))
    return fitting[-1]


def _height(pieces) -> int:
    """Rows the pieces take stacked in one column, their gaps between them."""
    return sum(p[3] - p[1] for p in pieces) + sum(p[4] for p in pieces[1:])


def fit(lines: list[Line], grid: tuple[int, int], scale: float, text_h: int) -> Packing | None:
    """The packing of ``lines`` in one column that, scaled by ``scale``, fills ``grid`` tiles."""
    box_w = int(tokens.OPENAI_TILE * grid[0] / scale) - 2 * MARGIN
    box_h = int(tokens.OPENAI_TILE * grid[1] / scale) - 2 * MARGIN
    if box_w < 4 * text_h:
        return None
    pieces = wrapped(lines, box_w)
    if pieces is None or _height(pieces) > box_h:
        return None
    return Packing(scale, grid, tuple(pieces), len(pieces) - len(lines))


def packings(lines: list[Line], text_h: int, floor: float) -> list[Packing]:
    """For each tile grid, the packing at the largest scale (in hundredths, from 1 down to ``floor``)
    at which the lines fit; the KEEP read at the largest scales (legibility first: OCR of text near
    the floor loses characters a few hundredths of scale more would keep), then with the fewest
    wrapped lines and tiles."""
    scales = [s / 100 for s in range(100, int(floor * 100) - 1, -1) if s / 100 >= floor] or [1.0]
    found = [best for grid in GRIDS if (best := _largest(lines, grid, text_h, scales)) is not None]
    found.sort(key=lambda p: (-p.scale, p.wraps, p.grid[0] * p.grid[1], p.grid))
    return found[:KEEP]


def _largest(lines, grid, text_h, scales) -> Packing | None:
    """Binary search down the scales for the largest at which the lines fit (a smaller scale gives a
    larger box: fitting is monotone, but for where wrapping falls: close enough to search)."""
    lo, hi, best = 0, len(scales) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        found = fit(lines, grid, scales[mid], text_h)
        if found is not None:
            best, hi = found, mid - 1
        else:
            lo = mid + 1
    return best


def compose(image: Image.Image, background, packing: Packing) -> Image.Image:
    """The packing's crops pasted down one column, MARGIN of background round them."""
    pieces = packing.pieces
    width = max(p[2] - p[0] for p in pieces)
    out = Image.new("RGB", (width + 2 * MARGIN, _height(pieces) + 2 * MARGIN), background)
    y = MARGIN
    for k, (x0, y0, x1, y1, gap) in enumerate(pieces):
        y += gap if k else 0
        out.paste(image.crop((x0, y0, x1, y1)), (MARGIN, y))
        y += y1 - y0
    return out

