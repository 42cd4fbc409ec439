"""layout.py: empty margins and bands cut from a screen, columns stacked, the kept pixels untouched;
nothing to cut (a photo, a blank image) leaves the image whole."""

import io

from PIL import Image, ImageDraw, ImageFont

from headroom_cli.images import decide, layout, tokens
from image_samples import photo_jpeg, terminal_png


def _page() -> Image.Image:
    """A 1920x1080 page: a sidebar of links at the left, a column of text in the middle, white between."""
    image = Image.new("RGB", (1920, 1080), (255, 255, 255))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=16)
    for row in range(40):
        draw.text((10, 10 + row * 26), f"{row}. Chapter {row}", font=font, fill=(30, 30, 30))
        draw.text((700, 10 + row * 26), f"Paragraph line {row}: the quick brown fox jumps over the lazy dog {row * 7}",
                  font=font, fill=(20, 20, 20))
    return image


def test_a_page_is_trimmed_and_stacked_with_its_pixels_kept():
    page = _page()
    found = {candidate.name: candidate.image for candidate in layout.layouts(page)}
    assert list(found) == ["whole", "trimmed", "stacked"]
    trimmed, stacked = found["trimmed"], found["stacked"]
    assert trimmed.width < 1500 and trimmed.height <= 1080
    assert stacked.width < 800 and stacked.height > 1080  # the text column under the sidebar
    # The text column is copied pixel for pixel: its first line sits PAD in from the stacked image's left.
    xs, ys = layout._ink(page.crop((600, 0, 1920, 1080)), (255, 255, 255)).getprojection()
    left, top = 600 + xs.index(1), ys.index(1)
    line = page.crop((left, top, left + 200, top + 12)).tobytes()
    assert any(stacked.crop((layout.PAD, y, layout.PAD + 200, y + 12)).tobytes() == line
               for y in range(stacked.height // 2, stacked.height - 12))


def test_a_terminal_loses_its_empty_right_side_only():
    image = Image.open(io.BytesIO(terminal_png()))
    found = {candidate.name: candidate.image for candidate in layout.layouts(image)}
    assert "stacked" not in found  # one column of text
    assert found["trimmed"].width < 1000 and found["trimmed"].height >= 1000
    kept = found["trimmed"].crop((0, 0, 400, 200)).tobytes()
    assert any(kept == image.convert("RGB").crop((x, 0, x + 400, 200)).tobytes() for x in range(layout.PAD * 2))


def test_a_photo_or_a_blank_image_stays_whole():
    photo = Image.open(io.BytesIO(photo_jpeg()))
    assert [c.name for c in layout.layouts(photo)] == ["whole"]
    assert [c.name for c in layout.layouts(Image.new("RGB", (800, 600), (40, 40, 40)))] == ["whole"]


def test_openai_full_hd_page_bills_40_percent_less_at_a_legible_scale():
    buffer = io.BytesIO()
    _page().save(buffer, "PNG")
    d = decide.decide(buffer.getvalue(), "openai")
    assert d.changed and d.layout in ("trimmed", "stacked")
    assert d.tokens_after <= 0.6 * d.tokens_before == 0.6 * tokens.openai_tokens(1920, 1080)
    assert d.scale >= decide.SCREEN_FLOOR
    assert "columns stacked" in decide_marker(d) or "empty margins" in decide_marker(d)


def decide_marker(d) -> str:
    from headroom_cli.images.wire import describe
    return describe(d)
