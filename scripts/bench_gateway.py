"""Gateway throughput: N concurrent clients, direct to an upstream vs through `headroom proxy --workers W`.

For each level (10 / 50 / 100 clients by default) the clients keep one connection each and send ~95 KB
Claude Code-shaped requests, first straight to the upstream for ``--seconds``, then through the proxy for
as long: same upstream, same run. What they send is the ``--workload`` (scripts/gateway_workloads.py):

- ``conversation`` (the default): each client is one agent conversation; every request re-sends its
  history (tool outputs: test runs, service logs) and adds one new turn with a fresh tool output of a
  few KB, all streamed. This is what agents send, and what Headroom is built for: a part compressed
  once is replayed from the memo / frozen decisions whenever it is re-sent.
- ``unique``: a different ~95 KB ``pytest -v`` log every request, every other one streamed: the worst
  case, where neither the memo nor the frozen decisions answer. Kept to bound the cost from above.

The upstream is a small asyncio server in its own process (``--serve-upstream``) answering a fixed
Anthropic reply, JSON or SSE (chunked): headroom_cli/mock_upstream.py summarises every request on
threads and was itself the bottleneck (about 110 requests/s direct at 50 clients). The clients are
asyncio connections in this process; the proxy runs as `headroom proxy` would, in its own processes.

Two kinds of level. The ``--clients`` levels are closed loops: each client sends its next request as soon
as its reply comes ("as fast"), so they measure capacity (requests/s, CPU ms per request); their latency
is the queue such a loop builds by construction (about clients / requests/s: 50 clients at 150 requests/s
wait ~330 ms whatever the proxy does), not what the proxy adds to one request. The ``--rate`` level is an
open loop, as load testers such as wrk2 run one: ``--rate-clients`` clients send ``--rate`` requests/s in
all, each on its own evenly spaced schedule, and a request's latency counts from when it was due, so a
proxy that falls behind is charged every wait it causes. It answers "at this throughput, how much does
Headroom add?", which the closed loop cannot: issue 19's target (150 requests/s at 50 clients, added p50
≤ 50 ms) is that row. A paced client's bodies are made before the clock starts (Load.prepare: the same
bytes; making them took 7% of a core at 150/s, on the cores the proxy is measured on); a closed loop's
are made as it goes.

Reported per level: requests/s, p50 / p99 latency, added (proxy minus direct p50s and p99s; concurrent runs,
not paired), errors (non-200 or a failed connection), CPU ms per request (all proxy processes, counted
until they are idle again: a cost other load on the machine does not change, unlike requests/s), the
resident memory (RSS) of all proxy processes at the start of the proxied phase, 10 s in and at its end,
and the highest seen (requests in flight). ``--json`` prints one object per level, with the workload.

Memory: a worker's memos (decisions, focus reads, token counts) are bounded, and fill over its first
~3,000 requests (in-process, conversation workload: RSS +11.7 MB from request 1,000 to 3,000, +2.4 MB from
4,000 to 6,000, every memo at its bound from 3,000), about 40 s at 150 requests/s on two workers. So the
``--rate`` level first runs ``--warmup`` seconds of its own load through the proxy, not timed, and shows
the RSS when that began too: the fill is in the table, and the measured run shows whether memory then
stays flat (a leak would not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from bench_concurrency import ProxyProcess, percentile  # noqa: E402
from gateway_workloads import WORKLOADS  # noqa: E402

HEADERS = ("content-type: application/json\r\nanthropic-version: 2023-06-01\r\nx-api-key: sk-ant-bench\r\n")


# -- the upstream -------------------------------------------------------------------------------------

_REPLY = json.dumps({
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "The refund test fails because stock is restored twice."}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 9000, "output_tokens": 12, "cache_read_input_tokens": 0,
              "cache_creation_input_tokens": 0},
}).encode()
_EVENTS = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [], "stop_reason": None, "usage": {"input_tokens": 9000, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "The refund test fails "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "because stock is restored twice."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 12}}),
    ("message_stop", {"type": "message_stop"}),
]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_SSE = b"".join(_chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()) for name, data in _EVENTS) + b"0\r\n\r\n"
_JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(_REPLY)
_SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(found.group(1))) if found else b""
            if b'"stream":true' in body:
                writer.write(_SSE_HEAD + _SSE)
            else:
                writer.write(_JSON_HEAD + _REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _upstream_main(port_file: str) -> None:
    server = await asyncio.start_server(_serve_one, "127.0.0.1", 0, limit=1 << 20, backlog=1024)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


class Upstream:
    """The fast upstream in its own process."""

    def __init__(self, tmp: Path):
        port_file = tmp / "upstream.port"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(port_file)])
        self.port = int(_wait_for(lambda: port_file.exists() and port_file.read_text(), 10, "the upstream"))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {seconds:g} s")


# -- the proxy ----------------------------------------------------------------------------------------

class Proxy(ProxyProcess):
    """`headroom proxy --workers W` on a free port, with its own state folder."""

    def __init__(self, upstream_url: str, home: Path, workers: int, repo: Path):
        super().__init__(upstream_url, home, ("--workers", str(workers)) if workers > 1 else (), repo)

    def _procs(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the proxy and all its processes (workers)."""
        total = 0
        for proc in self._procs():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return round(total / 2**20, 1)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the proxy's processes have used: a per-request cost that other
        load on the machine does not change, unlike requests/s."""
        total = 0.0
        for proc in self._procs():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def settled_cpu_s(self, quiet: float = 0.05, limit_s: float = 20.0) -> float:
        """cpu_s() once the proxy is idle again: the savings recorder counts tokens after the replies."""
        deadline = time.monotonic() + limit_s
        last = self.cpu_s()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_s()
            if now - last < quiet:
                return now
            last = now
        return last

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- the clients --------------------------------------------------------------------------------------

async def _read_reply(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if found:
        await reader.readexactly(int(found.group(1)))
    elif re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        raise ConnectionError("a reply without a length")
    return status


class Load:
    """``clients`` connections sending ``workload``'s bodies for ``seconds``: each as fast as its replies
    come (a closed loop: ``rate`` None), or together at ``rate`` requests/s, each client on its own evenly
    spaced schedule (an open loop). Open-loop latency counts from when a request was due, not when it
    was sent, so a reply that comes late also charges the wait it caused the next one."""

    def __init__(self, port: int, clients: int, workload, seconds: float, first: int, rate: float | None = None):
        self.port, self.clients, self.workload, self.seconds, self.rate = port, clients, workload, seconds, rate
        self.latencies: list[float] = []
        self.errors = 0
        self._next = first
        self._clients: list = []

    def prepare(self) -> "Load":
        """The clients, and for a paced load the bodies they will send, made now (run() makes them otherwise):
        a paced client's requests are counted ahead, so making them costs the measured window nothing.
        A closed loop's clients make each body as they go (how many they send is what is measured)."""
        self._clients = [self.workload.client(i) for i in range(self.clients)]
        if self.rate:
            for number, client in enumerate(self._clients):
                client.prepare(self.requests(number))
        return self

    def requests(self, number: int) -> int:
        """How many requests paced client ``number`` sends (_schedule's count)."""
        every, start = self.clients / self.rate, number / self.rate
        return max(0, math.ceil((self.seconds - start) / every))

    async def run(self) -> float:
        clients = self._clients or self.prepare()._clients
        self._clients = []
        stop_at = time.monotonic() + self.seconds
        began = time.perf_counter()
        await asyncio.gather(*(self._client(stop_at, client, self._schedule(i, stop_at))
                               for i, client in enumerate(clients)))
        return time.perf_counter() - began

    def _schedule(self, number: int, stop_at: float):
        """When each of this client's requests is due (perf_counter), or None: as soon as the last reply came."""
        if not self.rate:
            while time.monotonic() < stop_at:
                yield None
            return
        every, due = self.clients / self.rate, time.perf_counter() + number / self.rate
        end = time.perf_counter() + (stop_at - time.monotonic())
        while due < end:
            yield due
            due += every

    async def _client(self, stop_at: float, bodies, schedule) -> None:
        conn = None
        for due in schedule:
            if due is not None and (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            n, self._next = self._next, self._next + 1
            body = bodies.next_body(n)
            began = time.perf_counter() if due is None else due
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
                reader, writer = conn
                writer.write(f"POST /v1/messages?beta=true HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\n{HEADERS}"
                             f"content-length: {len(body)}\r\n\r\n".encode() + body)
                status = await asyncio.wait_for(_read_reply(reader), 60)
                ok = status == 200
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                    ValueError, IndexError):
                ok = False
                if conn is not None:
                    conn[1].close()
                conn = None
            if ok:
                self.latencies.append((time.perf_counter() - began) * 1000)
            else:
                self.errors += 1
        if conn is not None:
            conn[1].close()


# -- a level ------------------------------------------------------------------------------------------

async def _sampled(load: Load, proxy: Proxy | None) -> tuple[float, list[float]]:
    """The load's elapsed time, and the proxy's RSS once a second meanwhile."""
    samples: list[float] = []
    task = asyncio.create_task(load.run())
    while not task.done():
        if proxy is not None:
            samples.append(await asyncio.to_thread(proxy.rss_mb))
        await asyncio.wait([task], timeout=1.0)
    if proxy is not None:
        samples.append(proxy.rss_mb())
    return task.result(), samples


async def run_level(clients: int, seconds: float, upstream: Upstream, proxy: Proxy, bodies, first: int,
                    rate: float | None = None, warmup: float = 0.0) -> dict:
    direct = Load(upstream.port, clients, bodies, seconds, first, rate).prepare()
    direct_s, _ = await _sampled(direct, None)
    # Both made before either runs, so that the measured run follows the warm-up with no pause: a pause
    # would let the workers idle (and their memory settle) just before it.
    warm = Load(proxy.port, clients, bodies, warmup, direct._next, rate).prepare() if warmup > 0 else None
    # Numbered past any the warm-up reaches (how many it sends is known only once it ran): `unique`'s
    # bodies differ by their number, and none may repeat one the workers have seen.
    proxied = Load(proxy.port, clients, bodies, seconds, direct._next + 10**7, rate).prepare()
    warm_rss: list[float] = []
    if warm is not None:  # the same load, not timed: the workers' bounded memos fill (see the module's docstring)
        _, warm_rss = await _sampled(warm, proxy)
    cpu = proxy.cpu_s()
    proxy_s, rss = await _sampled(proxied, proxy)
    cpu = await asyncio.to_thread(proxy.settled_cpu_s) - cpu
    d50, d99 = percentile(direct.latencies, 50), percentile(direct.latencies, 99)
    p50, p99 = percentile(proxied.latencies, 50), percentile(proxied.latencies, 99)
    return {
        "clients": clients, "offered_rps": rate, "direct_rps": round(len(direct.latencies) / direct_s, 1),
        "proxy_rps": round(len(proxied.latencies) / proxy_s, 1),
        "added_p50_ms": round(p50 - d50, 1), "added_p99_ms": round(p99 - d99, 1), "errors": proxied.errors,
        "direct_errors": direct.errors, "direct_p50_ms": round(d50, 1), "direct_p99_ms": round(d99, 1),
        "proxy_p50_ms": round(p50, 1), "proxy_p99_ms": round(p99, 1), "proxy_requests": len(proxied.latencies),
        "warmup_s": warmup, "rss_warmup_start_mb": warm_rss[0] if warm_rss else None,
        "rss_start_mb": rss[0], "rss_10s_mb": rss[min(10, len(rss) - 1)], "rss_end_mb": rss[-1],
        "rss_max_mb": max(rss), "rss_mb_each_5s": rss[::5], "next": proxied._next,
        "cpu_ms_per_request": round(1000 * cpu / max(1, len(proxied.latencies)), 1),
    }


async def run(levels: list[int], seconds: float, workers: int, progress, repo: Path = REPO,
              workload: str = "conversation", rate: float = 0.0, rate_clients: int = 50,
              warmup: float = 0.0) -> dict:
    """The closed-loop ``levels`` (clients each), then, with a ``rate``, ``rate_clients`` clients at that rate,
    after ``warmup`` seconds of the same load through the proxy."""
    bodies = WORKLOADS[workload]()
    load_before = os.getloadavg()[0]
    reference = host_reference_ms()
    with tempfile.TemporaryDirectory(prefix="headroom-gateway-") as tmp:
        upstream = Upstream(Path(tmp))
        proxy = Proxy(f"http://127.0.0.1:{upstream.port}", Path(tmp) / "home", workers, repo)
        try:
            await Load(proxy.port, 2 * workers, bodies, 3.0, 10**8).run()  # warm-up: engines, connections
            rows, first = [], 0
            for clients, offered in [*((c, None) for c in levels), *([(rate_clients, rate)] if rate else [])]:
                pace = f" at {offered:g} requests/s in all" if offered else ""
                warm = warmup if offered else 0.0
                then = f"{warm:g} s warm-up and " if warm else ""
                progress(f"{clients} clients{pace}: {seconds:g} s direct, {then}{seconds:g} s through "
                         f"{workers} worker(s)")
                row = await run_level(clients, seconds, upstream, proxy, bodies, first, offered, warm)
                first = row.pop("next")
                rows.append(row)
        finally:
            proxy.stop()
            upstream.stop()
    return {"workers": workers, "workload": workload, "seconds": seconds, "body_bytes": len(bodies.body(0)),
            "load_before": load_before, "load": os.getloadavg()[0], "host_reference_ms": reference, "levels": rows}


def host_reference_ms(rounds: int = 5) -> float:
    """CPU ms of a fixed task like a request's (JSON, regular expressions, tiktoken, Python loops on ~100 KB
    of test log), the median of ``rounds``. Machines of one kind differ by a third in speed, and one
    machine drifts as much: this tells two runs' hosts apart, whatever the checkout (the task is not
    Headroom's engines, so it does not change with them)."""
    import random
    import statistics

    from gateway_workloads import pytest_run
    from headroom_cli.tokens import tiktoken_count  # not count_tokens: toktok's, where installed, is 15 times faster

    text = "".join(pytest_run(random.Random(seed), 45) for seed in range(30))
    body = json.dumps({"messages": [{"role": "user", "content": text}]})
    took = []
    for _ in range(rounds):
        began = time.process_time()
        json.loads(json.dumps(json.loads(body)))
        failed = re.findall(r"(?m)^(\S+::\S+) FAILED", text)
        counts = sorted({line.split(" ", 1)[0]: len(line) for line in text.splitlines()}.items())
        tiktoken_count(text)
        took.append((time.process_time() - began) * 1000)
        assert failed and counts
    return round(statistics.median(took), 1)



def print_table(result: dict) -> None:
    shape = {"conversation": "agent conversations: history re-sent + a new tool output, streamed",
             "unique": "a new compressible log every request, half streamed"}[result["workload"]]
    print(f"{result['workers']} worker(s), workload {result['workload']} ({shape}), "
          f"~{result['body_bytes'] / 1000:.0f} KB bodies, {result['seconds']:g} s direct then {result['seconds']:g} s proxied per level; "
          f"load average {result['load_before']:.2f} before, {result['load']:.2f} after ({os.cpu_count()} cores); "
          f"host reference {result['host_reference_ms']:.1f} ms (a fixed task's CPU time: lower is a faster host)")
    print(f"{'clients':>7} {'offered/s':>9} {'direct/s':>9} {'proxy/s':>8} {'direct p50/p99':>15} {'proxy p50/p99':>15} "
          f"{'added p50':>9} {'added p99':>9} {'errors':>6} {'CPU ms/req':>10} {'RSS MB (warm-up →) start→10 s→end (max)':>40}")
    for r in result["levels"]:
        offered = f"{r['offered_rps']:g}" if r["offered_rps"] else "as fast"
        print(f"{r['clients']:>7} {offered:>9} {r['direct_rps']:>9.1f} {r['proxy_rps']:>8.1f} "
              f"{r['direct_p50_ms']:>7.0f} /{r['direct_p99_ms']:>6.0f} {r['proxy_p50_ms']:>7.0f} /{r['proxy_p99_ms']:>6.0f} "
              f"{r['added_p50_ms']:>+9.0f} {r['added_p99_ms']:>+9.0f} {r['errors']:>6} {r['cpu_ms_per_request']:>10.1f} "
              f"{_warm_rss(r):>12}{r['rss_start_mb']:.0f} → {r['rss_10s_mb']:.0f} → {r['rss_end_mb']:.0f} ({r['rss_max_mb']:.0f})")


def _warm_rss(row: dict) -> str:
    return f"({row['rss_warmup_start_mb']:.0f} →) " if row["rss_warmup_start_mb"] is not None else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Requests/s and added latency through `headroom proxy --workers N`.")
    parser.add_argument("--json", action="store_true", help="print JSON, one object per level")
    parser.add_argument("--clients", default="10,50,100", help="concurrency levels, comma-separated (10,50,100)")
    parser.add_argument("--workers", type=int, default=2, help="proxy worker processes (2)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per phase: direct, then proxied (15)")
    parser.add_argument("--rate", type=float, default=150.0,
                        help="then one level at this many requests/s in all, spread evenly over --rate-clients "
                             "(an open loop: latency at a given throughput); 0 skips it (150)")
    parser.add_argument("--rate-clients", type=int, default=50, help="clients of the --rate level (50)")
    parser.add_argument("--warmup", type=float, default=45.0,
                        help="seconds of the --rate level's load through the proxy before it is measured, so that "
                             "its memory is read with the workers' bounded memos full (45: about 3,000 requests a "
                             "worker at 150 requests/s on two; 0 skips)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="conversation",
                        help="what the clients send: agent conversations (default) or a new log every request")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the checkout whose headroom_cli the proxy runs (to compare a branch with main)")
    parser.add_argument("--serve-upstream", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_upstream:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # at once: open connections are not news
        asyncio.run(_upstream_main(args.serve_upstream))
        return 0
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    result = asyncio.run(run(levels, args.seconds, args.workers,
                             lambda step: print(step, file=sys.stderr, flush=True), args.repo, args.workload,
                             args.rate, args.rate_clients, args.warmup))
    if args.json:
        print(json.dumps([{"workload": args.workload, "host_reference_ms": result["host_reference_ms"], **level}
                          for level in result["levels"]]))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
