"""The concurrency table of scripts/bench_proxy.py: N clients at once, direct vs through the proxy.

For each level (10 / 50 / 100 clients by default), N client threads each keep one connection and send
~95 KB Claude Code-shaped requests whose tool_result is a compressible ``pytest -v`` log (a different
log every request, so neither the memo nor the frozen decisions answer), first straight to the mock
upstream for half the level's time, then through the proxy for the other half. The proxy runs as its
own process (`headroom proxy`, as a person runs it), so the clients and the mock do not share its
GIL and its resident memory (RSS) can be read before and after each level.

Reported per level: requests per second (completed / elapsed), p50 / p99 latency of each, "added"
(proxy minus direct, of the p50s and of the p99s: the runs are concurrent, so not paired), errors (a
non-200 or a failed connection), the proxy's RSS before and after, and how long ``/headroom/stats``
took in the middle of the proxied half.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
BODY_BYTES = 95_000


@dataclass
class Level:
    clients: int
    direct_rps: float
    proxy_rps: float
    direct_p50_ms: float
    direct_p99_ms: float
    proxy_p50_ms: float
    proxy_p99_ms: float
    added_p50_ms: float
    added_p99_ms: float
    errors: int  # through the proxy
    direct_errors: int
    direct_requests: int
    proxy_requests: int
    rss_before_mb: float
    rss_after_mb: float
    stats_ms: float | None  # /headroom/stats, asked once in the middle of the proxied half
    pending_records: int | None  # the recorder's backlog then
    estimated_records: int | None  # requests whose token counts it estimated, being behind
    unrecorded: int | None  # requests the recorder dropped (its queue is bounded)


class Load:
    """N threads sending requests to ``port`` until ``stop_at``; their latencies and failures."""

    def __init__(self, port: int, clients: int, body_for: Callable[[int], bytes], stop_at: float):
        self.port, self.body_for, self.stop_at = port, body_for, stop_at
        self.latencies: list[float] = []
        self.errors = 0
        self._lock = threading.Lock()
        self._counter = iter(range(10**9))
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def run(self) -> float:
        start = time.perf_counter()
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join(timeout=max(0.0, self.stop_at - time.monotonic()) + 90)
        return time.perf_counter() - start

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while time.monotonic() < self.stop_at:
            with self._lock:
                n = next(self._counter)
            body = self.body_for(n)
            began = time.perf_counter()
            try:
                conn.request("POST", "/v1/messages?beta=true", body=body, headers=HEADERS)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            with self._lock:
                if ok:
                    self.latencies.append((time.perf_counter() - began) * 1000)
                else:
                    self.errors += 1
        conn.close()


HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "sk-ant-bench"}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linearly interpolated between the closest ranks; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux) or ps."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return round(int(out) / 1024, 1) if out.isdigit() else 0.0


class ProxyProcess:
    """`headroom proxy` on a free port, in its own process, with its own state folder."""

    def __init__(self, upstream_url: str, home: Path, extra: tuple[str, ...] = (), repo: Path = REPO):
        env = {**os.environ, "HEADROOM_HOME": str(home), "PYTHONPATH": str(repo), "COLUMNS": "200"}
        # cwd too: `python -m` puts it first on sys.path, ahead of PYTHONPATH
        self.proc = subprocess.Popen([sys.executable, "-m", "headroom_cli", "proxy", "--port", "0",
                                      "--anthropic-upstream", upstream_url, *extra], env=env, cwd=repo,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = 0
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if (found := re.search(r"http://127\.0\.0\.1:(\d+)", line)):
                self.port = int(found.group(1))
                break
        if not self.port:
            self.proc.kill()
            raise RuntimeError("the proxy did not start (no address printed)")
        # Its one line per request must be read, or the pipe fills and the proxy blocks.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stats(self) -> tuple[float, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        began = time.perf_counter()
        conn.request("GET", "/headroom/stats")
        data = conn.getresponse().read()
        took = (time.perf_counter() - began) * 1000
        conn.close()
        return took, json.loads(data)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _phase(port: int, clients: int, seconds: float, body_for: Callable[[int], bytes],
           during: Callable[[], None] | None = None) -> tuple[Load, float]:
    load = Load(port, clients, body_for, time.monotonic() + seconds)
    if during is not None:
        timer = threading.Timer(seconds / 2, during)
        timer.daemon = True
        timer.start()
    return load, load.run()


def run_level(clients: int, seconds: float, upstream_port: int, proxy: ProxyProcess,
              body_for: Callable[[int], bytes]) -> Level:
    direct, direct_s = _phase(upstream_port, clients, seconds / 2, body_for)
    rss_before = rss_mb(proxy.proc.pid)
    asked: dict = {}

    def ask_stats() -> None:
        try:
            asked["ms"], asked["stats"] = proxy.stats()
        except (OSError, ValueError):
            pass

    proxied, proxy_s = _phase(proxy.port, clients, seconds / 2, body_for, during=ask_stats)
    d50, d99 = percentile(direct.latencies, 50), percentile(direct.latencies, 99)
    p50, p99 = percentile(proxied.latencies, 50), percentile(proxied.latencies, 99)
    stats = asked.get("stats") or {}
    return Level(
        clients=clients, direct_rps=round(len(direct.latencies) / direct_s, 1),
        proxy_rps=round(len(proxied.latencies) / proxy_s, 1),
        direct_p50_ms=round(d50, 1), direct_p99_ms=round(d99, 1), proxy_p50_ms=round(p50, 1),
        proxy_p99_ms=round(p99, 1), added_p50_ms=round(p50 - d50, 1), added_p99_ms=round(p99 - d99, 1),
        errors=proxied.errors, direct_errors=direct.errors, direct_requests=len(direct.latencies),
        proxy_requests=len(proxied.latencies), rss_before_mb=rss_before, rss_after_mb=rss_mb(proxy.proc.pid),
        stats_ms=round(asked["ms"], 1) if "ms" in asked else None,
        pending_records=stats.get("pending_records"), estimated_records=stats.get("estimated_records"),
        unrecorded=stats.get("unrecorded"),
    )


def run(levels: list[int], level_seconds: float, body_for: Callable[[int], bytes], home: Path,
        progress: Callable[[str], None]) -> dict:
    from headroom_cli.mock_upstream import MockUpstream

    with MockUpstream() as upstream:
        upstream._record = lambda request: None  # thousands of 95 KB bodies: keep none
        proxy = ProxyProcess(upstream.url, home)
        try:
            _phase(proxy.port, 2, 2.0, body_for)  # warm-up: engines, connections
            rows = []
            for clients in levels:
                progress(f"{clients} concurrent clients, {level_seconds:g} s")
                rows.append(run_level(clients, level_seconds, upstream.port, proxy, body_for))
        finally:
            proxy.stop()
    return {"level_seconds": level_seconds, "body_bytes": len(body_for(0)), "levels": [asdict(r) for r in rows]}


def print_table(console, result: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if console.width < 170 and not console.is_terminal:
        console = Console(width=170)
    console.print(f"\n[bold]Concurrency[/bold]: {result['body_bytes'] / 1000:.0f} KB bodies with a compressible log, "
                  f"a new log each request, {result['level_seconds']:g} s per level (half direct, half proxied); "
                  "the proxy in its own process")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Clients", "Direct req/s", "Proxy req/s", "Direct p50 / p99", "Proxy p50 / p99", "Added p50",
                 "Added p99", "Errors", "Proxy RSS MB", "Stats ms", "Estimated", "Dropped"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in result["levels"]:
        table.add_row(str(r["clients"]), f"{r['direct_rps']:.1f}", f"{r['proxy_rps']:.1f}",
                      f"{r['direct_p50_ms']:.0f} / {r['direct_p99_ms']:.0f}",
                      f"{r['proxy_p50_ms']:.0f} / {r['proxy_p99_ms']:.0f}",
                      f"{r['added_p50_ms']:+.0f}", f"{r['added_p99_ms']:+.0f}",
                      f"{r['errors']} / {r['direct_errors']}",
                      f"{r['rss_before_mb']:.0f} → {r['rss_after_mb']:.0f}",
                      _or_dash(r["stats_ms"]), _or_dash(r["estimated_records"]), _or_dash(r["unrecorded"]))
    console.print(table)
    console.print("Latencies in ms. Added = proxied minus direct (p50 of each, p99 of each; not paired). Errors: "
                  "proxied / direct. Stats: one /headroom/stats mid-level. Estimated / Dropped: requests the savings "
                  "recorder, behind, counted by estimate / could not queue (totals since the proxy started).")


def _or_dash(value) -> str:
    return "—" if value is None else f"{value:.0f}"
