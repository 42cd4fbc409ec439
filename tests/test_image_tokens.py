"""The providers' published image-token examples, worked by headroom_cli/images/tokens.py."""

import pytest

from headroom_cli.images import tokens


@pytest.mark.parametrize("size,expected", [
    ((200, 200), 54),      # Anthropic vision docs: 200x200 (0.04 MP) ~= 54 tokens
    ((1000, 1000), 1334),  # 1000x1000 (1 MP) ~= 1,334 tokens
    ((1092, 1092), 1590),  # 1092x1092 (1.19 MP) ~= 1,590 tokens
])
def test_anthropic_published_examples(size, expected):
    assert tokens.anthropic_tokens(*size) == expected


@pytest.mark.parametrize("size", [(1092, 1092), (951, 1268), (896, 1344), (819, 1456), (784, 1568)])
def test_anthropic_table_of_largest_unresized_sizes(size):
    assert tokens.anthropic_size(*size) == size
    assert 1580 <= tokens.anthropic_tokens(*size) <= 1640


def test_anthropic_fits_long_edge_and_megapixels():
    w, h = tokens.anthropic_size(1920, 1080)
    assert max(w, h) <= 1568 and w * h <= tokens.ANTHROPIC_MAX_PIXELS
    assert abs(w / h - 1920 / 1080) < 0.01
    assert tokens.anthropic_size(3000, 200)[0] == 1568


@pytest.mark.parametrize("size,detail,expected", [
    ((1024, 1024), "high", 765),   # OpenAI image-input docs: 768x768 after resize, 4 tiles
    ((2048, 4096), "high", 1105),  # 1024x2048 then 768x1536, 6 tiles
    ((4096, 8192), "low", 85),     # low detail: 85 whatever the size
    ((512, 512), "auto", 255),     # one tile
])
def test_openai_published_examples(size, detail, expected):
    assert tokens.openai_tokens(*size, detail=detail) == expected


def test_openai_resize_rules():
    assert tokens.openai_size(1024, 1024) == (768, 768)
    assert tokens.openai_size(2048, 4096) == (768, 1536)
    assert tokens.openai_size(500, 300) == (500, 300)  # never scaled up


def test_billed_dispatch_and_unknown_provider():
    assert tokens.billed("anthropic", 1000, 1000) == 1334
    assert tokens.billed("openai", 1024, 1024) == 765
    with pytest.raises(ValueError):
        tokens.billed("gemini", 10, 10)
