"""What to do with one image: by its content (a screen of text or a photo) and by what the provider bills.

A screen (a UI, a terminal, a chart) is mostly a few flat colours; a photo is thousands of shades. The
share of pixels held by the 8 commonest colours of a small nearest-neighbour sample tells them apart
cheaply (scripts/bench_images.py measures it on both kinds). Screens keep enough resolution for their
text (scaled down to where the provider bills at least 40% less, never below half the size the provider
itself would use) and stay lossless; photos go lower and become JPEG. Everything is re-encoded with
fixed settings and no metadata, so the same bytes in give the same bytes out; a result that bills no
fewer tokens or takes more bytes is not used.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from headroom_cli.images import layout, reflow, tokens

MIN_PIXELS = 300_000  # smaller images stay as they are: little to save, and small text is fragile
SCREEN_SHARE = 0.5  # 8 commonest colours hold at least this share of the sample: a screen
SAMPLE = 96  # the colour sample's side, in pixels
# Screens: bill <= 60% of the original, never below 59% of its linear size, nor below the scale that
# leaves a line of text LEGIBLE_PX of ink (layout.text_height): OCR (tesseract) of the bench's page
# screenshots (ink 15-16 px) read 98-99% of what it read on the originals at 0.6, at 0.47 only 88-95%;
# of a terminal in 15-px DejaVu Sans Mono (ink 14 px) 99% at 0.7, 97.9% at 0.65 (scripts/bench_images.py;
# read as one block: tesseract's own page analysis split the downscaled terminal into columns).
# Photos: bill <= 35%, down to a tenth of the size.
SCREEN_BUDGET, SCREEN_FLOOR = 0.6, 0.59
LEGIBLE_PX = 9.8
PHOTO_BUDGET, PHOTO_FLOOR = 0.35, 0.1
JPEG_QUALITY = 80
MAX_PIXELS = 50_000_000  # past this an image is not decoded (a decompression bomb, or not worth the time)
MEDIA = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class Decision:
    data: bytes  # the image to send (the original bytes when unchanged)
    media_type: str
    kind: str  # "screen" | "photo" | "small" | "unreadable" | "animated"
    size_before: tuple[int, int]
    size_after: tuple[int, int]
    tokens_before: int
    tokens_after: int
    changed: bool
    detail: str | None = None  # OpenAI detail to send, when it should change
    layout: str = "whole"  # "trimmed" | "stacked": empty space taken out first (layout.py); "reflowed" (reflow.py)
    scale: float = 1.0  # the sent image's size over the laid-out image's (what a glyph keeps of its pixels)


def media_type_of(data: bytes) -> str | None:
    """The media type by the file's magic bytes (what the bytes are, whatever the request says)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header alone (no pixels decoded); None for what pillow cannot read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data)).size
    except Exception:
        return None


def is_screen(image: Image.Image) -> bool:
    return colour_share(image) >= SCREEN_SHARE


def colour_share(image: Image.Image) -> float:
    """Share of a small sample's pixels held by its 8 commonest colours (screens high, photos low)."""
    sample = image.convert("RGB").resize((SAMPLE, SAMPLE), Image.Resampling.NEAREST)
    counts = sorted((n for n, _ in sample.getcolors(SAMPLE * SAMPLE)), reverse=True)
    return sum(counts[:8]) / (SAMPLE * SAMPLE)


def target_size(provider: str, width: int, height: int, screen: bool, detail: str | None) -> tuple[int, int]:
    """The largest size (never larger than the provider would use) that bills within the kind's budget;
    failing that, the one that bills least, no smaller than the kind's floor (a share of the original's
    size: screens keep their text legible, see SCREEN_FLOOR)."""
    if provider == tokens.OPENAI and (detail == "low" or not screen):
        return _fit(width, height, 512, 512)  # all a low-detail image is ever seen at
    budget, floor = (SCREEN_BUDGET, SCREEN_FLOOR) if screen else (PHOTO_BUDGET, PHOTO_FLOOR)
    before = tokens.billed(provider, width, height, detail)
    best = _best([_option(provider, width, height, scale, detail, 0) for scale in _scales(provider, width, height, floor)],
                 budget * before)
    return best[3]


def _scales(provider: str, width: int, height: int, floor: float) -> list[float]:
    """Scales to try, from the provider's own down to ``floor``: a grid of hundredths, and for OpenAI each
    scale at which a side ends exactly on a 512-px tile edge (where a tile drops)."""
    seen = provider_seen(provider, width, height)[0] / width
    found = {step / 100 for step in range(1, 101)}
    if provider == tokens.OPENAI:
        found |= {k * tokens.OPENAI_TILE / side for side in (width, height) for k in range(1, 9)}
    return sorted((s for s in found if floor <= s <= seen), reverse=True)


def provider_seen(provider: str, width: int, height: int) -> tuple[int, int]:
    return tokens.anthropic_size(width, height) if provider == tokens.ANTHROPIC else tokens.openai_size(width, height)


def _option(provider: str, width: int, height: int, scale: float, detail: str | None, rank: int):
    """(tokens billed, the scale the provider's model reads the pixels at, rank, size) for one scale."""
    size = (max(1, int(width * scale + 1e-9)), max(1, int(height * scale + 1e-9)))
    seen = provider_seen(provider, *size)
    return tokens.billed(provider, *size, detail), scale * seen[0] / size[0], rank, size


def _best(options: list, budget: float):
    """Within budget: the one read at the largest scale (then the cheapest, then the plainest layout);
    none within budget: the cheapest (then the largest scale, then the plainest)."""
    within = [o for o in options if o[0] <= budget]
    if within:
        return min(within, key=lambda o: (-round(o[1], 6), o[0], o[2]))
    return min(options, key=lambda o: (o[0], -round(o[1], 6), o[2]))


def legible_floor(text_height: int | None) -> float:
    """The smallest scale at which the screen's text keeps LEGIBLE_PX of ink a line (SCREEN_FLOOR at least)."""
    return SCREEN_FLOOR if text_height is None else min(1.0, max(SCREEN_FLOOR, LEGIBLE_PX / text_height))


def screen_plan(provider: str, image: Image.Image, detail: str | None):
    """(layout, size) for a screen: of its layouts (layout.py) and scales, the one that bills within
    budget at the largest legible scale, or failing that the cheapest at a legible scale (legibility
    is about the pixels a glyph keeps: the scale is the layout's, whatever it cuts). Only when no layout
    that keeps the screen's geometry bills within budget are its lines re-packed (reflow.py): moving
    text about costs the reader where things were, so it is the last resort."""
    budget = SCREEN_BUDGET * tokens.billed(provider, *image.size, detail)
    candidates, height, ink = layout.analyse(image)
    floor = legible_floor(height)
    options = _legible_options(provider, candidates, floor, detail)
    if (not options or _best(options, budget)[0] > budget) and ink is not None and height is not None \
            and provider == tokens.OPENAI:
        more = reflowed(ink, height, floor)
        options += _legible_options(provider, more, floor, detail, len(candidates))
        candidates = candidates + more
    if not options:
        return candidates[0], provider_seen(provider, *image.size)
    best = _best(options, budget)
    return candidates[best[2]], best[3]


def _legible_options(provider: str, candidates: list, floor: float, detail: str | None, first: int = 0) -> list:
    options = []
    for rank, candidate in enumerate(candidates, start=first):
        w, h = candidate.image.size
        for scale in _scales(provider, w, h, 0.0):
            option = _option(provider, w, h, scale, detail, rank)
            if option[1] >= floor:
                options.append(option)
    return options


def reflowed(ink: layout.Ink, text_h: int, floor: float) -> list[layout.Layout]:
    """The screen's lines re-packed into OpenAI's tile grids (reflow.py), the best few."""
    lines = reflow.lines_of(ink.mask, reflow.blocks(ink.mask), text_h)
    return [layout.Layout("reflowed", reflow.compose(ink.image, ink.background, packing))
            for packing in reflow.packings(lines, text_h, floor)]


def _fit(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    scale = min(1.0, box_w / width, box_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decide(data: bytes, provider: str, detail: str | None = None) -> Decision:
    """The image to send instead of ``data`` for ``provider``; ``changed`` False means send the original."""
    media = media_type_of(data) or "application/octet-stream"
    try:
        image = _open(data)
    except Exception:  # not an image pillow reads, or one too large to decode: sent as it is
        return Decision(data, media, "unreadable", (0, 0), (0, 0), 0, 0, False)
    size = image.size
    before = tokens.billed(provider, *size, detail)
    keep = Decision(data, media, "small", size, size, before, before, False)
    if getattr(image, "n_frames", 1) > 1:
        return Decision(data, media, "animated", size, size, before, before, False)
    if size[0] * size[1] < MIN_PIXELS:
        return keep
    if image.getexif().get(0x0112, 1) != 1:  # the pixels as they are seen, before the EXIF tag is dropped
        image = ImageOps.exif_transpose(image)
    screen = is_screen(image)
    kind, laid = ("screen" if screen else "photo"), "whole"
    if screen and not _has_alpha(image) and not (provider == tokens.OPENAI and detail == "low"):
        plan, new_size = screen_plan(provider, image, detail)
        image, laid = plan.image, plan.name
    else:
        new_size = target_size(provider, *image.size, screen, detail)
    scale = new_size[0] / image.size[0]
    new_detail = "low" if provider == tokens.OPENAI and not screen and detail != "low" else None
    out, new_media = _encode(_resized(image, new_size), screen, len(data))
    after = tokens.billed(provider, *new_size, new_detail or detail)
    if after > before or len(out) >= len(data):
        return Decision(data, media, kind, size, size, before, before, False)
    return Decision(out, new_media, kind, size, new_size, before, after, True, new_detail, laid, scale)


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise ValueError("image too large to decode")
        image.load()
    return image


def _has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is see-through (matplotlib saves opaque charts as RGBA: those are not)."""
    if image.mode in ("RGBA", "LA"):
        return image.getchannel("A").getextrema()[0] < 255
    return image.mode == "PA" or "transparency" in image.info


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    mode = "RGBA" if _has_alpha(image) else "RGB"
    image = image.convert(mode)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def _encode(image: Image.Image, screen: bool, limit: int) -> tuple[bytes, str]:
    """Fixed encoder settings, no metadata: the same pixels always give the same bytes. A screen is
    lossless unless that takes ``limit`` bytes or more (resampled anti-aliased text has many shades), then
    WebP at quality 90."""
    buffer = io.BytesIO()
    if screen or image.mode == "RGBA":
        # method 1 / quality 20: within 3% of the smallest lossless WebP on screens, at a twentieth of its time
        image.save(buffer, "WEBP", lossless=True, quality=20, method=1, exact=False)
        if buffer.tell() >= limit:
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=90, method=0)  # method 0: a third faster than 1, bytes within 3%
        return buffer.getvalue(), "image/webp"
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False, subsampling="4:2:0")
    return buffer.getvalue(), "image/jpeg"
