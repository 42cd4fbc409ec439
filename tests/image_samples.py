"""Images made here for the image tests: a terminal screenshot drawn with pillow's own font, and a
photo-like gradient with noise (seeded, so the same bytes every run)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

LINES = [f"{i:4d}  2026-12-06 15:{i % 60:02d}:07 INFO  worker-{i % 7} handled request /api/v1/items/{i * 37} in {i % 97} ms"
         for i in range(60)]


def terminal_png(width: int = 1920, height: int = 1080, size: int = 16, text_width: int | None = None) -> bytes:
    """The log lines in light grey on dark; with ``text_width``, each line repeated to fill that many pixels."""
    image = Image.new("RGB", (width, height), (30, 30, 30))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=size)
    for row, line in enumerate(LINES):
        if text_width:
            line = (line + " | ") * 4
            while draw.textlength(line, font=font) > text_width:
                line = line[:-1]
        draw.text((6, 4 + row * (size + 4)), line, font=font, fill=(220, 220, 220))
    return _png(image)


def photo_jpeg(width: int = 1600, height: int = 1200, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    image = Image.blend(image, noise, 0.35)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "HeadroomCam"  # Make: metadata that must not survive
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def small_png() -> bytes:
    return terminal_png(400, 300)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
