"""scripts/bench_proxy.py runs end to end with tiny settings and prints the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_proxy.py"

ROW_KEYS = {"id", "scenario", "baseline", "baseline_p50_ms", "proxied_p50_ms", "added_p50_ms", "added_p90_ms",
            "target_ms", "passed", "samples"}
LEVEL_KEYS = ["clients", "direct_rps", "proxy_rps", "added_p50_ms", "added_p99_ms", "errors",  # as bench_gateway's
              "rss_before_mb", "rss_after_mb"]
ROW_IDS = ["passthrough", "first_byte", "compress_vs_direct", "compress_vs_off", "compress_off_vs_direct"]


def test_bench_json_shape():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "3", "--warmup", "1", "--log-tokens", "3000", "--json",
         "--clients", "2,4", "--level-seconds", "3"],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert result["requests"] == 3 and result["warmup"] == 1
    assert isinstance(result["machine"]["cpu_cores"], int)
    assert 50_000 <= result["tools_json_bytes"] <= 70_000  # the ~60 KB of Claude Code tool definitions

    rows = result["scenarios"]
    assert [row["id"] for row in rows] == ROW_IDS
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["samples"] == 3
        for key in ("baseline_p50_ms", "proxied_p50_ms", "added_p50_ms", "added_p90_ms"):
            assert isinstance(row[key], (int, float))
        assert row["baseline_p50_ms"] > 0 and row["proxied_p50_ms"] > 0
        assert (row["target_ms"] is None) == (row["passed"] is None)
    assert isinstance(result["all_targets_met"], bool)

    c = result["compression"]
    assert c["requests"] == 3
    assert 2_500 <= c["tokens_before"] <= 3_500  # the generated log is sized in cl100k tokens
    assert 0 <= c["tokens_after"] <= c["tokens_before"]
    assert 0 <= c["compressed_requests"] <= 3
    assert c["compress_off_unchanged"] is True  # compression off forwards the log byte for byte
    assert result["mock_errors"] == 0

    # The concurrency table: each level, direct and proxied, with the proxy's memory.
    levels = result["concurrency"]["levels"]
    assert [level["clients"] for level in levels] == [2, 4]
    assert 90_000 <= result["concurrency"]["body_bytes"] <= 100_000
    for level in levels:
        assert set(LEVEL_KEYS) <= set(level)
        assert level["errors"] == 0 and level["direct_errors"] == 0
        assert level["direct_requests"] > 0 and level["proxy_requests"] > 0
        assert level["direct_rps"] > 0 and level["proxy_rps"] > 0
        assert level["rss_before_mb"] > 0 and level["rss_after_mb"] > 0
        assert level["stats_ms"] is not None


def test_bench_without_the_concurrency_table():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "1", "--warmup", "0", "--log-tokens", "1000", "--json",
         "--clients", "none"], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["concurrency"] is None
