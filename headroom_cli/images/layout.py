"""Empty space out of a screen, so its text keeps more pixels for the tokens it bills.

A screenshot is mostly background: margins round a centred column, the gutter between a sidebar and
the page, the unused half of a terminal. The background is the commonest colour of the image's
border; a band of rows or columns with no pixel off it by more than ``INK`` is empty. Three layouts:

- ``whole``: the image as it is;
- ``trimmed``: margins cut to ``PAD`` pixels, and every inner empty band of ``BAND`` pixels or more
  narrowed to ``GAP`` (what is kept is pixel for pixel the original: nothing is redrawn);
- ``stacked``: the trimmed image cut at its empty vertical bands into columns (a sidebar, the page),
  each trimmed on its own, laid one under the other, left to right becoming top to bottom. A wide
  short screen becomes a narrow tall one: OpenAI bills 512-px tiles, and a page's two columns fit
  in one column of tiles at a scale where both sides of it would have needed two.

Which one is sent is decide.py's choice (the one that bills least at a legible scale); the marker says
which, and the original is retrievable.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops

INK = 40  # a channel this far from the background is ink (anti-aliased edges of text included)
BAND = 40  # an empty band at least this wide/tall is cut down ...
GAP = 16  # ... to this
PAD = 8  # background kept round the content


@dataclass(frozen=True)
class Layout:
    name: str  # "whole" | "trimmed" | "stacked" | "reflowed" (reflow.py)
    image: Image.Image


@dataclass(frozen=True)
class Ink:
    """Where a screen's ink is, for reflow.py: the RGB image, its background, the ink mask, its columns."""
    image: Image.Image
    background: tuple[int, int, int]
    mask: Image.Image
    columns: list[tuple[int, int]]


def analyse(image: Image.Image) -> tuple[list[Layout], int | None, Ink | None]:
    """The image's layouts (as it is, then, when they differ from it, trimmed and stacked), the
    height of its text (text_height) and where its ink is (None for a blank image), from one reading."""
    image = image.convert("RGB")
    found = [Layout("whole", image)]
    background = _background(image)
    mask = _ink(image, background)
    xs, ys = mask.getprojection()
    cols = _spans(xs)
    if not cols or not _spans(ys):
        return found, None, None  # a blank image: nothing to lay out
    trimmed = _trim(image, mask, background)
    if trimmed.size != image.size:
        found.append(Layout("trimmed", trimmed))
    if len(cols) > 1:
        blocks = [_trim(image.crop((a, 0, b, image.height)), mask.crop((a, 0, b, image.height)), background)
                  for a, b in cols]
        found.append(Layout("stacked", _stack(blocks, background)))
    return found, text_height(mask), Ink(image, background, mask, cols)


def layouts(image: Image.Image) -> list[Layout]:
    return analyse(image)[0]


def text_height(mask: Image.Image, strips: int = 8) -> int | None:
    """The median height of a line of text's ink, in pixels: runs of rows holding ink between empty
    rows, 5 to 48 tall, read in ``strips`` vertical strips (so a sidebar's lines and the page's are
    each seen whole). None where fewer than 8 such runs are found (no lines of text to speak of)."""
    w, h = mask.size
    found = []
    for k in range(strips):
        _, ys = mask.crop((k * w // strips, 0, (k + 1) * w // strips, h)).getprojection()
        run = 0
        for on in [*ys, 0]:
            if on:
                run += 1
                continue
            if 5 <= run <= 48:
                found.append(run)
            run = 0
    return sorted(found)[len(found) // 2] if len(found) >= 8 else None


def _background(image: Image.Image) -> tuple[int, int, int]:
    """The commonest colour of the image's one-pixel border."""
    w, h = image.size
    border = [image.crop(box) for box in ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h))]
    counts: dict[tuple[int, int, int], int] = {}
    for strip in border:
        for n, colour in strip.getcolors(strip.width * strip.height) or []:
            counts[colour] = counts.get(colour, 0) + n
    return max(sorted(counts), key=counts.__getitem__)  # sorted first: ties broken the same way every run


def _ink(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """255 where a pixel is off the background by more than INK in any channel, else 0."""
    table = [255 if abs(v - level) > INK else 0 for level in background for v in range(256)]
    r, g, b = image.point(table).split()  # one lookup per channel: no background image to fill and subtract
    return ImageChops.lighter(ImageChops.lighter(r, g), b)


def _spans(projection: list[int]) -> list[tuple[int, int]]:
    """The stretches holding ink, as [start, end) pairs padded by PAD, split where BAND or more is empty."""
    spans: list[tuple[int, int]] = []
    start = last = None
    for i, on in enumerate(projection):
        if not on:
            continue
        if start is None:
            start = i
        elif i - last - 1 >= BAND:
            spans.append((start, last + 1))
            start = i
        last = i
    if start is not None:
        spans.append((start, last + 1))
    n = len(projection)
    return [(max(0, a - PAD), min(n, b + PAD)) for a, b in spans]


def _trim(image: Image.Image, mask: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """The image with its margins cut and its inner empty bands narrowed (columns, then rows)."""
    xs, _ = mask.getprojection()
    cols = _spans(xs)
    image, mask = _join(image, cols, True, background), _join(mask, cols, True, 0)
    _, ys = mask.getprojection()
    return _join(image, _spans(ys), False, background)


def _join(image: Image.Image, spans: list[tuple[int, int]], across: bool, fill) -> Image.Image:
    """The spans of the image (columns when ``across``, else rows) put side by side, GAP apart."""
    if not spans:
        return image
    pieces = [image.crop((a, 0, b, image.height) if across else (0, a, image.width, b)) for a, b in spans]
    length = sum(b - a for a, b in spans) + GAP * (len(spans) - 1)
    size = (length, image.height) if across else (image.width, length)
    out, at = Image.new(image.mode, size, fill), 0
    for piece in pieces:
        out.paste(piece, (at, 0) if across else (0, at))
        at += (piece.width if across else piece.height) + GAP
    return out


def _stack(blocks: list[Image.Image], background: tuple[int, int, int]) -> Image.Image:
    """The blocks one under the other, left-aligned, GAP apart."""
    width = max(block.width for block in blocks)
    out = Image.new("RGB", (width, sum(b.height for b in blocks) + GAP * (len(blocks) - 1)), background)
    at = 0
    for block in blocks:
        out.paste(block, (0, at))
        at += block.height + GAP
    return out
