"""scripts/bench_images.py measures what it says: one row per image and provider, the summary over
images past 0.3 MP (the OCR part needs tesseract and is run by the script itself, not here)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from image_samples import photo_jpeg, small_png, terminal_png

_SPEC = importlib.util.spec_from_file_location("bench_images", Path(__file__).parents[1] / "scripts" / "bench_images.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_rows_and_summary(tmp_path):
    made = []
    for kind, name, data in (("screen", "term", terminal_png()), ("photo", "photo", photo_jpeg()),
                             ("photo", "small", small_png())):
        path = tmp_path / name
        path.write_bytes(data)
        made.append((kind, name, path))
    rows = [bench.measure(kind, name, path, provider, 1, False) for kind, name, path in made
            for provider in ("anthropic", "openai")]
    assert len(rows) == 6
    term = next(r for r in rows if r["name"] == "term" and r["provider"] == "anthropic")
    assert term["size"] == "1920x1080" and term["seen_as"] == "screen" and term["saved"] >= 0.4
    sums = bench.summary(rows)
    assert sums["anthropic/photo"]["images"] == 2 and sums["anthropic/photo"]["over_0.3MP"] == 1
    assert sums["openai/photo"]["min_saved"] >= 0.6
    assert sums["anthropic/screen"]["min_saved_full_hd"] >= 0.4
    assert sums["openai/screen"]["min_saved_full_hd"] >= 0.4  # its empty right side cut (layout.py)
    checks = bench.criteria(sums)
    assert checks["openai"]["photos_saved_60"] and checks["anthropic"]["small_untouched"]
    assert checks["openai"]["ocr_98"] is None  # nothing measured it here


def test_ocr_share_counts_characters_matched_in_order():
    assert bench.recovered("fnmain(){}", "fnmain(){}") == 1.0
    assert bench.recovered("fnmain(){}", "fnmian(){}") == 0.9  # one letter out of place
    assert bench.recovered("abcd", "") == 0.0 and bench.recovered("", "x") == 1.0


def test_ocr_share_takes_the_better_reading():
    # one reading split into columns (tesseract's page analysis), the other whole: the better one counts
    assert bench.recovered("abcdef", ("defabc", "abcdef")) == 1.0
    assert bench.recovered("abcdef", ("defabc", "abcxyz")) == 0.5


def test_ocr_is_judged_against_the_best_of_the_originals_readings_and_order_still_counts():
    # Two readings of one original (a sidebar and its page interleaved, or block by block): a compressed
    # image read in either order is judged against that one; one read in neither loses what moved.
    readings = ("s1p1s2p2", "s1s2p1p2")
    assert bench.best_recovered(readings, ("s1s2p1p2",)) == 1.0
    assert bench.best_recovered(readings, ("p1p2s1s2",)) < 0.7  # the page before the sidebar: neither order


def test_a_reading_much_shorter_than_the_longest_is_no_reference(tmp_path):
    from PIL import Image, ImageDraw, ImageFont
    pytest.importorskip("pytesseract")  # the [bench] extra; scripts/test installs it and tesseract-ocr
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract-ocr not installed")
    image = Image.new("RGB", (1400, 500), (255, 255, 255))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=20)
    for row in range(12):
        draw.text((10, 10 + row * 36), f"menu item {row}", font=font, fill=(0, 0, 0))
        draw.text((600, 10 + row * 36), f"line {row} of the page body text", font=font, fill=(0, 0, 0))
    path = tmp_path / "page.png"
    image.save(path)
    references = bench._references(path)
    longest = max(len(r) for r in references)
    assert len(references) >= 2 and all(len(r) >= 0.95 * longest for r in references)
    assert any(r.startswith("menuitem0menuitem1") for r in references)  # the block-by-block reading
