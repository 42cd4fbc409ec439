"""scripts/bench_tables.py: its checks of a real output, and the big parts it times."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from headroom_cli.tokens import count_tokens

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_tables.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_output_row_checks_rows_and_markers():
    bench = load()
    row = bench.output_row(bench.DATA / "dpkg_l.txt")
    assert row["route"] == "table" and not row["held_out"] and row["detect"] >= 0.8
    assert row["rows_original"] and row["markers_exact"] and row["engine_saved"] > 50
    assert bench.output_row(bench.DATA / "ss_tan.txt")["held_out"]


def test_exact_notices_a_changed_row_and_a_wrong_range():
    bench = load()
    text = "a\nb\nc\nd\n"
    assert bench.exact(text, "a\n[headroom: 2 rows omitted · retrieve hr_0000000000000000 --lines 2-3]\nd\n",
                       "hr_0000000000000000") == (True, True)
    assert bench.exact(text, "a\n[headroom: 1 row omitted · retrieve hr_0000000000000000 --lines 2-2]\nd\n",
                       "hr_0000000000000000") == (True, False)
    assert bench.exact(text, "a \nb\nc\nd\n", "hr_0000000000000000") == (False, False)


def test_big_part_repeats_rows_under_the_header():
    bench = load()
    text = (bench.DATA / "dpkg_l.txt").read_text()
    big = bench.big_part(text, 5_000)
    assert big.startswith(text.split("\n+++-")[0]) and 4_900 <= count_tokens(big) <= 5_200  # about the size
    assert big.count("||/ Name") == 1
