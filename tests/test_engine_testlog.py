"""The test-and-log engine: needles survive, markers expand back to the original, noise is folded."""

from __future__ import annotations

import json
import random
import re

import pytest

from headroom_cli import engines
from headroom_cli.engines.base import Context, deadline_after, Part, Result
from headroom_cli.engines.testlog import TestLogEngine
from headroom_cli.engines.testlog.detect import PLAIN_LOG
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.pipeline import MIN_SCORE
from headroom_cli.tokens import count_tokens

from marker_checks import assert_line_compression, expand_markers

ENGINE = TestLogEngine()
BIG_SAMPLES = {  # sample name -> least token reduction
    "pytest_verbose_more_itertools": 0.60,
    "pip_wheel_verbose_psutil": 0.60,
    "app_orderservice": 0.90,
    "pytest_x_tb_long_toolz": 0.40,  # --tb=long: whole function sources per frame, folded to their ends
}


# --------------------------------------------------------------------------- helpers


def compress(text: str, **part_kw) -> tuple[Result | None, str]:
    part_id = ccr_id(text)
    result = ENGINE.compress(Part(text, **part_kw), Context(part_id=part_id, deadline=deadline_after(60)))
    return result, part_id


def check(text: str, needles: list[str], min_reduction: float | None = None, **part_kw) -> Result:
    """The properties every compression must have; returns the result for further checks."""
    return assert_line_compression(text, compress, needles, min_reduction, **part_kw)


# --------------------------------------------------------------------------- the corpus


def test_registered():
    assert engines.get("testlog") is not None
    assert engines.get("testlog").name == "testlog"


def _corpus_entries(needles: list[dict]) -> list[dict]:
    entries = [e for e in needles if e["kind"] in ("tests", "logs")]
    assert len(entries) >= 7
    return entries


def test_corpus_samples_keep_needles_and_expand_back(corpus_dir, needles):
    report = []
    for entry in _corpus_entries(needles):
        text = (corpus_dir / entry["file"]).read_text()
        # test runs are the engine's; a log is claimed too, if only as a fallback when it is plain records
        assert ENGINE.detect(Part(text)) >= (0.8 if entry["kind"] == "tests" else MIN_SCORE), entry["file"]
        result = check(text, entry["needles"])
        assert result.kind == entry["kind"], entry["file"]
        before, after = count_tokens(text), count_tokens(result.text)
        name = entry["file"].split("/")[-1].removesuffix(".txt")
        report.append((name, before, after))
    table = "\n".join(f"{name:40s} {b:7d} -> {a:6d} tokens ({1 - a / b:6.1%} saved)" for name, b, a in report)
    for name, before, after in report:
        if name in BIG_SAMPLES:
            assert after <= (1 - BIG_SAMPLES[name]) * before, f"{name} not compressed enough:\n{table}"
    assert {name for name, _, _ in report} >= set(BIG_SAMPLES), table


def test_corpus_other_kinds_are_not_mine(corpus_dir, needles):
    for entry in needles:
        if entry["kind"] in ("tests", "logs"):
            continue
        text = (corpus_dir / entry["file"]).read_text()
        assert ENGINE.detect(Part(text)) <= 0.1, entry["file"]


def test_every_corpus_sample_expands_back_when_forced(corpus_dir, needles):
    """Whatever the content, told it is a log the engine may fold lines, but never lose or alter one."""
    for entry in needles:
        text = (corpus_dir / entry["file"]).read_text()
        numbered = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(text.splitlines(), 1)) + "\n"
        for variant in (text, numbered):
            result, part_id = compress(variant, kind_hint="logs")
            if result is not None:
                assert expand_markers(variant, result.text, part_id) == variant, entry["file"]
                assert len(result.text) < len(variant)


def test_first_character_filters_cover_the_formats_patterns(corpus_dir, needles):
    """Each format declares the first characters its patterns can match (a cheap test before the regex):
    on every real and generated line, a line a joined pattern matches starts with one of them."""
    from headroom_cli.engines.testlog import patterns
    texts = [(corpus_dir / e["file"]).read_text() for e in needles]
    texts += [gen()[0] for gen in (gen_pytest_verbose, gen_pytest_quiet, gen_unittest, gen_jest, gen_node_tap,
                                   gen_go_test, gen_cargo_test, gen_pytest_tb_long)]
    checks = ((patterns.SUMMARY, patterns.SUMMARY_CHARS), (patterns.PASS_START, patterns.PASS_START_CHARS),
              (patterns.FAILURE_SHAPE, patterns.FAILURE_SHAPE_CHARS))
    matched = 0
    for line in {line.strip() for text in texts for line in text.splitlines()}:
        for rx, chars in checks:
            if line and rx.match(line):
                matched += 1
                assert line[0] in chars, (rx.pattern[:40], line)
    assert matched > 500


def test_kind_hint_means_yes():
    assert ENGINE.detect(Part("just a few words\n", kind_hint="tests")) == 1.0
    assert ENGINE.detect(Part("just a few words\n", kind_hint="logs")) == 1.0


# --------------------------------------------------------------------------- synthetic generators


def _pct_line(left: str, pct: int) -> str:
    tail = f"[{pct:3d}%]"
    return f"{left} {tail}" if len(left) + len(tail) >= 79 else left.ljust(80 - len(tail)) + tail


def gen_pytest_verbose(n: int = 2000, fail_at: int = 1234) -> tuple[str, list[str]]:
    rng = random.Random(11)
    verbs = ["parse", "render", "merge", "split", "encode", "decode", "resolve"]
    lines = [
        "=" * 29 + " test session starts " + "=" * 30,
        "platform linux -- Python 3.12.1, pytest-8.2.0, pluggy-1.5.0 -- /opt/venv/bin/python",
        "cachedir: .pytest_cache",
        "rootdir: /srv/src/ledgerkit",
        "configfile: pyproject.toml",
        f"collecting ... collected {n} items",
        "",
    ]
    fail_id = ""
    skipped = 0
    for i in range(n):
        mod = f"tests/test_{verbs[i // 300 % len(verbs)]}_{i // 100:02d}.py"
        test_id = f"{mod}::test_{rng.choice(verbs)}_{i:04d}"
        pct = (i + 1) * 100 // n
        if i == fail_at:
            status, fail_id = "FAILED", test_id
        elif i % 311 == 7:
            status, skipped = "SKIPPED (requires postgres)", skipped + 1
        else:
            status = "PASSED"
        lines.append(_pct_line(f"{test_id} {status}", pct))
    name = fail_id.split("::")[1]
    lines += [
        "",
        "=" * 35 + " FAILURES " + "=" * 35,
        f"{'_' * 20} {name} {'_' * 20}",
        "",
        "    def " + name + "():",
        "        ledger = Ledger.from_rows(ROWS)",
        ">       assert ledger.balance('acct-7') == Decimal('125.00')",
        "",
        "tests/test_merge_12.py:88: ",
        "_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ ",
        "",
        "self = <ledgerkit.Ledger object at 0x7f00deadbeef>, account = 'acct-7'",
        "",
        "    def balance(self, account):",
        ">       return sum(e.amount for e in self.entries if e.account == account and e.settled)",
        "E       AssertionError: assert Decimal('100.00') == Decimal('125.00')",
        "E        +  where Decimal('100.00') = <bound method Ledger.balance>('acct-7')",
        "",
        "ledgerkit/ledger.py:41: AssertionError",
        "=" * 28 + " short test summary info " + "=" * 27,
        f"FAILED {fail_id} - AssertionError: assert Decimal('100.00') == Decimal('125.00')",
        f"{'=' * 18} 1 failed, {n - 1 - skipped} passed, {skipped} skipped in 41.27s {'=' * 18}",
    ]
    needles = [
        f"{fail_id} FAILED",
        "E       AssertionError: assert Decimal('100.00') == Decimal('125.00')",
        "ledgerkit/ledger.py:41: AssertionError",
        f"1 failed, {n - 1 - skipped} passed, {skipped} skipped in 41.27s",
        f"FAILED {fail_id} - AssertionError",
    ]
    return "\n".join(lines) + "\n", needles


def gen_app_log(n: int = 3000, java: bool = False) -> tuple[str, list[str]]:
    rng = random.Random(5 if java else 3)
    lines: list[str] = []
    fatal_at = n * 2 // 3
    stack: list[str] = []
    needles: list[str] = []
    t = 0.0
    for i in range(n):
        t += rng.random() * 0.4
        ms = int(t * 1000)
        stamp = f"2025-02-11 09:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
        worker = f"worker-{rng.randint(1, 8)}"
        if java:
            pid = 4242
            if i == fatal_at:
                head = (f"{stamp} ERROR {pid} --- [http-nio-8080-exec-3] c.e.orders.OrderController  : "
                        "Request processing failed; nested exception follows")
                stack = [
                    "java.lang.IllegalStateException: inventory snapshot is stale (age=913s)",
                    "\tat com.example.orders.InventoryClient.snapshot(InventoryClient.java:88)",
                    "\tat com.example.orders.OrderService.place(OrderService.java:142)",
                    "\tat com.example.orders.OrderController.create(OrderController.java:57)",
                    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
                    "Caused by: java.net.SocketTimeoutException: Read timed out",
                    "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
                    "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)",
                    "\t... 42 common frames omitted",
                ]
                lines += [head, *stack]
                needles += [head, *stack]
                continue
            level = "DEBUG" if rng.random() < 0.4 else " INFO"
            what = rng.choice([
                f"c.e.orders.OrderService       : order ORD-{rng.randint(10000, 99999)} placed total={rng.randint(1, 900)}.99",
                f"o.h.engine.jdbc.SQL           : select o1_0.id from orders o1_0 where o1_0.id={rng.randint(1, 99999)}",
                f"c.e.orders.InventoryClient    : snapshot refreshed items={rng.randint(100, 999)}",
            ])
            lines.append(f"{stamp} {level} {pid} --- [{worker}] {what}")
        else:
            if i == fatal_at:
                head = f"{stamp} FATAL [{worker}] jobs.runner: job nightly-export crashed; scheduler stopping"
                stack = [
                    "Traceback (most recent call last):",
                    '  File "/srv/app/jobs/export.py", line 61, in fetch',
                    "    return cursor.fetchmany(size)",
                    "psycopg.errors.InvalidCursorName: cursor \"export_7\" does not exist",
                    "",
                    "The above exception was the direct cause of the following exception:",
                    "",
                    "Traceback (most recent call last):",
                    '  File "/srv/app/jobs/runner.py", line 120, in run',
                    "    result = job.execute(ctx)",
                    "             ^^^^^^^^^^^^^^^^",
                    '  File "/srv/app/jobs/export.py", line 45, in execute',
                    "    rows = self.fetch(ctx.since)",
                    '  File "/srv/app/jobs/export.py", line 63, in fetch',
                    '    raise ExportError(f"cursor expired after {n} rows") from exc',
                    "jobs.export.ExportError: cursor expired after 48211 rows",
                ]
                lines += [head, *stack]
                needles += [head, *[s for s in stack if s]]
                continue
            level = rng.choice(["INFO", "INFO", "DEBUG"])
            what = rng.choice([
                f"http: GET /api/v2/items/{rng.randint(1, 9999)} 200 {rng.randint(1, 90)}ms",
                f"db: pool checkout conn={rng.randint(1, 20)} wait={rng.random():.2f}ms",
                f"cache: hit key=item:{rng.randint(1, 99999)}",
                f"jobs.runner: heartbeat queue_depth={rng.randint(0, 40)}",
            ])
            lines.append(f"{stamp} {level:5s} [{worker}] {what}")
    return "\n".join(lines) + "\n", needles


def gen_pytest_quiet(rows: int = 120) -> tuple[str, list[str]]:
    lines = []
    for r in range(rows):
        dots = "." * 72
        if r == 77:
            dots = dots[:30] + "F" + dots[31:]
        if r % 40 == 3:
            dots = dots[:10] + "s" + dots[11:]
        lines.append(f"{dots} [{(r + 1) * 100 // rows:3d}%]")
    lines += [
        "",
        "=" * 35 + " FAILURES " + "=" * 35,
        "_" * 25 + " test_widget_resize " + "_" * 25,
        "",
        "    def test_widget_resize():",
        "        w = Widget(width=3)",
        "        w.resize(4)",
        ">       assert w.width == 4",
        "E       assert 3 == 4",
        "E        +  where 3 = <Widget width=3>.width",
        "",
        "tests/test_widgets.py:19: AssertionError",
        "=" * 28 + " short test summary info " + "=" * 27,
        "FAILED tests/test_widgets.py::test_widget_resize - assert 3 == 4",
        f"1 failed, {rows * 72 - 1 - 3} passed, 3 skipped in 9.81s",
    ]
    needles = ["E       assert 3 == 4", "FAILED tests/test_widgets.py::test_widget_resize - assert 3 == 4",
               f"1 failed, {rows * 72 - 1 - 3} passed, 3 skipped in 9.81s", "tests/test_widgets.py:19: AssertionError"]
    return "\n".join(lines) + "\n", needles


def gen_unittest(n: int = 400) -> tuple[str, list[str]]:
    lines = []
    for i in range(n):
        status = "FAIL" if i == 250 else ("skipped 'slow'" if i % 97 == 5 else "ok")
        lines.append(f"test_case_{i:03d} (tests.test_calc.CalcTests.test_case_{i:03d}) ... {status}")
    lines += [
        "",
        "=" * 70,
        "FAIL: test_case_250 (tests.test_calc.CalcTests.test_case_250)",
        "-" * 70,
        "Traceback (most recent call last):",
        '  File "/srv/calc/tests/test_calc.py", line 912, in test_case_250',
        "    self.assertEqual(divide(1, 0), float('inf'))",
        "AssertionError: nan != inf",
        "",
        "-" * 70,
        f"Ran {n} tests in 0.532s",
        "",
        "FAILED (failures=1, skipped=5)",
    ]
    needles = ["test_case_250 (tests.test_calc.CalcTests.test_case_250) ... FAIL",
               "FAIL: test_case_250 (tests.test_calc.CalcTests.test_case_250)",
               "AssertionError: nan != inf", f"Ran {n} tests in 0.532s", "FAILED (failures=1, skipped=5)",
               'File "/srv/calc/tests/test_calc.py", line 912, in test_case_250']
    return "\n".join(lines) + "\n", needles


def gen_jest(suites: int = 40, per: int = 15) -> tuple[str, list[str]]:
    lines = []
    for s in range(suites):
        failing = s == 23
        lines.append(f" {'FAIL' if failing else 'PASS'}  src/module{s:02d}/feature.test.js" + ("" if s % 3 else " (5.2 s)"))
        lines.append(f"  module{s:02d}")
        for t in range(per):
            if failing and t == 4:
                lines.append(f"    \u2715 applies the discount before tax ({t + 3} ms)")
            else:
                lines.append(f"    \u2713 handles case {t} of module {s} ({t % 4 + 1} ms)")
        lines.append("")
    lines += [
        "  \u25cf module23 \u203a applies the discount before tax",
        "",
        "    expect(received).toBe(expected) // Object.is equality",
        "",
        "    Expected: 107.1",
        "    Received: 110.25",
        "",
        "      12 |     const cart = makeCart([item(100)], { discount: 0.1, tax: 0.19 });",
        "      13 |     const total = computeTotal(cart);",
        "    > 14 |     expect(total).toBe(107.1);",
        "         |                   ^",
        "      15 |   });",
        "",
        "      at Object.toBe (src/module23/feature.test.js:14:19)",
        "",
        f"Test Suites: 1 failed, {suites - 1} passed, {suites} total",
        f"Tests:       1 failed, {suites * per - 1} passed, {suites * per} total",
        "Snapshots:   0 total",
        "Time:        12.345 s",
        "Ran all test suites.",
    ]
    needles = ["\u2715 applies the discount before tax", "\u25cf module23 \u203a applies the discount before tax",
               "Expected: 107.1", "Received: 110.25", "at Object.toBe (src/module23/feature.test.js:14:19)",
               f"Tests:       1 failed, {suites * per - 1} passed, {suites * per} total",
               " FAIL  src/module23/feature.test.js"]
    return "\n".join(lines) + "\n", needles


def gen_node_tap(files: int = 12, per: int = 8) -> tuple[str, list[str]]:
    lines = ["TAP version 13"]
    for f in range(files):
        lines.append(f"# Subtest: suite {f}")
        for t in range(per):
            name = f"case {t} of suite {f}"
            lines.append(f"    # Subtest: {name}")
            if f == 7 and t == 3:
                lines += [
                    f"    not ok {t + 1} - {name}",
                    "      ---",
                    "      duration_ms: 1.5",
                    "      location: '/srv/js/test/suite7.test.mjs:30:3'",
                    "      failureType: 'testCodeFailure'",
                    "      error: 'parseDuration must reject negative values'",
                    "      code: 'ERR_ASSERTION'",
                    "      expected: 'RangeError'",
                    "      actual: 'undefined'",
                    "      operator: 'throws'",
                    "      stack: |-",
                    "        TestContext.<anonymous> (file:///srv/js/test/suite7.test.mjs:31:12)",
                    "        Test.runInAsyncScope (node:async_hooks:206:9)",
                    "      ...",
                ]
            else:
                lines += [f"    ok {t + 1} - {name}", "      ---", f"      duration_ms: {0.1 + t / 10:.6f}", "      ..."]
        lines += [f"    1..{per}", f"{'not ok' if f == 7 else 'ok'} {f + 1} - suite {f}", "  ---",
                  f"  duration_ms: {3 + f}.25", "  type: 'suite'", "  ..."]
    total = files * per
    lines += [f"1..{files}", f"# tests {total}", f"# suites {files}", f"# pass {total - 1}", "# fail 1",
              "# cancelled 0", "# skipped 0", "# todo 0", "# duration_ms 812.5"]
    needles = ["not ok 4 - case 3 of suite 7", "error: 'parseDuration must reject negative values'",
               "expected: 'RangeError'", "actual: 'undefined'", "# fail 1", f"# pass {total - 1}"]
    return "\n".join(lines) + "\n", needles


def gen_go_test(n: int = 300) -> tuple[str, list[str]]:
    lines = []
    for i in range(n):
        name = f"TestHandler{i:03d}"
        lines.append(f"=== RUN   {name}")
        if i == 180:
            lines += [
                f"=== RUN   {name}/chunked",
                "    parser_test.go:88: chunk size mismatch: got 17, want 16",
                f"--- FAIL: {name} (0.00s)",
                f"    --- FAIL: {name}/chunked (0.00s)",
            ]
        else:
            lines.append(f"--- PASS: {name} (0.0{i % 10}s)")
    lines += ["FAIL", "FAIL\texample.com/httpx/parser\t0.412s", "ok  \texample.com/httpx/client\t0.020s",
              "?   \texample.com/httpx/internal/testutil\t[no test files]", "FAIL"]
    needles = ["--- FAIL: TestHandler180 (0.00s)", "parser_test.go:88: chunk size mismatch: got 17, want 16",
               "FAIL\texample.com/httpx/parser\t0.412s", "ok  \texample.com/httpx/client\t0.020s"]
    return "\n".join(lines) + "\n", needles


def gen_cargo_test(n: int = 250) -> tuple[str, list[str]]:
    lines = ["   Compiling itoa v1.0.11", "   Compiling serde v1.0.210", "   Compiling stockbook v0.3.0 (/srv/stockbook)",
             "    Finished `test` profile [unoptimized + debuginfo] target(s) in 7.91s",
             "     Running unittests src/lib.rs (target/debug/deps/stockbook-0123456789abcdef)", "",
             f"running {n} tests"]
    for i in range(n):
        lines.append(f"test inventory::tests::case_{i:03d} ... {'FAILED' if i == 99 else 'ignored' if i % 50 == 1 else 'ok'}")
    lines += [
        "", "failures:", "", "---- inventory::tests::case_099 stdout ----",
        "thread 'inventory::tests::case_099' panicked at src/inventory.rs:214:9:",
        "reserved quantity must never exceed stock on hand (sku SKU-1142)",
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace", "", "",
        "failures:", "    inventory::tests::case_099", "",
        f"test result: FAILED. {n - 1 - 5} passed; 1 failed; 5 ignored; 0 measured; 0 filtered out; finished in 0.31s",
        "", "error: test failed, to rerun pass `--lib`",
    ]
    needles = ["test inventory::tests::case_099 ... FAILED", "panicked at src/inventory.rs:214:9",
               "reserved quantity must never exceed stock on hand (sku SKU-1142)",
               f"test result: FAILED. {n - 1 - 5} passed; 1 failed", "error: test failed, to rerun pass `--lib`"]
    return "\n".join(lines) + "\n", needles


SEP = "_ " * 40


def _tb_frame(name: str, args: list[str], doc: int, body: int, raise_line: str, loc: str,
              errors: tuple[str, ...] = ()) -> list[str]:
    """One --tb=long frame: arguments, the function's source down to its ">" line, E lines, location."""
    lines = ["", *args, ""] if args else [""]
    lines += [f"    def {name}(data, *funcs, **options):", f'        """{name}: a docstring that goes on.', "    "]
    lines += [f"        Prose line {k} of the docstring of {name}, with an example below." for k in range(doc)]
    lines += ["    ", f"        >>> {name}([1, 2, 3])", "        [2, 4, 6]", '        """']
    lines += [f"        step_{k} = options.get('step_{k}', {k})  # {name} body line {k}" for k in range(body)]
    lines += [f">       {raise_line}", *errors, "", loc]
    return lines


def gen_pytest_tb_long(frames: int = 7) -> tuple[str, list[str]]:
    """pytest -x --tb=long: a chained exception raised {frames} frames below the test, long functions."""
    lines = ["=" * 29 + " test session starts " + "=" * 30, "platform linux -- Python 3.12.1, pytest-8.2.0",
             "rootdir: /srv/src/pipekit", "collected 240 items", ""]
    lines += [_pct_line("tests/test_stages_%02d.py " % k + "." * 60, k * 5) for k in range(12)]
    lines += [_pct_line("tests/test_pipeline.py " + "." * 37 + "F", 60), ""]
    lines += ["=" * 35 + " FAILURES " + "=" * 35, f"{'_' * 22} test_pipeline_rejects_bad_stage {'_' * 22}"]
    first_error = "E           KeyError: 'stage_7'"
    lines += _tb_frame("lookup_stage", ["name = 'stage_7', registry = {'stage_1': <Stage 1>, 'stage_2': <Stage 2>}"],
                       6, 12, "return registry[name]", "pipekit/registry.py:88: KeyError", (first_error,))
    lines += ["", "The above exception was the direct cause of the following exception:"]
    lines += ["", "    def test_pipeline_rejects_bad_stage():"]
    lines += [f"        stage_{k} = make_stage({k})" for k in range(15)]
    lines += [">       run_pipeline([stage_1, 'stage_7'], strict=True)", "", "tests/test_pipeline.py:212: "]
    for k in range(frames):
        args = [f"data = [{k}, {k + 1}, {k + 2}]", f"funcs = (<function stage_{k} at 0x7f00deadbe{k:02d}>,)",
                "options = {'strict': True}"]
        lines += [SEP] + _tb_frame(f"runner_{k}", args, 10, 20, f"return runner_{k + 1}(data, *funcs, **options)",
                                   f"pipekit/runner.py:{100 + 40 * k}: ")
    final_error = "E           pipekit.errors.StageError: unknown stage 'stage_7' in strict mode"
    final_loc = "pipekit/registry.py:95: StageError"
    raise_line = "raise StageError(f'unknown stage {name!r} in strict mode') from exc"
    lines += [SEP] + _tb_frame("resolve", ["name = 'stage_7'"], 8, 10, raise_line, final_loc, (final_error,))
    lines += ["=" * 28 + " short test summary info " + "=" * 27,
              "FAILED tests/test_pipeline.py::test_pipeline_rejects_bad_stage - pipekit.errors.StageError: unknown...",
              "!" * 26 + " stopping after 1 failures " + "!" * 27,
              "=" * 24 + " 1 failed, 197 passed in 3.21s " + "=" * 25]
    needles = [first_error, "pipekit/registry.py:88: KeyError",
               "The above exception was the direct cause of the following exception:", final_error, final_loc,
               "tests/test_pipeline.py::test_pipeline_rejects_bad_stage",
               "1 failed, 197 passed in 3.21s", "    def test_pipeline_rejects_bad_stage():",
               ">       run_pipeline([stage_1, 'stage_7'], strict=True)", "tests/test_pipeline.py:212: "]
    needles += [f"pipekit/runner.py:{100 + 40 * k}: " for k in range(frames)]
    needles += [f">       return runner_{k + 1}(data, *funcs, **options)" for k in range(frames)]
    return "\n".join(lines) + "\n", needles


# --------------------------------------------------------------------------- synthetic tests


def test_pytest_verbose_one_failure():
    text, needles = gen_pytest_verbose()
    assert ENGINE.detect(Part(text)) >= 0.8
    result = check(text, needles, min_reduction=0.90)
    assert result.kind == "tests"
    assert "PASSED" in result.text  # a marker says what was folded
    assert result.text.count("PASSED") < 20


def test_app_log_fatal_with_python_traceback():
    text, needles = gen_app_log()
    assert MIN_SCORE <= ENGINE.detect(Part(text)) <= PLAIN_LOG  # plain records: claimed only as a fallback
    result = check(text, needles, min_reduction=0.90)
    assert result.kind == "logs"
    # the whole chained traceback is kept as one block, in order
    block = "\n".join(needles[1:4])
    assert block in result.text
    assert "INFO" in result.text and "DEBUG" in result.text  # the marker names what was folded


def test_app_log_error_with_java_stack():
    text, needles = gen_app_log(java=True)
    assert MIN_SCORE <= ENGINE.detect(Part(text)) <= PLAIN_LOG
    result = check(text, needles, min_reduction=0.90)
    assert "\n".join(needles) in result.text  # message, frames, Caused by: and "... omitted" in one piece


def test_pytest_quiet_dots():
    text, needles = gen_pytest_quiet()
    result = check(text, needles, min_reduction=0.6)
    dots_with_f = next(line for line in text.splitlines() if "F" in line and line.startswith("."))
    assert dots_with_f in result.text  # the progress line that holds the F


def test_unittest_verbose():
    text, needles = gen_unittest()
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, needles, min_reduction=0.7)


def test_jest():
    text, needles = gen_jest()
    assert ENGINE.detect(Part(text)) >= 0.8
    result = check(text, needles, min_reduction=0.6)
    assert "    > 14 |     expect(total).toBe(107.1);" in result.text


def test_node_test_tap():
    text, needles = gen_node_tap()
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, needles, min_reduction=0.6)


def test_go_test_verbose():
    text, needles = gen_go_test()
    assert ENGINE.detect(Part(text)) >= 0.8
    result = check(text, needles, min_reduction=0.8)
    assert "=== RUN   TestHandler180" in result.text.splitlines()


def test_cargo_test_panic():
    text, needles = gen_cargo_test()
    assert ENGINE.detect(Part(text)) >= 0.8
    check(text, needles, min_reduction=0.7)


def test_pytest_tb_long_folds_frame_sources():
    text, needles = gen_pytest_tb_long()
    assert ENGINE.detect(Part(text)) >= 0.8
    result = check(text, needles, min_reduction=0.5)
    out = result.text
    assert result.kind == "tests"
    # the raising frame keeps its def line, its arguments and the source right above its ">" line
    raising = "\n".join(["name = 'stage_7'", "", "    def resolve(data, *funcs, **options):"])
    assert raising in out
    assert "        step_9 = options.get('step_9', 9)  # resolve body line 9" in out
    assert "Prose line 3 of the docstring of resolve" not in out  # docstrings and bodies folded
    assert "step_5 = options.get('step_5', 5)  # resolve body line 5" not in out
    assert "source lines" in out and "frame lines" in out  # the markers say what they hold
    # the first exception of the chain, in full, then the test's frame
    assert "\n".join(["E           KeyError: 'stage_7'", "", "pipekit/registry.py:88: KeyError", "",
                      "The above exception was the direct cause of the following exception:", "",
                      "    def test_pipeline_rejects_bad_stage():"]) in out
    assert "        stage_14 = make_stage(14)" in out and "        stage_3 = make_stage(3)" not in out


def test_pytest_tb_long_frames_between_are_short():
    """In a deep traceback the frames between the test's and the last two show their ">" line and
    location only; the last two keep def line, arguments and context."""
    text, _ = gen_pytest_tb_long(frames=7)
    result, part_id = compress(text)
    out = result.text
    assert "    def runner_6(data, *funcs, **options):" in out  # the caller of the raise
    assert "    def runner_0(data, *funcs, **options):" not in out
    assert "data = [6, 7, 8]" in out and "data = [2, 3, 4]" not in out
    assert out.count(SEP.rstrip()) == 2  # the separators above the last two frames
    # a shallow traceback keeps every frame's def line
    text, needles = gen_pytest_tb_long(frames=2)
    result = check(text, needles, min_reduction=0.4)
    assert "    def runner_0(data, *funcs, **options):" in result.text


def test_pytest_tb_long_in_read_format_and_crlf():
    plain, needles = gen_pytest_tb_long()
    numbered = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(plain.splitlines(), 1)) + "\n"
    result = check(numbered, [], min_reduction=0.4, tool_name="Read")
    kept = [line.split("\t", 1)[1] for line in result.text.splitlines() if not MARKER_RE.fullmatch(line)]
    assert [n for n in needles if not any(n in k for k in kept)] == []
    check(plain.replace("\n", "\r\n"), [n.replace("\n", "\r\n") for n in needles], min_reduction=0.4)


def test_pytest_showlocals_keeps_the_variables_of_the_failing_line():
    lines = ["=" * 35 + " FAILURES " + "=" * 35, "_" * 30 + " test_totals " + "_" * 30, "",
             "    def test_totals():"]
    lines += [f"        v{k} = compute({k})" for k in range(20)]
    lines += [">       assert grand_total == expected", "E       assert 410 == 420", ""]
    names = sorted([f"v{k}" for k in range(20)] + ["grand_total", "expected"])
    lines += [f"{name:10s} = {420 if name == 'expected' else 410 if name == 'grand_total' else 7}" for name in names]
    lines += ["", "tests/test_totals.py:31: AssertionError", "=" * 28 + " short test summary info " + "=" * 27,
              "FAILED tests/test_totals.py::test_totals - assert 410 == 420",
              "=" * 30 + " 1 failed in 0.12s " + "=" * 30]
    text = "\n".join(lines) + "\n"
    result = check(text, ["E       assert 410 == 420", "expected   = 420", "grand_total = 410",
                          "tests/test_totals.py:31: AssertionError"])
    assert "frame locals" in result.text
    assert "v13        = 7" not in result.text


def test_short_pytest_failure_report_is_kept_whole():
    text, _ = gen_pytest_verbose(n=400, fail_at=200)
    result, _ = compress(text)
    start = text.index("=" * 35 + " FAILURES ")
    report = text[start:text.index("=" * 28 + " short test summary")]
    assert report in result.text


def test_cargo_passing_suites_fold_once_one_failed():
    text, needles = gen_cargo_test(n=120)
    more = ["     Running tests/integration.rs (target/debug/deps/integration-0123456789abcdef)", "",
            "running 2 tests", "test roundtrip ... ok", "test reimport ... ok", "",
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s", "",
            "   Doc-tests stockbook", "", "running 0 tests", "",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s", "",
            "error: 1 target failed:", "    `--lib`"]
    result = check(text + "\n".join(more) + "\n", needles)
    assert "running 2 tests" not in result.text and "passing suites" in result.text
    assert "running 120 tests" in result.text  # the failing binary's
    # all passing: every suite's summary stays
    ok = text.replace(" ... FAILED", " ... ok").split("\nfailures:")[0] + "\n" + "\n".join(more[:7]) + "\n"
    result, _ = compress(ok)
    assert result is not None and "running 2 tests" in result.text


def test_read_tool_format():
    plain, needles = gen_pytest_verbose(n=600, fail_at=321)
    numbered_lines = [f"{i:>6}\t{line}" for i, line in enumerate(plain.splitlines(), 1)]
    text = "\n".join(numbered_lines) + "\n"
    assert ENGINE.detect(Part(text, tool_name="Read")) >= 0.8
    result = check(text, needles, min_reduction=0.8, tool_name="Read")
    kept = [line for line in result.text.splitlines() if not MARKER_RE.fullmatch(line)]
    # kept lines are whole original lines, line-number prefix included
    assert set(kept) <= set(numbered_lines)
    fail_line = next(line for line in numbered_lines if line.endswith("FAILED [ 53%]") or " FAILED " in line)
    assert fail_line in kept


def test_repeated_warnings_are_folded_with_a_count():
    lines = ["Collecting wheels", "Building extension"]
    warning = "/srv/app/compat.py:14: DeprecationWarning: pkg_resources is deprecated as an API"
    for i in range(40):
        lines.append(f"INFO processing batch {i}")
        lines.append(warning)
        lines.append("  import pkg_resources")
    lines += [f"INFO closing shard {i}" for i in range(6)] + ["INFO all batches processed", "Done in 4.2s"]
    text = "\n".join(lines) + "\n"
    result = check(text, [warning, "Done in 4.2s"], min_reduction=0.5)
    assert result.text.count(warning) == 1
    counts = [int(m.group(1).replace(",", "")) for m in re.finditer(r"([\d,]+) repeated warnings", result.text)]
    assert counts and sum(counts) >= 39  # every repeat (and its source line) is accounted for


def test_build_log_keeps_errors_and_warnings():
    lines = ["mkdir -p build", "checking for stdint.h... yes"]
    for i in range(60):
        lines.append(f"cc -O2 -Wall -Iinclude -c src/unit{i:02d}.c -o build/unit{i:02d}.o")
        if i == 31:
            lines += [
                "src/unit31.c: In function \u2018flush_all\u2019:",
                "src/unit31.c:77:9: error: implicit declaration of function \u2018fsync_range\u2019 [-Wimplicit-function-declaration]",
                "   77 |         fsync_range(fd, 0, len);",
                "      |         ^~~~~~~~~~~",
                "make: *** [Makefile:40: build/unit31.o] Error 1",
            ]
        if i == 45:
            lines += [
                "src/unit45.c:12:14: warning: unused variable \u2018tmp\u2019 [-Wunused-variable]",
                "   12 |     int tmp;",
                "      |         ^~~",
            ]
    lines.append("make: Target 'all' not remade because of errors.")
    text = "\n".join(lines) + "\n"
    assert ENGINE.detect(Part(text)) >= 0.8
    needles = [
        "cc -O2 -Wall -Iinclude -c src/unit31.c -o build/unit31.o",
        "src/unit31.c:77:9: error: implicit declaration of function \u2018fsync_range\u2019",
        "   77 |         fsync_range(fd, 0, len);",
        "make: *** [Makefile:40: build/unit31.o] Error 1",
        "src/unit45.c:12:14: warning: unused variable \u2018tmp\u2019 [-Wunused-variable]",
    ]
    result = check(text, needles, min_reduction=0.5)
    assert result.kind == "logs"
    assert "build output" in result.text


def test_pytest_xdist_ra_with_captured_log():
    lines = ["=" * 29 + " test session starts " + "=" * 30, "platform linux -- Python 3.11.7, pytest-8.3.4",
             "rootdir: /srv/app", "plugins: xdist-3.6.1", "created: 4/4 workers", "4 workers [300 items]", ""]
    for i in range(300):
        lines.append(f"[gw{i % 4}] [{(i + 1) * 100 // 300:3d}%] {'FAILED' if i == 150 else 'PASSED'} tests/test_api.py::test_endpoint_{i} ")
    lines += ["", "=" * 35 + " FAILURES " + "=" * 35, "_" * 30 + " test_endpoint_150 " + "_" * 30,
              "[gw2] linux -- Python 3.11.7 /srv/venv/bin/python", "", "    def test_endpoint_150(client):",
              ">       assert client.get('/api/orders/150').status_code == 200", "E       assert 500 == 200", "",
              "tests/test_api.py:1201: AssertionError", "-" * 30 + " Captured log call " + "-" * 31]
    lines += [f"INFO     app.db:db.py:{k} query {k} took 0.{k}ms" for k in range(40)]
    lines += ["ERROR    app.api:orders.py:88 order 150 has no customer; refusing to render",
              "=" * 36 + " PASSES " + "=" * 36]
    for i in range(40):
        lines += ["_" * 30 + f" test_endpoint_{i} " + "_" * 30, "-" * 30 + " Captured log call " + "-" * 31,
                  f"INFO     app.db:db.py:12 query took 0.{i}ms"]
    lines.append("=" * 28 + " short test summary info " + "=" * 27)
    lines += [f"PASSED tests/test_api.py::test_endpoint_{i}" for i in range(300) if i != 150]
    lines += ["FAILED tests/test_api.py::test_endpoint_150 - assert 500 == 200",
              "=" * 24 + " 1 failed, 299 passed in 8.12s " + "=" * 25]
    text = "\n".join(lines) + "\n"
    needles = ["FAILED tests/test_api.py::test_endpoint_150 ", "E       assert 500 == 200",
               "ERROR    app.api:orders.py:88 order 150 has no customer; refusing to render",
               "FAILED tests/test_api.py::test_endpoint_150 - assert 500 == 200", "1 failed, 299 passed in 8.12s"]
    result = check(text, needles, min_reduction=0.85)
    assert "INFO     app.db:db.py:3 query" not in result.text  # captured INFO records are folded too


def test_ci_timestamp_prefix_is_seen_through():
    stamp = "2024-06-20T08:00:{:02d}.{:07d}Z "
    lines = [stamp.format(0, 0) + "##[group]Run npm test", stamp.format(0, 1) + "##[endgroup]"]
    lines += [stamp.format(i // 100 % 60, i) + f"  \u2713 formats value {i} ({i % 5} ms)" for i in range(2, 400)]
    report = [" FAIL src/money.test.js", "  \u25cf money \u203a keeps the sign", "",
              "    expect(received).toBe(expected) // Object.is equality", "", '    Expected: "-$19.99"',
              '    Received: "$-19.99"', "", "      at Object.toBe (src/money.test.js:9:30)"]
    lines += [stamp.format(40, 400 + k) + r for k, r in enumerate(report)]
    lines += [stamp.format(50, i) + f"  \u2713 parses value {i} ({i % 5} ms)" for i in range(500, 700)]
    lines += [stamp.format(59, 0) + "Tests:       1 failed, 597 passed, 598 total",
              stamp.format(59, 1) + "##[error]Process completed with exit code 1."]
    text = "\n".join(lines) + "\n"
    result = check(text, ['Expected: "-$19.99"', 'Received: "$-19.99"', "at Object.toBe (src/money.test.js:9:30)",
                          "Tests:       1 failed, 597 passed, 598 total", "##[error]Process completed"], min_reduction=0.8)
    assert "parses value 600" not in result.text


def test_compose_prefixed_traceback_is_kept_whole():
    lines = []
    for i in range(500):
        lines.append(f"web-1  | 2024-06-20 08:00:{i % 60:02d},{i:03d} INFO [app.http] GET /api/{i} 200")
        if i == 300:
            lines += ["web-1  | 2024-06-20 08:05:00,300 ERROR [app.http] unhandled exception in request handler",
                      "web-1  | Traceback (most recent call last):"]
            for k in range(12):
                lines += [f'web-1  |   File "/app/handlers/h{k}.py", line {10 + k}, in handle{k}',
                          f"web-1  |     return next_{k}(request)"]
            lines.append("web-1  | KeyError: 'tenant_id'")
    text = "\n".join(lines) + "\n"
    block = "\n".join(lines[301:328])
    assert block.startswith("web-1  | 2024-06-20 08:05:00,300 ERROR") and block.endswith("KeyError: 'tenant_id'")
    result = check(text, [block], min_reduction=0.9)
    assert result.kind == "logs"


def test_maven_per_class_tallies_fold_and_failures_stay():
    lines = ["[INFO] Scanning for projects...", "[INFO] Building shop 1.0-SNAPSHOT", "[INFO] ", "[INFO]  T E S T S",
             "[INFO] -------------------------------------------------------"]
    for i in range(60):
        lines.append(f"[INFO] Running com.example.shop.Test{i}")
        if i == 17:
            lines += ["[ERROR] Tests run: 5, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.05 s <<< FAILURE! - in "
                      "com.example.shop.Test17",
                      "[ERROR] com.example.shop.Test17.totalIncludesTax  Time elapsed: 0.01 s  <<< FAILURE!",
                      "org.opentest4j.AssertionFailedError: expected: <107.1> but was: <110.25>",
                      "\tat com.example.shop.Test17.totalIncludesTax(Test17.java:33)"]
        else:
            lines.append(f"[INFO] Tests run: 5, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.0{i % 10} s - in "
                         f"com.example.shop.Test{i}")
    lines += ["[INFO] ", "[ERROR] Tests run: 300, Failures: 1, Errors: 0, Skipped: 0", "[INFO] BUILD FAILURE",
              "[INFO] Total time:  12.345 s", "[INFO] Finished at: 2024-06-20T08:00:00Z",
              "[INFO] ------------------------------------------------------------------------",
              "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:test"]
    text = "\n".join(lines) + "\n"
    needles = ["org.opentest4j.AssertionFailedError: expected: <107.1> but was: <110.25>",
               "at com.example.shop.Test17.totalIncludesTax(Test17.java:33)",
               "[ERROR] Tests run: 300, Failures: 1, Errors: 0, Skipped: 0", "[INFO] BUILD FAILURE"]
    assert ENGINE.detect(Part(text)) >= 0.8  # a runner's lines inside log records are still a test run
    result = check(text, needles, min_reduction=0.7)
    assert "per-suite summaries" in result.text


def _system_log(shape: str, n: int = 600) -> str:
    """A log of only records, in the shapes of an HDFS DataNode, syslog (sshd, cron, kernel) and ZooKeeper."""
    rng = random.Random(shape)
    out = []
    for _ in range(n):
        blk, ip, pid = rng.randint(10**17, 10**18), f"10.251.{rng.randint(0, 255)}.{rng.randint(0, 255)}", rng.randint(1000, 30000)
        if shape == "hdfs":
            msg = rng.choice([f"INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_{blk} terminating",
                              f"INFO dfs.DataNode$DataXceiver: Receiving block blk_-{blk} src: /{ip}:5{pid % 9999} dest: /{ip}:50010",
                              f"INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:50010 is added",
                              f"WARN dfs.DataNode$DataXceiver: {ip}:50010:Got exception while serving blk_{blk} to /{ip}:"])
            out.append(f"081109 {rng.randint(100000, 235959)} {rng.randint(10, 3000)} {msg}")
        elif shape == "syslog":
            msg = rng.choice([f"sshd(pam_unix)[{pid}]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh rhost={ip}",
                              f"sshd(pam_unix)[{pid}]: check pass; user unknown", f"crond(pam_unix)[{pid}]: session closed for user root",
                              f"kernel: usb 1-1: new full speed USB device using uhci_hcd and address {pid % 9}",
                              "logrotate: ALERT exited abnormally with [1]"])
            out.append(f"Jun {rng.randint(10, 28):2d} {rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} combo {msg}")
        else:
            msg = rng.choice([f"[QuorumPeer[myid=1]/0.0.0.0:2181:FastLeaderElection@774] - Notification time out: {pid}",
                              "[WorkerSender[myid=1]:QuorumCnxManager@368] - Cannot open channel to 3 at election address",
                              f"[NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxn@1001] - Closed socket connection for {ip}"])
            level = rng.choice(["INFO ", "INFO ", "WARN ", "ERROR"])
            out.append(f"2015-07-29 {rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)},{pid % 1000:03d} - {level} {msg}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("shape", ["hdfs", "syslog", "zookeeper"])
def test_a_system_log_scores_low(shape):
    """A log of records only is the logs engine's (it keeps each rare kind of record, where this engine folds
    every INFO line alike): the test-and-log engine claims it only as a fallback, under a test run's score."""
    log = _system_log(shape)
    assert ENGINE.detect(Part(log)) <= PLAIN_LOG
    run, _ = gen_pytest_verbose(n=300, fail_at=120)
    assert ENGINE.detect(Part(run)) >= 0.8
    # a test run (or a build) inside the log still makes it the engine's: a runner's summary and passing tests
    assert ENGINE.detect(Part(log + run)) >= 0.8


def test_go_build_diagnostics_without_error_words_are_kept():
    lines = [f"ok  \texample.com/shop/{name}\t0.{i % 9 + 1}12s" for i, name in enumerate(
        ["api", "auth", "billing", "catalog", "checkout", "config", "db", "events", "files", "geo", "http", "i18n"])]
    lines += ["# example.com/shop/cart", "./cart.go:41:9: undefined: applyDiscount",
              "./cart.go:57:14: cannot use total (variable of type float64) as int value in return statement",
              "FAIL\texample.com/shop/cart [build failed]"]
    lines += [f"ok  \texample.com/shop/zz{i}\t(cached)" for i in range(30)] + ["FAIL"]
    text = "\n".join(lines) + "\n"
    check(text, lines[:16])  # every package's own result line, and the build errors


def test_no_trailing_newline_and_crlf_round_trip():
    text, needles = gen_pytest_verbose(n=300, fail_at=100)
    check(text.rstrip("\n"), needles)
    crlf = text.replace("\n", "\r\n")
    check(crlf, [n.replace("\n", "\r\n") for n in needles])


def test_short_input_is_left_alone():
    text = "test_a ... ok\ntest_b ... ok\nRan 2 tests in 0.01s\n\nOK\n"
    result, _ = compress(text)
    assert result is None


def test_nothing_to_drop_is_left_alone():
    lines = [f"ERROR [svc] request {i} failed: upstream returned 502" for i in range(40)]
    result, _ = compress("\n".join(lines) + "\n")
    assert result is None


def test_json_and_diff_are_not_mine():
    records = [{"id": i, "status": "error" if i == 7 else "ok", "level": "info", "message": f"job {i} done"}
               for i in range(50)]
    assert ENGINE.detect(Part(json.dumps(records, indent=2))) <= 0.1
    rows = [{"id": i, "job": "unit", "status": "error" if i == 7 else "success", "error": None} for i in range(50)]
    assert ENGINE.detect(Part("\n".join(json.dumps(r) for r in rows))) <= 0.1  # JSON lines
    diff = ["diff --git a/app/log.py b/app/log.py", "index 3b18e51..a9c2f0d 100644", "--- a/app/log.py",
            "+++ b/app/log.py", "@@ -10,7 +10,8 @@ def configure(level):"]
    for i in range(60):
        diff.append(f" {'    ' * (i % 3)}handler_{i} = logging.StreamHandler()")
        if i % 9 == 0:
            diff.append(f"-    logger.error('failed to attach handler {i}')")
            diff.append(f"+    logger.warning('could not attach handler {i}: %s', exc)")
    assert ENGINE.detect(Part("\n".join(diff) + "\n")) <= 0.1


def test_code_and_prose_are_not_mine():
    code = "\n".join(
        f"def handler_{i}(request):\n    if request.failed:\n        raise ValueError('bad request {i}')\n"
        f"    return Response(status=200)\n" for i in range(30)
    )
    assert ENGINE.detect(Part(code)) <= 0.1
    prose = "\n".join(
        "The scheduler retries a failed job three times before it gives up and reports an error to the "
        f"operator; paragraph {i} explains why the back-off doubles each time." for i in range(30)
    )
    assert ENGINE.detect(Part(prose)) <= 0.1


def test_deadline_passed_raises_timeout():
    from headroom_cli.engines.base import EngineTimeout

    text, _ = gen_app_log(n=500)
    with pytest.raises(EngineTimeout):
        ENGINE.compress(Part(text), Context(part_id=ccr_id(text), deadline=deadline_after(-1)))
