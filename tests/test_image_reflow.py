"""reflow.py: a dense screen's lines re-packed into whole OpenAI tiles at a legible scale, every pixel of
ink kept, in reading order, deterministic; never for a screen trimming already brings within budget, nor
for Anthropic."""

import difflib
import io
import shutil

import pytest
from PIL import Image, ImageDraw

from headroom_cli.images import decide, layout, reflow, tokens
from headroom_cli.images.wire import describe
from image_samples import terminal_png


def _dense() -> bytes:
    """A full-HD terminal whose 1,000-px lines fill its height: trimmed, it still bills 4 OpenAI tiles."""
    return terminal_png(text_width=1000)


def _ink_count(image: Image.Image, background) -> int:
    return sum(layout._ink(image.convert("RGB"), background).histogram()[1:])


def test_a_dense_full_hd_screen_is_reflowed_into_three_tiles_at_a_legible_scale():
    data = _dense()
    image = Image.open(io.BytesIO(data))
    d = decide.decide(data, tokens.OPENAI)
    assert d.changed and d.layout == "reflowed"
    assert d.tokens_before == tokens.openai_tokens(1920, 1080) == 1105
    assert d.tokens_after <= 595 and d.tokens_after == tokens.openai_tokens(*d.size_after)
    _, height, _ = layout.analyse(image)
    assert d.scale >= decide.legible_floor(height) and d.scale * height >= decide.LEGIBLE_PX
    assert "positions changed" in describe(d) and "original" in describe(d)


def test_reflow_is_deterministic_and_anthropic_is_never_reflowed():
    data = _dense()
    first, second = decide.decide(data, tokens.OPENAI), decide.decide(data, tokens.OPENAI)
    assert first.data == second.data and first.size_after == second.size_after
    assert decide.decide(data, tokens.ANTHROPIC).layout != "reflowed"


def test_a_screen_trimming_brings_within_budget_keeps_its_geometry():
    d = decide.decide(terminal_png(), tokens.OPENAI)  # short lines: trimmed, it bills 3 tiles already
    assert d.layout == "trimmed" and d.tokens_after <= 0.6 * d.tokens_before


def test_every_pixel_of_ink_is_kept_and_lines_come_in_reading_order():
    image = Image.open(io.BytesIO(_dense())).convert("RGB")
    candidates, height, ink = layout.analyse(image)
    [laid] = decide.reflowed(ink, height, decide.legible_floor(height))
    assert _ink_count(laid.image, ink.background) == _ink_count(image, ink.background)
    # The first crop placed is the original's first line (or its start), pixel for pixel; the last is
    # the original's last line (or its rest).
    lines = reflow.lines_of(ink.mask, reflow.blocks(ink.mask), height)
    packing = reflow.packings(lines, height, decide.legible_floor(height))[0]
    x0, y0, x1, y1, _ = packing.pieces[0]
    assert (x0, y0) == (lines[0].x0, lines[0].y0)
    assert laid.image.crop((reflow.MARGIN, reflow.MARGIN, reflow.MARGIN + x1 - x0, reflow.MARGIN + y1 - y0)).tobytes() \
        == image.crop((x0, y0, x1, y1)).tobytes()
    assert packing.pieces[-1][1] == lines[-1].y0 and packing.pieces[-1][2] == lines[-1].x1


def test_a_line_is_wrapped_only_at_a_gap_and_a_figure_only_at_a_wide_one():
    line = reflow.Line(0, 0, 600, 16, 0, ((280, 290), (400, 404)), False)
    assert reflow.wrapped([line], 320) == [(0, 0, 280, 16, 0), (290, 0, 600, 16, reflow.LINE_GAP)]
    assert reflow.wrapped([line], 250) is None  # no gap within 250 px of the start: no packing
    assert reflow.wrapped([reflow.Line(0, 0, 600, 16, 0, (), False)], 300) is None
    # A figure's cuts are only its wide empty bands (lines_of): a 40-px gap in a tall strip is one.
    figure = Image.new("L", (600, 100), 0)
    ImageDraw.Draw(figure).rectangle((0, 0, 250, 99), fill=255)
    ImageDraw.Draw(figure).rectangle((300, 0, 599, 99), fill=255)
    [tall] = reflow.lines_of(figure, [(0, 600)], 16)
    assert tall.tall and tall.cuts == ((251, 300),)
    ImageDraw.Draw(figure).rectangle((251, 0, 260, 99), fill=255)  # now only 39 px apart
    assert reflow.lines_of(figure, [(0, 600)], 16)[0].cuts == ()


def test_blocks_part_a_sidebar_from_the_page_even_across_a_lone_handle_and_keep_all_ink():
    mask = Image.new("L", (1200, 600), 0)
    draw = ImageDraw.Draw(mask)
    for row in range(30):
        draw.rectangle((10, 10 + row * 20, 200 if row != 5 else 260, 22 + row * 20), fill=255)  # one long link
        draw.rectangle((400, 10 + row * 20, 1100, 22 + row * 20), fill=255)
    draw.rectangle((320, 290, 326, 305), fill=255)  # a resize handle in the gutter
    spans = reflow.blocks(mask)
    assert len(spans) == 2 and spans[0][0] <= 10 and spans[1][1] >= 1100
    assert spans[0][1] > 260 and spans[1][0] <= 320 or spans[0][1] > 326  # the long link and handle kept whole
    covered = sum(1 for x in range(1200) for a, b in spans if a <= x < b and mask.crop((x, 0, x + 1, 600)).getbbox())
    assert covered == sum(1 for x in range(1200) if mask.crop((x, 0, x + 1, 600)).getbbox())


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr not installed")
def test_ocr_reads_the_reflowed_screen_as_it_reads_the_original():
    """The bench's criterion on one screen: tesseract's reading of the reflowed image, scaled back up,
    recovers >= 98% of its reading of the original, in order (a line read out of order counts as lost; both read as one block of text, as a terminal is)."""
    pytesseract = pytest.importorskip("pytesseract")
    data = _dense()
    d = decide.decide(data, tokens.OPENAI)
    sent = Image.open(io.BytesIO(d.data)).convert("RGB")
    back = sent.resize((round(sent.width / d.scale), round(sent.height / d.scale)), Image.Resampling.LANCZOS)

    def read(image):
        gray = Image.eval(image.convert("L"), lambda v: 255 - v)  # dark terminal: tesseract wants dark on light
        return "".join(pytesseract.image_to_string(gray, config="--psm 6").split())

    want, got = read(Image.open(io.BytesIO(data))), read(back)
    blocks = difflib.SequenceMatcher(None, want, got, autojunk=False).get_matching_blocks()
    assert len(want) > 3000 and sum(b.size for b in blocks) / len(want) >= 0.98
