"""What each provider bills for an image, in its own tokens, after its own resize rules.

Anthropic: the image is fitted in 1568 px on the long edge and about 1.15-1.23 megapixels (its table of
largest unresized sizes, 1092x1092 to 784x1568, about 1,600 tokens each: 1.19 to 1.23 MP), then costs about
width x height / 750 tokens. OpenAI (GPT-4o family, ``detail: high`` or ``auto``): fitted in 2048 x 2048,
then the shortest side is brought down to 768 px, then 85 tokens plus 170 per 512-px tile; ``detail:
low`` is 85 tokens whatever the size. Neither provider ever scales an image up. The constants are the
providers' published ones, checked against their worked examples (tests/test_image_tokens.py: OpenAI's
1024x1024 high = 765 and 2048x4096 high = 1105; Anthropic's 200x200 ~54, 1000x1000 ~1,334, 1092x1092
~1,590). OpenAI's patch-billed models (GPT-4.1 mini and nano, o4-mini: 32-px patches) are not modelled.
"""

from __future__ import annotations

import math

ANTHROPIC = "anthropic"
OPENAI = "openai"
PROVIDERS = (ANTHROPIC, OPENAI)

ANTHROPIC_LONG_EDGE = 1568
ANTHROPIC_MAX_PIXELS = 1_230_000  # every size in Anthropic's table of unresized sizes fits (784x1568 is the largest)
ANTHROPIC_PIXELS_PER_TOKEN = 750

OPENAI_BOX = 2048
OPENAI_SHORT_SIDE = 768
OPENAI_TILE = 512
OPENAI_BASE = 85
OPENAI_PER_TILE = 170


def anthropic_size(width: int, height: int) -> tuple[int, int]:
    """The size Anthropic scales an image to before it counts tokens."""
    scale = min(1.0, ANTHROPIC_LONG_EDGE / max(width, height),
                math.sqrt(ANTHROPIC_MAX_PIXELS / (width * height)))
    return _scaled(width, height, scale)


def anthropic_tokens(width: int, height: int) -> int:
    w, h = anthropic_size(width, height)
    return math.ceil(w * h / ANTHROPIC_PIXELS_PER_TOKEN)


def openai_size(width: int, height: int) -> tuple[int, int]:
    """The size OpenAI scales an image to (high detail) before it counts tiles."""
    w, h = _scaled(width, height, min(1.0, OPENAI_BOX / max(width, height)))
    return _scaled(w, h, min(1.0, OPENAI_SHORT_SIDE / min(w, h)))


def openai_tokens(width: int, height: int, detail: str | None = None) -> int:
    if detail == "low":
        return OPENAI_BASE
    w, h = openai_size(width, height)
    return OPENAI_BASE + OPENAI_PER_TILE * math.ceil(w / OPENAI_TILE) * math.ceil(h / OPENAI_TILE)


def billed(provider: str, width: int, height: int, detail: str | None = None) -> int:
    """The tokens ``provider`` bills for an image of this size."""
    if provider == ANTHROPIC:
        return anthropic_tokens(width, height)
    if provider == OPENAI:
        return openai_tokens(width, height, detail)
    raise ValueError(f"no image arithmetic for provider {provider!r}")


def _scaled(width: int, height: int, scale: float) -> tuple[int, int]:
    if scale >= 1.0:
        return width, height
    # the tiny epsilon keeps an edge scaled exactly to a limit at the limit (3000 * 1568/3000 is 1567.999…)
    return max(1, int(width * scale + 1e-9)), max(1, int(height * scale + 1e-9))
