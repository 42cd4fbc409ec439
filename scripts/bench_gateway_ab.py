"""Two checkouts' proxies compared on a busy machine: both up at once, measured in turns.

scripts/bench_gateway.py runs one proxy after another (`--repo`), and on a shared 2-core machine the
speed of the host itself drifts by a third within minutes: a change worth 5% is lost in it. Here both
proxies (`headroom proxy --workers W` from checkout A and from checkout B, each with its own state folder)
start against one upstream, and then each gets ``--seconds`` of closed-loop load from ``--clients``
clients in turn, ``--rounds`` times, alternating which goes first. Each round prints both proxies' CPU ms
per request (all their processes, counted until idle again) and requests/s; the verdict is the median of
the rounds' B/A ratios, which the host's drift moves far less than either side alone.

    .venv/bin/python scripts/bench_gateway_ab.py --a ../main-before --b . [--rounds 6] [--seconds 8] [--json]

``--a-env`` / ``--b-env`` (``NAME=VALUE,...``) set environment variables for one side only: the same
checkout with a setting on and off.

``--rate R`` paces the turns instead (an open loop, as bench_gateway's ``--rate`` level: R requests/s
over ``--clients`` clients, latency counted from when a request was due): then the rounds also compare
the p50 latency, which near a proxy's limit moves far more than its CPU, and as much with the host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import bench_gateway as gateway  # noqa: E402
from bench_concurrency import percentile  # noqa: E402
from gateway_workloads import WORKLOADS  # noqa: E402


def _environment(spec: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in spec.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"bench_gateway_ab: expected NAME=VALUE,... but got {spec!r}")
    return dict(pairs)


def _start(upstream: gateway.Upstream, home: Path, repo: Path, env: dict[str, str], workers: int) -> gateway.Proxy:
    saved = dict(os.environ)
    os.environ.update(env)  # the proxy process inherits it (bench_concurrency.ProxyProcess)
    try:
        return gateway.Proxy(f"http://127.0.0.1:{upstream.port}", home, workers, repo)
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _turn(proxy: gateway.Proxy, workload, clients: int, seconds: float, first: int,
                rate: float | None = None) -> dict:
    load = gateway.Load(proxy.port, clients, workload, seconds, first, rate).prepare()
    cpu = await asyncio.to_thread(proxy.settled_cpu_s)
    took = await load.run()
    cpu = await asyncio.to_thread(proxy.settled_cpu_s) - cpu
    done = len(load.latencies)
    return {"cpu_ms_per_request": round(1000 * cpu / max(1, done), 2), "rps": round(done / took, 1),
            "p50_ms": round(percentile(load.latencies, 50), 1), "errors": load.errors}


async def run(args: argparse.Namespace, progress) -> list[dict]:
    workload = WORKLOADS[args.workload]()
    with tempfile.TemporaryDirectory(prefix="headroom-gateway-ab-") as tmp:
        upstream = gateway.Upstream(Path(tmp))
        proxies = {}
        try:
            for side, repo, env in (("A", args.a, args.a_env), ("B", args.b, args.b_env)):
                proxies[side] = _start(upstream, Path(tmp) / side, repo.resolve(), _environment(env), args.workers)
                await gateway.Load(proxies[side].port, 2 * args.workers, workload, 3.0, 10**8).run()  # warm-up
            rounds = []
            for number in range(args.rounds):
                row: dict = {"round": number + 1}
                for side in ("A", "B") if number % 2 == 0 else ("B", "A"):
                    row[side] = await _turn(proxies[side], workload, args.clients, args.seconds, number * 100_000,
                                            args.rate or None)
                row["cpu_ratio"] = round(row["B"]["cpu_ms_per_request"] / row["A"]["cpu_ms_per_request"], 3)
                row["p50_ratio"] = round(row["B"]["p50_ms"] / max(0.1, row["A"]["p50_ms"]), 3)
                progress(row)
                rounds.append(row)
        finally:
            for proxy in proxies.values():
                proxy.stop()
            upstream.stop()
    return rounds


def _print_round(row: dict) -> None:
    a, b = row["A"], row["B"]
    print(f"{row['round']:>5} {a['cpu_ms_per_request']:>10.2f} {a['rps']:>7.1f} {a['p50_ms']:>7.1f} "
          f"{b['cpu_ms_per_request']:>10.2f} {b['rps']:>7.1f} {b['p50_ms']:>7.1f} {row['cpu_ratio']:>8.3f} "
          f"{a['errors'] + b['errors']:>6}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Two checkouts' proxies, up at once, measured in turns "
                                                 "(CPU ms per request and requests/s, B against A).")
    parser.add_argument("--a", type=Path, required=True, help="checkout A (the baseline)")
    parser.add_argument("--b", type=Path, default=REPO, help="checkout B (this one)")
    parser.add_argument("--a-env", default="", help="NAME=VALUE,... for A's proxy only")
    parser.add_argument("--b-env", default="", help="NAME=VALUE,... for B's proxy only")
    parser.add_argument("--rounds", type=int, default=6, help="turns each (6)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of load per turn (8)")
    parser.add_argument("--clients", type=int, default=50, help="clients (50)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests/s in all, paced (an open loop); 0: each client as fast as its replies (0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each proxy (2)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="conversation")
    parser.add_argument("--json", action="store_true", help="print the rounds and the medians as JSON")
    args = parser.parse_args(argv)
    if not args.json:
        pace = f"paced at {args.rate:g} requests/s" if args.rate else "closed loop"
        print(f"A: {args.a} {args.a_env}\nB: {args.b} {args.b_env}\n{args.clients} clients ({pace}), {args.workers} "
              f"worker(s) each, {args.workload} workload, {args.seconds:g} s a turn")
        print(f"{'round':>5} {'A CPU ms':>10} {'A req/s':>7} {'A p50':>7} {'B CPU ms':>10} {'B req/s':>7} {'B p50':>7} "
              f"{'B/A CPU':>8} {'errors':>6}")
    rounds = asyncio.run(run(args, (lambda row: None) if args.json else _print_round))
    summary = {side: {"cpu_ms_per_request": statistics.median(r[side]["cpu_ms_per_request"] for r in rounds),
                      "rps": statistics.median(r[side]["rps"] for r in rounds),
                      "p50_ms": statistics.median(r[side]["p50_ms"] for r in rounds)} for side in ("A", "B")}
    summary["cpu_ratio"] = statistics.median(r["cpu_ratio"] for r in rounds)
    summary["p50_ratio"] = statistics.median(r["p50_ratio"] for r in rounds)
    if args.json:
        print(json.dumps({"rounds": rounds, "median": summary}))
    else:
        print(f"median  A {summary['A']['cpu_ms_per_request']:.2f} ms, {summary['A']['rps']:.1f}/s, p50 "
              f"{summary['A']['p50_ms']:.0f} ms   B {summary['B']['cpu_ms_per_request']:.2f} ms, {summary['B']['rps']:.1f}/s, "
              f"p50 {summary['B']['p50_ms']:.0f} ms   B/A CPU (median of the rounds' ratios) {summary['cpu_ratio']:.3f}, "
              f"p50 {summary['p50_ratio']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
