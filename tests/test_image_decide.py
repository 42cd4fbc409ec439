"""decide.py: screens stay lossless and legible-sized, photos go lower, small images stay, same bytes
in give the same bytes out, and nothing is ever sent that bills more."""

import io

import pytest
from PIL import Image

from headroom_cli.images import decide, tokens
from image_samples import photo_jpeg, small_png, terminal_png


@pytest.fixture(scope="module")
def screen():
    return terminal_png()


@pytest.fixture(scope="module")
def photo():
    return photo_jpeg()


def test_screen_and_photo_are_told_apart(screen, photo):
    assert decide.is_screen(Image.open(io.BytesIO(screen)))
    assert not decide.is_screen(Image.open(io.BytesIO(photo)))


@pytest.mark.parametrize("provider,size", [("anthropic", (1920, 1080)), ("openai", (1280, 800))])
def test_screen_bills_at_least_40_percent_less_and_stays_lossless(provider, size):
    data = terminal_png(*size)
    d = decide.decide(data, provider)
    assert d.changed and d.kind == "screen" and d.media_type == "image/webp"
    assert d.tokens_after <= 0.6 * d.tokens_before
    sent = Image.open(io.BytesIO(d.data))
    assert d.tokens_after == tokens.billed(provider, *sent.size)
    assert d.scale >= decide.SCREEN_FLOOR  # text keeps its resolution
    assert d.detail is None


def test_full_hd_terminal_for_openai_drops_tiles_by_cutting_its_empty_side(screen):
    # Scaling the whole 1920x1080 to 3 tiles would leave 47% of the size: text no longer reads. Its
    # empty right side cut, the text column fits in fewer tiles at a legible scale.
    d = decide.decide(screen, "openai")
    assert d.layout == "trimmed" and d.scale >= decide.SCREEN_FLOOR
    assert d.tokens_after <= 0.6 * d.tokens_before
    assert len(d.data) < len(screen)


def test_a_screen_with_nothing_to_cut_is_never_shrunk_past_legibility():
    # Text over the whole width and height: no layout helps, so OpenAI's tiles stay where the floor puts them.
    d = decide.decide(terminal_png(text_width=1900), "openai")
    assert d.layout == "whole" and d.scale >= decide.SCREEN_FLOOR
    assert tokens.openai_size(*d.size_after) != (512, 288)


@pytest.mark.parametrize("provider", tokens.PROVIDERS)
def test_photo_bills_at_least_60_percent_less_without_metadata(photo, provider):
    d = decide.decide(photo, provider)
    assert d.changed and d.kind == "photo" and d.media_type == "image/jpeg"
    assert d.tokens_after <= 0.4 * d.tokens_before
    assert len(d.data) < len(photo)
    out = Image.open(io.BytesIO(d.data))
    assert not out.getexif() and b"HeadroomCam" not in d.data
    assert d.detail == ("low" if provider == "openai" else None)


def test_small_images_are_untouched():
    data = small_png()
    d = decide.decide(data, "anthropic")
    assert not d.changed and d.kind == "small" and d.data is data


def test_unreadable_bytes_pass_through():
    d = decide.decide(b"not an image at all", "openai")
    assert not d.changed and d.kind == "unreadable"


def test_same_bytes_in_same_bytes_out(screen, photo):
    for data in (screen, photo):
        for provider in tokens.PROVIDERS:
            assert decide.decide(data, provider).data == decide.decide(data, provider).data


def test_a_result_that_would_take_more_bytes_is_not_used():
    # A tiny, already well-compressed screen-sized image: re-encoding cannot beat it.
    image = Image.new("RGB", (1200, 800), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    d = decide.decide(buffer.getvalue(), "openai")
    assert not d.changed or len(d.data) < len(buffer.getvalue())


def test_low_detail_openai_image_is_never_billed_more():
    d = decide.decide(terminal_png(), "openai", detail="low")
    assert d.tokens_after == d.tokens_before == 85


def test_smaller_text_keeps_more_of_its_pixels():
    """The legibility floor follows the text's size: a line of 12-px ink may go to 9.8/12 of its size
    at the least, one of 20-px ink to 0.59 (SCREEN_FLOOR)."""
    from headroom_cli.images import layout

    small, large = (Image.open(io.BytesIO(terminal_png(size=s))) for s in (11, 20))
    small_height, large_height = layout.analyse(small)[1], layout.analyse(large)[1]
    assert small_height < large_height
    assert decide.legible_floor(small_height) > decide.legible_floor(large_height) >= decide.SCREEN_FLOOR
    assert decide.legible_floor(None) == decide.SCREEN_FLOOR and decide.legible_floor(5) == 1.0
    for provider in tokens.PROVIDERS:
        d = decide.decide(terminal_png(size=11), provider)
        assert not d.changed or d.scale >= decide.legible_floor(small_height) - 0.01
