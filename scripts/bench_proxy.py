#!/usr/bin/env python3
"""Latency benchmark: what the Headroom proxy adds to a request, against a local mock upstream.

Runs the stdlib mock of the Anthropic API and the in-process proxy (mitmproxy in a background thread),
then times the same requests sent straight to the mock ("direct") and through the proxy ("proxied"):

1. Passthrough: a Claude Code-shaped ``/v1/messages?beta=true`` request (system blocks, 24 tool
   definitions of ~60 KB, a short tool_result, so nothing is compressible), non-streamed, to the last byte.
2. First streamed byte: the same request with ``"stream": true``, to the first SSE line of the body.
3. A ~50K-token ``pytest -v`` log as the tool_result: compression on vs direct, and vs the proxy with
   compression off. Every request carries a different log, so the proxy's memo never answers.
4. Concurrency (scripts/bench_concurrency.py): 10 / 50 / 100 clients at once with ~95 KB bodies holding
   a compressible log, direct vs through `headroom proxy` in its own process: requests per second,
   added p50 / p99, errors, the proxy's RSS before and after each level.

Compression off is the same proxy with its addon's ``compress`` setting switched off just before each
such request (requests are sequential, so none sees the other's setting). A second ProxyServer in the
same process would not do: mitmproxy hands every new connection to the most recently created Master
(``ctx.master`` is process-global), so both ports would run the second proxy's addon.

Each scenario uses one kept-alive connection per target, warms it up, then interleaves the targets
request by request (alternating which goes first), so machine noise hits all of them alike. "Added"
is the median / p90 of the per-round differences (proxied minus baseline of the same round).

    .venv/bin/python scripts/bench_proxy.py                 # a table
    .venv/bin/python scripts/bench_proxy.py --json          # a JSON object instead
    .venv/bin/python scripts/bench_proxy.py --requests 100 --warmup 10
    .venv/bin/python scripts/bench_proxy.py --clients 10,50,100 --level-seconds 30   # the defaults
    .venv/bin/python scripts/bench_proxy.py --clients none                             # no concurrency table

Exits 0 even when a target is missed: it measures, the tests judge.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "scripts"):  # run as a plain file from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import bench_concurrency  # noqa: E402

from headroom_cli.config import Settings  # noqa: E402
from headroom_cli.mock_upstream import MockUpstream  # noqa: E402
from headroom_cli.proxy.server import ProxyServer  # noqa: E402
from headroom_cli.tokens import count_tokens  # noqa: E402

MESSAGES_PATH = "/v1/messages?beta=true"
MIN_REQUESTS = 20  # fewer than this and the medians are only indicative
SSE_DELAY_S = 0.005  # between the mock's SSE events, so the first byte comes well before the last
TOOL_USE_ID = "toolu_01Bench000000000000000001"
TOOLS_BYTES = 60_000  # the JSON size the 24 tool definitions are padded to

TARGET_PASSTHROUGH_MS = 5.0
TARGET_FIRST_BYTE_MS = 5.0
TARGET_COMPRESS_MS = 50.0

HEADERS = {  # what Claude Code sends, less the secrets
    "content-type": "application/json",
    "accept": "application/json",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
    "anthropic-dangerous-direct-browser-access": "true",
    "user-agent": "claude-cli/2.0.14 (external, cli)",
    "x-app": "cli",
    "x-api-key": "sk-ant-bench-not-a-real-key",
    "x-stainless-lang": "js",
    "x-stainless-runtime": "node",
    "x-stainless-retry-count": "0",
}


# ------------------------------------------------------------------------------------------ request bodies

TOOL_NAMES = [
    "Task", "Bash", "Glob", "Grep", "ExitPlanMode", "Read", "Edit", "MultiEdit", "Write", "NotebookEdit",
    "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell", "SlashCommand", "Skill",
    "AskUserQuestion", "ListMcpResourcesTool", "ReadMcpResourceTool", "mcp__github__create_pull_request",
    "mcp__github__get_issue", "mcp__playwright__browser_navigate", "mcp__playwright__browser_snapshot",
]
_PROSE = (
    "Use this tool when the task calls for it and prefer it over shell equivalents. Paths must be absolute. "
    "Results longer than the output limit are truncated, so narrow the request first. Never guess at values "
    "you can look up, and batch independent calls in a single message when you can. "
)


def tool_definitions(total_bytes: int = TOOLS_BYTES) -> list[dict]:
    """24 tool definitions shaped like Claude Code's, padded to about ``total_bytes`` of JSON."""
    per_tool = total_bytes // len(TOOL_NAMES)
    tools = []
    for name in TOOL_NAMES:
        schema = {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command or query to run"},
                "path": {"type": "string", "description": "The absolute path to work on"},
                "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
            },
            "required": ["command"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        }
        tool = {"name": name, "description": "", "input_schema": schema}
        room = max(0, per_tool - len(json.dumps(tool)))
        tool["description"] = f"{name}: " + (_PROSE * (room // len(_PROSE) + 1))[:room]
        tools.append(tool)
    return tools


def system_blocks() -> list[dict]:
    rules = "".join(f"- Rule {i}: keep answers short, follow the repository's conventions, run the tests.\n"
                    for i in range(120))
    return [
        {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
         "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "You are an interactive CLI tool that helps users with software engineering "
                                 "tasks.\n\n# Rules\n" + rules, "cache_control": {"type": "ephemeral"}},
    ]


def claude_code_body(tools: list[dict], tool_output: str, *, stream: bool) -> bytes:
    """A Claude Code turn after one Bash call: its output is the request's only tool_result."""
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "temperature": 1,
        "system": system_blocks(),
        "tools": tools,
        "metadata": {"user_id": "user_bench_account__session_00000000-0000-4000-8000-000000000000"},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>\nAs you answer the user's questions, you can use "
                                         "the following context: the repository is a Python web shop.\n"
                                         "</system-reminder>"},
                {"type": "text", "text": "The order tests fail. Run them and fix the bug."},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll run the order tests first."},
                {"type": "tool_use", "id": TOOL_USE_ID, "name": "Bash",
                 "input": {"command": "python -m pytest -v", "description": "Run the test suite"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": TOOL_USE_ID, "content": tool_output,
                 "cache_control": {"type": "ephemeral"}},
            ]},
        ],
        "stream": stream,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


SHORT_OUTPUT = (  # under the pipeline's 1,000-character floor: never compressed
    "On branch main\nYour branch is up to date with 'origin/main'.\n\nChanges not staged for commit:\n"
    "  (use \"git add <file>...\" to update what will be committed)\n\tmodified:   shop/orders.py\n"
    "\tmodified:   tests/test_orders.py\n\nno changes added to commit (use \"git add\" and/or \"git commit -a\")\n"
)

_MODULES = ["orders", "cart", "users", "payments", "search", "inventory", "shipping", "auth"]
FAILED_TEST = "tests/test_orders.py::test_refund_restores_stock[sku-1042]"


def pytest_log(passing: int, seed: int) -> str:
    """A ``pytest -v`` run: ``passing`` PASSED lines, one FAILED test with its traceback, a summary.

    ``seed`` changes the randomisation seed line and the duration, so no two logs are the same text.
    """
    total = passing + 1
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0 -- /home/dev/shop/.venv/bin/python",
        "cachedir: .pytest_cache",
        f"Using --randomly-seed={1_000_003 * (seed + 1) % 4_294_967_291}",
        "rootdir: /home/dev/shop",
        "configfile: pyproject.toml",
        "plugins: randomly-3.15.0, cov-5.0.0, xdist-3.6.1",
        f"collected {total} items",
        "",
    ]
    fail_at = total * 2 // 3
    for i in range(total):
        pct = f"[{i * 100 // total:3d}%]"
        if i == fail_at:
            lines.append(f"{FAILED_TEST} FAILED".ljust(72) + pct)
            continue
        module = _MODULES[i % len(_MODULES)]
        lines.append(f"tests/test_{module}.py::test_{module}_case_{i:05d} PASSED".ljust(72) + pct)
    lines += [
        "",
        "=================================== FAILURES ===================================",
        "__________________ test_refund_restores_stock[sku-1042] __________________",
        "",
        "sku = 'sku-1042'",
        "",
        "    def test_refund_restores_stock(sku):",
        "        order = place_order(sku, qty=1)",
        "        refund(order)",
        ">       assert stock(sku) == 7, f'stock for {sku} must be 7 after the refund, got {stock(sku)}'",
        "E       AssertionError: stock for sku-1042 must be 7 after the refund, got 6",
        "E       assert 6 == 7",
        "E        +  where 6 = stock('sku-1042')",
        "",
        "tests/test_orders.py:214: AssertionError",
        "=========================== short test summary info ============================",
        f"FAILED {FAILED_TEST} - AssertionError: stock for sku-1042 must be 7 after the refund, got 6",
        f"================== 1 failed, {passing} passed in {40 + seed % 997 / 100:.2f}s ==================",
    ]
    return "\n".join(lines) + "\n"


def passing_for_tokens(target_tokens: int) -> int:
    """How many PASSED lines make a log of about ``target_tokens`` cl100k tokens."""
    small, large = 200, 2200
    t_small, t_large = count_tokens(pytest_log(small, 0)), count_tokens(pytest_log(large, 0))
    per_line = (t_large - t_small) / (large - small)
    return max(1, round(large + (target_tokens - t_large) / per_line))


# ------------------------------------------------------------------------------------------------ timing

@dataclass
class Target:
    """One place requests go to, over one kept-alive connection; ``prepare`` runs before each request."""

    name: str
    url: str
    prepare: Callable[[], None] = lambda: None
    conn: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def close(self) -> None:
        self.conn.close()


def timed_request(target: Target, body: bytes, headers: dict, first_byte: bool) -> float:
    """Milliseconds from sending to the whole reply (or, with ``first_byte``, its first body line)."""
    target.prepare()
    start = time.perf_counter()
    target.conn.request("POST", MESSAGES_PATH, body=body, headers=headers)
    response = target.conn.getresponse()
    if first_byte:
        first = response.readline()
        elapsed = time.perf_counter() - start
        rest = response.read()  # drain, outside the timing, so the connection can be reused
        data = first + rest
    else:
        data = response.read()
        elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{target.name}: HTTP {response.status}: {data[:300]!r}")
    if first_byte and not first.startswith(b"event:"):
        raise RuntimeError(f"{target.name}: the stream did not start with an SSE event: {first[:100]!r}")
    return elapsed * 1000


def run_rounds(targets: list[Target], body_for: Callable[[int], bytes], *, rounds: int, warmup: int,
               first_byte: bool = False, extra_headers: dict | None = None) -> dict[str, list[float]]:
    """Interleave the targets request by request; return each one's timings, warm-up left out."""
    times: dict[str, list[float]] = {t.name: [] for t in targets}
    for i in range(warmup + rounds):
        body = body_for(i)
        order = targets if i % 2 == 0 else targets[::-1]  # alternate who goes first
        for target in order:
            headers = {**HEADERS, **(extra_headers or {}), "x-bench-target": target.name, "x-bench-round": str(i)}
            ms = timed_request(target, body, headers, first_byte)
            if i >= warmup:
                times[target.name].append(ms)
    return times


# ------------------------------------------------------------------------------------------------- stats

@dataclass
class Row:
    id: str
    scenario: str
    baseline: str  # what "added" is measured against
    baseline_p50_ms: float
    proxied_p50_ms: float
    added_p50_ms: float
    added_p90_ms: float
    target_ms: float | None
    passed: bool | None
    samples: int


def compare(row_id: str, scenario: str, baseline_name: str, baseline: list[float], proxied: list[float],
            target_ms: float | None) -> Row:
    added = [p - b for p, b in zip(proxied, baseline)]  # same round, so paired
    added_p50 = statistics.median(added)
    return Row(
        id=row_id, scenario=scenario, baseline=baseline_name,
        baseline_p50_ms=round(statistics.median(baseline), 3), proxied_p50_ms=round(statistics.median(proxied), 3),
        added_p50_ms=round(added_p50, 3), added_p90_ms=round(bench_concurrency.percentile(added, 90), 3),
        target_ms=target_ms, passed=None if target_ms is None else added_p50 <= target_ms, samples=len(added),
    )


# --------------------------------------------------------------------------------------------- scenarios

@dataclass
class Bench:
    """The mock upstream and the proxy every scenario shares."""

    upstream: MockUpstream
    proxy: ProxyServer
    tools: list[dict]
    requests: int
    warmup: int

    def targets(self, *names: str) -> list[Target]:
        return [self._target(name) for name in names]

    def _target(self, name: str) -> Target:
        if name == "direct":
            return Target(name, self.upstream.url)
        compress = name != "proxy-compress-off"  # "proxy" is the proxy as shipped: compression on
        return Target(name, self.proxy.url, lambda: set_compress(self.proxy, compress))


def set_compress(proxy: ProxyServer, on: bool) -> None:
    """Switch the running proxy's compression (read by its request hook for each request)."""
    if proxy.addon.settings.compress != on:
        proxy.addon.settings = replace(proxy.addon.settings, compress=on)


def bench_passthrough(bench: Bench) -> list[Row]:
    body = claude_code_body(bench.tools, SHORT_OUTPUT, stream=False)
    times = _run(bench, ["direct", "proxy"], lambda i: body)
    return [compare("passthrough", "Passthrough, JSON", "direct",
                    times["direct"], times["proxy"], TARGET_PASSTHROUGH_MS)]


def bench_first_byte(bench: Bench) -> list[Row]:
    body = claude_code_body(bench.tools, SHORT_OUTPUT, stream=True)
    times = _run(bench, ["direct", "proxy"], lambda i: body, first_byte=True,
                 extra_headers={"x-mock-sse-delay": str(SSE_DELAY_S)})
    return [compare("first_byte", "Streamed, 1st byte", "direct",
                    times["direct"], times["proxy"], TARGET_FIRST_BYTE_MS)]


@dataclass
class Compression:
    """What the upstream received as the log's tool_result, in cl100k tokens (medians over requests)."""

    tokens_before: int
    tokens_after: int
    percent_saved: float
    compressed_requests: int
    requests: int
    compress_off_unchanged: bool  # the compression-off proxy forwarded every log byte for byte


def bench_compression(bench: Bench, log_tokens: int) -> tuple[list[Row], Compression]:
    passing = passing_for_tokens(log_tokens)
    logs = [pytest_log(passing, seed) for seed in range(bench.warmup + bench.requests)]
    bodies = [claude_code_body(bench.tools, text, stream=False) for text in logs]
    names = ["direct", "proxy-compress-on", "proxy-compress-off"]
    times = _run(bench, names, lambda i: bodies[i])
    log = f"{log_tokens / 1000:g}K-token log"
    on, off, direct = times["proxy-compress-on"], times["proxy-compress-off"], times["direct"]
    rows = [
        compare("compress_vs_direct", f"{log}, compress on", "direct", direct, on, TARGET_COMPRESS_MS),
        compare("compress_vs_off", f"{log}, compress on", "compress off", off, on, TARGET_COMPRESS_MS),
        compare("compress_off_vs_direct", f"{log}, compress off", "direct", direct, off, None),
    ]
    return rows, received_tokens(bench, logs)


def received_tokens(bench: Bench, logs: list[str]) -> Compression:
    """Read the measured rounds' tool_results back from the mock's record and count their tokens."""
    got: dict[str, dict[int, str]] = {"proxy-compress-on": {}, "proxy-compress-off": {}}
    for request in bench.upstream.requests:
        name, round_no = request.headers.get("x-bench-target"), int(request.headers.get("x-bench-round", -1))
        if name in got and round_no >= bench.warmup and request.path == "/v1/messages":
            results = bench.upstream.tool_results(request)
            if results:
                got[name][round_no] = results[0]["text"]
    on = got["proxy-compress-on"]
    before = [count_tokens(logs[i]) for i in on] or [0]
    after = [count_tokens(text) for text in on.values()] or [0]
    b, a = int(statistics.median(before)), int(statistics.median(after))
    return Compression(
        tokens_before=b, tokens_after=a, percent_saved=round(100 * (b - a) / b, 2) if b else 0.0,
        compressed_requests=sum(text != logs[i] for i, text in on.items()), requests=len(on),
        compress_off_unchanged=all(text == logs[i] for i, text in got["proxy-compress-off"].items()),
    )


def _run(bench: Bench, names: list[str], body_for: Callable[[int], bytes], **kwargs) -> dict[str, list[float]]:
    targets = bench.targets(*names)
    try:
        return run_rounds(targets, body_for, rounds=bench.requests, warmup=bench.warmup, **kwargs)
    finally:
        for target in targets:
            target.close()


# ------------------------------------------------------------------------------------------ environment

class WarningCollector(logging.Handler):
    """Keeps the proxy's warnings (an engine past its budget, a failed engine) for the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.name}: {record.getMessage()}"[:300]] += 1


def machine() -> dict:
    from mitmproxy.version import VERSION as mitmproxy_version
    return {"cpu_cores": os.cpu_count(), "platform": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(), "mitmproxy": mitmproxy_version}


def engine_present() -> bool:
    return importlib.util.find_spec("headroom_cli.engines.testlog") is not None


def start_proxy(upstream: MockUpstream, home: Path, compress: bool) -> ProxyServer:
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url, openai_upstream=upstream.url,
                        compress=compress, home=home)
    return ProxyServer(settings).start()


def concurrency_body(n: int) -> bytes:
    """About 95 KB: a Claude Code turn (no tool definitions) whose tool_result is a new pytest log."""
    return claude_code_body([], pytest_log(_CONCURRENCY_PASSING, n), stream=False)


_CONCURRENCY_PASSING = 1030  # PASSED lines for a body of about bench_concurrency.BODY_BYTES


def run(requests: int, warmup: int, log_tokens: int, progress: Callable[[str], None],
        clients: list[int] | None = None, level_seconds: float = 30.0) -> dict:
    collector = WarningCollector()
    logging.getLogger().addHandler(collector)  # also keeps them off stderr
    try:
        with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp, MockUpstream() as upstream:
            proxy = start_proxy(upstream, Path(tmp), compress=True)
            bench = Bench(upstream, proxy, tool_definitions(), requests, warmup)
            try:
                progress("passthrough, non-streamed")
                rows = bench_passthrough(bench)
                progress("streamed, first byte")
                rows += bench_first_byte(bench)
                progress(f"{log_tokens // 1000}K-token log, compression on / off")
                compress_rows, compression = bench_compression(bench, log_tokens)
                rows += compress_rows
            finally:
                proxy.stop()
            mock_errors = upstream.errors
        concurrency = None
        if clients:
            with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
                concurrency = bench_concurrency.run(clients, level_seconds, concurrency_body, Path(tmp), progress)
    finally:
        logging.getLogger().removeHandler(collector)
    return {
        "concurrency": concurrency,
        "machine": machine(),
        "requests": requests,
        "warmup": warmup,
        "tools_json_bytes": len(json.dumps(bench.tools, separators=(",", ":"))),
        "compression_engine_present": engine_present(),
        "scenarios": [asdict(row) for row in rows],
        "compression": asdict(compression),
        "all_targets_met": all(row.passed for row in rows if row.passed is not None),
        "proxy_warnings": dict(collector.counts.most_common(10)),
        "mock_errors": len(mock_errors),
    }


# ------------------------------------------------------------------------------------------------ report

def print_report(result: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # a file or a pipe: no need to wrap at 80 columns
    m = result["machine"]
    console.print(f"[bold]Headroom proxy latency[/bold]: {result['requests']} requests per target "
                  f"(+{result['warmup']} warm-up, left out), interleaved on kept-alive connections")
    console.print(f"Machine: {m['cpu_cores']} CPU cores, {m['platform']}, Python {m['python']}, "
                  f"mitmproxy {m['mitmproxy']} (mock, proxy and client in one process)")
    if result["requests"] < MIN_REQUESTS:
        console.print(f"[yellow]Fewer than {MIN_REQUESTS} requests: the numbers are only indicative.[/yellow]")

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in [("Scenario", "left"), ("Baseline", "left"), ("Baseline p50", "right"),
                          ("Proxied p50", "right"), ("Added p50", "right"), ("Added p90", "right"),
                          ("Target", "right"), ("Result", "left")]:
        table.add_column(name, justify=justify, no_wrap=True)
    for row in result["scenarios"]:
        verdict = "—" if row["passed"] is None else ("[green]PASS[/green]" if row["passed"] else "[red]FAIL[/red]")
        target = "—" if row["target_ms"] is None else f"≤ {row['target_ms']:g}"
        table.add_row(row["scenario"], row["baseline"], _ms(row["baseline_p50_ms"]), _ms(row["proxied_p50_ms"]),
                      _ms(row["added_p50_ms"], signed=True), _ms(row["added_p90_ms"], signed=True), target, verdict)
    console.print(table)
    console.print("Times in ms. Added = median / p90 of the per-round differences "
                  "(proxied minus baseline, same round).")
    _print_compression(console, result)
    for message, count in result["proxy_warnings"].items():
        console.print(f"[yellow]proxy warning ×{count}[/yellow]: {message}")
    if result["mock_errors"]:
        console.print(f"[red]the mock upstream hit {result['mock_errors']} internal errors[/red]")
    if result["concurrency"]:
        bench_concurrency.print_table(console, result["concurrency"])


def _print_compression(console, result: dict) -> None:
    c = result["compression"]
    console.print(f"Log tool_result received upstream (cl100k, median): {c['tokens_before']:,} → "
                  f"{c['tokens_after']:,} tokens ({c['percent_saved']:.1f}% saved), "
                  f"compressed in {c['compressed_requests']}/{c['requests']} requests.")
    if not c["compress_off_unchanged"]:
        console.print("[red]With compression off the proxy still changed a log on its way upstream.[/red]")
    if c["compressed_requests"] == 0:
        why = ("the test/log engine did not compress it (see any warnings below)"
               if result["compression_engine_present"] else "headroom_cli/engines/testlog/ is missing")
        console.print(f"[yellow]Nothing was compressed: {why}. The compression rows measure the pipeline's "
                      f"overhead only.[/yellow]")


def _ms(value: float, signed: bool = False) -> str:
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time what the Headroom proxy adds to requests (mock upstream).")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per target and scenario (50)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up requests per target, left out (5)")
    parser.add_argument("--log-tokens", type=int, default=50_000, help="size of the generated pytest log (50000)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of the table")
    parser.add_argument("--clients", default="10,50,100",
                        help="concurrency levels, comma-separated, or 'none' (10,50,100)")
    parser.add_argument("--level-seconds", type=float, default=30.0,
                        help="seconds per concurrency level, half direct and half proxied (30)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.log_tokens < 1_000:
        parser.error("--requests must be ≥ 1, --warmup ≥ 0 and --log-tokens ≥ 1000")
    try:
        clients = [] if args.clients == "none" else [int(c) for c in args.clients.split(",")]
    except ValueError:
        parser.error("--clients takes numbers separated by commas, e.g. 10,50,100, or none")
    if any(c < 1 for c in clients) or args.level_seconds <= 0:
        parser.error("--clients must be ≥ 1 each and --level-seconds more than 0")

    def progress(step: str) -> None:
        if not args.json:
            print(f"… {step}", file=sys.stderr, flush=True)

    result = run(args.requests, args.warmup, args.log_tokens, progress, clients, args.level_seconds)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
