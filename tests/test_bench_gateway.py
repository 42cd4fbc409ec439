"""scripts/bench_gateway.py runs end to end with tiny settings (two workers) and prints the JSON it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_gateway.py"
KEYS = {"clients", "direct_rps", "proxy_rps", "added_p50_ms", "added_p99_ms", "errors"}


def test_bench_gateway_json_shape():
    done = subprocess.run([sys.executable, str(SCRIPT), "--json", "--clients", "2,3", "--seconds", "1.5",
                           "--workers", "2"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    levels = json.loads(done.stdout)
    assert [level["clients"] for level in levels] == [2, 3]
    for level in levels:
        assert KEYS <= set(level)
        assert level["errors"] == 0 and level["direct_errors"] == 0
        assert level["proxy_rps"] > 0 and level["direct_rps"] > 0
        assert level["proxy_requests"] > 0 and level["cpu_ms_per_request"] > 0
        assert level["rss_start_mb"] > 50  # two workers' engines, at least
        assert level["rss_start_mb"] <= level["rss_max_mb"] and level["rss_10s_mb"] <= level["rss_max_mb"]
