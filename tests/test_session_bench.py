"""scripts/session_bench.py replays corpus sessions through the proxy and prints what it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "session_bench.py"


def test_session_bench_json_on_short_sessions():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--sessions", "fix-failing-tests,overflow", "--turns", "10"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rows = {(r["session"], r["mode"]): r for r in result["rows"]}
    assert set(rows) == {(s, m) for s in ("fix-failing-tests", "overflow") for m in ("off", "on", "unaware")}
    off, on, unaware = (rows[("fix-failing-tests", m)] for m in ("off", "on", "unaware"))
    assert off["completed"] == on["completed"] == 10
    assert on["input_tokens"] < 0.5 * off["input_tokens"] and on["saving_vs_off"] >= 0.5
    assert on["hit_rate_vs_off"] >= -1.0 and on["cache_warnings"] == 0
    assert unaware["cache_hit_rate"] < on["cache_hit_rate"] and unaware["dollars"] > on["dollars"]
    assert unaware["input_tokens"] < 0.5 * off["input_tokens"]  # it compresses as much: only the cache rules differ
    # The big outputs early in the overflow session are refused without Headroom and fit with it.
    assert rows[("overflow", "off")]["failed_at"] is not None
    assert rows[("overflow", "on")]["completed"] == 10 and rows[("overflow", "on")]["separated_calls"] == 0
    assert set(result["targets"]) == {"net_saving_at_least_50pct", "hit_rate_not_lower", "overflow_completes_unseparated"}
    assert result["targets"]["overflow_completes_unseparated"] is True
    assert result["below_saving_target"] == [name for name in ("fix-failing-tests",) if on["saving_vs_off"] < 0.5]


def test_session_bench_table():
    done = subprocess.run([sys.executable, str(SCRIPT), "--sessions", "sdk-agent", "--turns", "4", "--modes", "off,on"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["session", "mode", "turns", "input"]
    assert any(line.startswith("sdk-agent") and " on " in line and "%" in line for line in lines)
    # No overflow session in this run: that target is not judged, not failed.
    assert any(line.startswith("targets:") and "overflow_completes_unseparated not run" in line for line in lines)
