"""scripts/bench_images.py measures what it says: one row per image and provider, the summary over
images past 0.3 MP (the OCR part needs tesseract and is run by the script itself, not here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
