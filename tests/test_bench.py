"""scripts/bench.py runs over a tiny needle corpus, counts needles right, and fails on a lost one."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from headroom_cli.markers import ccr_id, line_marker, omission_marker
from headroom_cli.store import Store

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench.py"
FAST = ["--repeat", "1", "--part-tokens", "2000"]

FAILED_LINE = "tests/test_cart.py::test_discount_applies_once FAILED"
ASSERTION = "AssertionError: discount applied twice: expected 90.0, got 81.0"
SUMMARY = "1 failed, 59 passed in 1.84s"
MIDDLE_PASS = "tests/test_orders.py::test_orders_case_031 PASSED"


def pytest_log() -> str:
    """A small ``pytest -v`` run: 59 passing tests, one failure with its traceback, the summary."""
    modules = ["orders", "cart", "users"]
    lines = ["============================= test session starts ==============================",
             "platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0", "rootdir: /home/dev/shop",
             "collected 60 items", ""]
    for i in range(60):
        if i == 40:
            lines.append(FAILED_LINE.ljust(72) + f"[{i * 100 // 60:3d}%]")
        else:
            module = modules[i % 3] if i != 31 else "orders"
            test_id = f"tests/test_{module}.py::test_{module}_case_{i:03d}"
            lines.append(f"{test_id} PASSED".ljust(72) + f"[{i * 100 // 60:3d}%]")
    lines += ["", "=================================== FAILURES ===================================",
              "__________________________ test_discount_applies_once ___________________________", "",
              "    def test_discount_applies_once():", "        cart = Cart([Item('sku-1', 100.0)])",
              "        cart.apply(Discount(0.1))", ">       assert cart.total() == 90.0, 'discount applied twice'",
              f"E       {ASSERTION}", "", "tests/test_cart.py:42: AssertionError",
              "=========================== short test summary info ============================",
              f"FAILED {FAILED_LINE.removesuffix(' FAILED')} - {ASSERTION}",
              f"========================= {SUMMARY} =========================="]
    return "\n".join(lines) + "\n"


SHORT_LOG = ("make: Entering directory '/home/dev/minikv'\n"
             "gcc -Wall -O2 -c store.c -o store.o\n"
             "store.c:88:5: error: 'struct entry' has no member named 'expires_at'\n"
             "make: *** [Makefile:12: store.o] Error 1\n")


def write_corpus(folder: Path, entries: list[tuple[str, str, list[str]]]) -> Path:
    """entries: (file, text, needles); the kind is the file's folder, as in the shared corpus."""
    needles = []
    for file, text, wanted in entries:
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_text(text)
        needles.append({"file": file, "kind": file.split("/")[0], "query": "Which test failed and why?",
                        "needles": wanted, "source": "tests/test_bench.py"})
    (folder / "needles.json").write_text(json.dumps(needles, indent=2))
    return folder


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, *FAST], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_bench_json_counts_needles(tmp_path: Path):
    corpus = write_corpus(tmp_path / "corpus", [
        ("tests/pytest_cart.txt", pytest_log(), [FAILED_LINE, ASSERTION, SUMMARY, MIDDLE_PASS]),
        ("logs/make_short.txt", SHORT_LOG, ["make: *** [Makefile:12: store.o] Error 1",
                                           "'struct entry' has no member named 'expires_at'"]),
    ])
    done = run_bench(str(corpus), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)

    assert result["ok"] is True and result["problems"] == []
    assert result["repeat"] == 1 and result["query"] is True
    samples = {row["name"]: row for row in result["samples"]}
    assert list(samples) == ["tests/pytest_cart.txt", "logs/make_short.txt"]

    log = samples["tests/pytest_cart.txt"]
    assert log["needles"] == 4 and log["lost"] == 0 and log["lost_needles"] == []
    assert log["verbatim"] + log["recoverable"] == 4  # the middle PASSED line may be folded, never lost
    assert 0 <= log["tokens_after"] <= log["tokens_before"]
    assert log["deterministic"] is True and log["larger"] is False

    short = samples["logs/make_short.txt"]  # under the pipeline's 1,000 characters: passed through
    assert short["engine"] is None and short["tokens_after"] == short["tokens_before"]
    assert (short["needles"], short["verbatim"], short["recoverable"], short["lost"]) == (2, 2, 0, 0)
    # every sample at 0% saved is listed with the reason --explain gives
    assert result["zero_saved"] == [{"name": "logs/make_short.txt", "kind": "logs", "tokens": short["tokens_before"],
                                     "reason": "passed through: under 1,000 characters"}]

    kinds = {t["kind"]: t for t in result["kinds"]}
    assert list(kinds) == ["tests", "logs"]  # in the product's kind order
    assert kinds["tests"]["target_saved"] == 85.0 and kinds["logs"]["percent_saved"] == 0.0
    assert kinds["logs"]["saved_ok"] is False and kinds["logs"]["passed"] is False  # shown as FAIL, exit 0 all the same
    overall = result["overall"]
    assert overall["needles"] == 6 and overall["lost"] == 0 and overall["kept_percent"] == 100.0
    assert overall["tokens_before"] == log["tokens_before"] + short["tokens_before"]

    big = result["latency"]["big_part"]
    assert big["source"] == "logs/make_short.txt"  # the largest log sample is repeated up to size
    assert big["tokens"] >= 2000 and big["median_ms"] >= 0 and big["deterministic"] is True
    assert [x["name"] for x in result["latency"]["largest"]] == ["tests/pytest_cart.txt", "logs/make_short.txt"]


def test_bench_reports_a_lost_needle_and_exits_1(tmp_path: Path):
    absent = "FAILED tests/test_cart.py::test_refund_restocks - KeyError: 'sku-9'"
    corpus = write_corpus(tmp_path / "corpus", [
        ("tests/pytest_cart.txt", pytest_log(), [FAILED_LINE, absent]),
    ])
    done = run_bench(str(corpus), "--json", "--no-query")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    row = result["samples"][0]
    assert (row["needles"], row["verbatim"], row["lost"]) == (2, 1, 1)
    assert row["lost_needles"] == [absent]
    assert result["ok"] is False and any(absent in problem for problem in result["problems"])
    assert result["overall"]["needles_ok"] is False and result["query"] is False

    tables = run_bench(str(corpus))  # the readable report says the same, with the same exit status
    assert tables.returncode == 1
    assert "needle lost" in tables.stdout and "FAIL" in tables.stdout and "Overall:" in tables.stdout


def test_recoverable_only_through_a_stored_span(tmp_path: Path):
    bench = load_script()
    original = "".join(f"line {i}\n" for i in range(1, 21))
    part_id = ccr_id(original)
    store = Store(tmp_path / "store.sqlite3")
    store.put(part_id, "logs", original)
    unknown = ccr_id("never stored")
    output = "\n".join(["line 1", line_marker(part_id, 2, 10, {"INFO": 9}), "line 11",
                        omission_marker(unknown, 9, "lines")])
    try:
        verbatim, recoverable, lost = bench.judge_needles(output, ["line 1\n", "line 7", "line 15", "line 11"], store)
    finally:
        store.close()
    assert verbatim == ["line 1\n", "line 11"]
    assert recoverable == ["line 7"]  # inside --lines 2-10
    assert lost == ["line 15"]  # only behind a marker whose ID is not in the store


def test_repeat_to_tokens_reaches_the_size():
    bench = load_script()
    text = bench.repeat_to_tokens(SHORT_LOG, 500)
    assert text.startswith(SHORT_LOG) and 500 <= bench.count_tokens(text) <= 540


def load_script():
    spec = importlib.util.spec_from_file_location("headroom_bench_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_bench_reports_code_per_language(tmp_path: Path):
    """Source files under --code-dir get their own table: per language, tokens saved on files over
    300 lines, signatures kept verbatim, outputs that parse, markers that give their lines back."""
    sources = tmp_path / "src"
    sources.mkdir()
    data = REPO / "tests" / "data" / "code"
    for name in ("mux_route.go", "click_parser.py", "zlib_gun.c"):
        (sources / name).write_text((data / name).read_text())
    (sources / "notes.txt").write_text("not source code\n" * 100)  # not a source file: skipped
    corpus = write_corpus(tmp_path / "corpus", [("tests/pytest_cart.txt", pytest_log(), [FAILED_LINE])])
    done = run_bench(str(corpus), "--json", "--code-dir", str(sources))
    assert done.returncode == 0, done.stdout + done.stderr
    code = json.loads(done.stdout)["code"]
    assert sorted(Path(f["name"]).name for f in code["files"]) == ["click_parser.py", "mux_route.go", "zlib_gun.c"]
    languages = {row["language"]: row for row in code["languages"]}
    assert list(languages) == ["python", "go", "c"]  # in the report's order
    for row in languages.values():
        assert row["files"] == row["files_over_min"] == 1
        assert row["signatures"] >= 5 and row["signatures_kept"] == row["signatures"]
        assert row["parse_ok"] == row["retrievable"] == 1
        assert 0 < row["tokens_after"] < row["tokens_before"] and row["ms_per_2k_lines"] > 0
    assert languages["c"]["saved_ok"] is True and languages["c"]["percent_saved"] >= 50
    assert [p["lines"] for p in code["policy"]] == ["500-999"] and code["problems"] == []

    tables = run_bench(str(corpus), "--code-dir", str(sources))
    assert "Source code per language" in tables.stdout and "Left-alone policy" in tables.stdout


def test_bench_code_defaults_to_the_checked_in_sources(tmp_path: Path):
    corpus = write_corpus(tmp_path / "corpus", [("tests/pytest_cart.txt", pytest_log(), [FAILED_LINE])])
    done = run_bench(str(corpus), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    code = json.loads(done.stdout)["code"]
    assert code["dirs"] == [str(REPO / "tests" / "data" / "code")]
    assert {row["language"] for row in code["languages"]} == {
        "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby", "php"}
    assert all(row["signatures_kept"] == row["signatures"] for row in code["languages"])
