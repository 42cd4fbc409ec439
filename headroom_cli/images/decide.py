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

from headroom_cli.images import tokens

MIN_PIXELS = 300_000  # smaller images stay as they are: little to save, and small text is fragile
SCREEN_SHARE = 0.5  # 8 commonest colours hold at least this share of the sample: a screen
SAMPLE = 96  # the colour sample's side, in pixels
# Screens: bill <= 60% of the original, never below 59% of its linear size: at that scale OCR of the
# compressed page screenshots recovered 98-99% of what it read on the originals, at 47% only 88-95%
# (scripts/bench_images.py). Photos: bill <= 35%, down to a tenth of the size.
SCREEN_BUDGET, SCREEN_FLOOR = 0.6, 0.59
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
    seen = tokens.anthropic_size(width, height) if provider == tokens.ANTHROPIC else tokens.openai_size(width, height)
    cheapest, least = seen, tokens.billed(provider, *seen, detail)
    for step in range(100, 0, -1):
        scale = step / 100 * seen[0] / width
        if scale < floor:
            break
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        billed = tokens.billed(provider, *size, detail)
        if billed <= budget * before:
            return size
        if billed < least:
            cheapest, least = size, billed
    return cheapest


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
    kind = "screen" if screen else "photo"
    new_size = target_size(provider, *image.size, screen, detail)
    new_detail = "low" if provider == tokens.OPENAI and not screen and detail != "low" else None
    out, new_media = _encode(_resized(image, new_size), screen, len(data))
    after = tokens.billed(provider, *new_size, new_detail or detail)
    if after > before or len(out) >= len(data):
        return Decision(data, media, kind, size, size, before, before, False)
    return Decision(out, new_media, kind, size, new_size, before, after, True, new_detail)


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise ValueError("image too large to decode")
        image.load()
    return image


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
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
            image.save(buffer, "WEBP", quality=90, method=1)
        return buffer.getvalue(), "image/webp"
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False, subsampling="4:2:0")
    return buffer.getvalue(), "image/jpeg"
