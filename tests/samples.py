"""Deterministic tool outputs shaped like the real thing, for the proxy tests."""

from __future__ import annotations

FAILED_TEST = "tests/test_orders.py::test_refund_restores_stock[sku-1042]"
FAILED_MESSAGE = "AssertionError: stock for sku-1042 must be 7 after the refund, got 6"
TRACEBACK_LINE = "tests/test_orders.py:214: AssertionError"
PYTEST_SUMMARY = "1 failed, 1999 passed, 3 warnings in 41.07s"

FATAL_LINE = ("2026-03-02T11:42:10.532Z FATAL [scheduler] app.jobs - job nightly-rollup crashed: "
              "disk quota exceeded on /var/lib/app/rollups (used 100%)")
FATAL_STACK = [
    "Traceback (most recent call last):",
    '  File "/srv/app/jobs/rollup.py", line 88, in run',
    "    self.writer.flush(batch)",
    '  File "/srv/app/storage/writer.py", line 41, in flush',
    "    os.write(self.fd, payload)",
    "OSError: [Errno 122] Disk quota exceeded",
]


def pytest_verbose_log(passing: int = 1999, seed: int = 0) -> str:
    modules = ["orders", "cart", "users", "payments", "search"]
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0 -- /srv/app/.venv/bin/python",
        f"rootdir: /srv/app{'' if not seed else f'-{seed}'}",
        f"collected {passing + 1} items",
        "",
    ]
    fail_at = passing // 2
    for i in range(passing + 1):
        pct = f"[{i * 100 // (passing + 1):3d}%]"
        if i == fail_at:
            lines.append(f"{FAILED_TEST} FAILED {pct}")
            continue
        name = f"tests/test_{modules[i % 5]}.py::test_case_{i:04d}"
        lines.append(f"{name} PASSED".ljust(72) + pct)
    lines += [
        "",
        "=================================== FAILURES ===================================",
        "_____________________ test_refund_restores_stock[sku-1042] _____________________",
        "",
        "    def test_refund_restores_stock(sku):",
        "        order = place_order(sku, qty=1)",
        "        refund(order)",
        ">       assert stock(sku) == 7, f'stock for {sku} must be 7 after the refund, got {stock(sku)}'",
        f"E       {FAILED_MESSAGE}",
        "E       assert 6 == 7",
        "",
        TRACEBACK_LINE,
        "=============================== warnings summary ===============================",
        "tests/test_cart.py::test_case_0001",
        "  /srv/app/cart.py:12: DeprecationWarning: datetime.utcnow() is deprecated",
        "",
        "=========================== short test summary info ============================",
        f"FAILED {FAILED_TEST} - {FAILED_MESSAGE}",
        f"================== {PYTEST_SUMMARY} ==================",
    ]
    return "\n".join(lines) + "\n"


def app_log_with_fatal(lines: int = 3000) -> str:
    out = []
    for i in range(lines):
        level = "DEBUG" if i % 3 == 0 else "INFO "
        out.append(f"2026-03-02T11:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z {level} [worker-{i % 6}] "
                   f"app.http - handled GET /api/items/{4000 + i} in {i % 50 + 2}ms status=200")
        if i == lines * 2 // 3:
            out.append(FATAL_LINE)
            out.extend(FATAL_STACK)
    return "\n".join(out) + "\n"


# The one failure in the corpus's pytest log (conftest's `log` fixture), which integrations' answers must name.
FAILED_IN_LOG = "tests/test_more.py::ChunkedRegressionTests::test_chunked_total_length_matches_input FAILED"
