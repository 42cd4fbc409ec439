#!/usr/bin/env python3
"""Session benchmark: what Headroom saves on whole agent sessions, in dollars, net of prompt caching.

Builds multi-turn agent sessions from the real tool outputs in ``../shared/corpus`` (each turn a tool
call and its output: whole command outputs, files read in windows with line numbers, short edit
confirmations; some files read twice; one session that outgrows the model's context window), and
replays each through the real proxy (in-process) against the local mock upstream with Anthropic's
prompt caching simulated faithfully (``headroom_cli/mock_cache.py``: prefix match against earlier
requests at the breakpoints, cache read 0.1×, write 1.25×, fresh input 1×, output tokens at the output
price; prompts over the window refused). Each session runs three ways:

* ``off``: Headroom passes everything through (``--no-compress``): the bill without Headroom;
* ``on``: Headroom as shipped;
* ``unaware``: the same engines, but history recompressed every turn (no frozen decisions, the
  current tool call as the query), to show what the cache rules are worth.

Clients are Claude Code-shaped (system blocks and the newest message carry ``cache_control``) except
one plain SDK app that sets none (Headroom adds breakpoints). Tokens are cl100k; prices list prices
of the session's model (claude-sonnet-4-5: $3/M input, $15/M output).

    .venv/bin/python scripts/session_bench.py            # a table
    .venv/bin/python scripts/session_bench.py --json     # a JSON object instead
    .venv/bin/python scripts/session_bench.py --sessions fix-failing-tests --modes off,on

Exits 0 even when a target is missed: it measures, the tests judge.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain file from a checkout
    sys.path.insert(0, str(REPO))

from headroom_cli.config import Settings  # noqa: E402
from headroom_cli.context_fit import context_window  # noqa: E402
from headroom_cli.engines import Part  # noqa: E402
from headroom_cli.ledger import Ledger, Usage  # noqa: E402
from headroom_cli.mock_cache import PromptCache  # noqa: E402
from headroom_cli.mock_upstream import MockUpstream, ToolStep  # noqa: E402
from headroom_cli.pipeline import Outcome, Pipeline  # noqa: E402
from headroom_cli.prices import cost  # noqa: E402
from headroom_cli.proxy.server import ProxyServer  # noqa: E402
from headroom_cli.tokens import count_tokens  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 8192
MODES = ("off", "on", "unaware")
TARGET_SAVING = 0.50  # net dollars with Headroom on at least this much lower than off
TARGET_HIT_SLACK = 1.0  # cache hit rate on no lower than off, within this many points
HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "sk-ant-bench"}
_CACHE_CONTROL = re.compile(r',\s*"cache_control"\s*:\s*\{[^{}]*\}|"cache_control"\s*:\s*\{[^{}]*\}\s*,?')


# -- tool outputs from the corpus ----------------------------------------------------------------

COMMANDS = {  # how an agent would have produced each kind of output
    "tests": "cd {stem} && {runner}", "logs": "tail -n 20000 logs/{stem}.log", "json": "curl -s https://api.local/{stem}",
    "diffs": "git diff {stem}", "search": "rg -n {stem}", "listing": "ls -laR {stem}", "table": "sqlite3 -box app.db < {stem}.sql",
}
EXTENSIONS = {"python": ".py", "go": ".go", "js": ".js", "ts": ".ts", "cpp": ".h", "c": ".c", "rust": ".rs"}


@dataclass
class Turn:
    tool: str
    input: dict[str, Any]
    output: str
    say: str  # the assistant's words before the call


def _text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def bash(name: str) -> Turn:
    kind, stem = name.split("/")[0], Path(name).stem
    runner = {"cargo": "cargo test", "node": "node --test", "pytest": "pytest"}.get(stem.split("_")[0], "make")
    command = COMMANDS.get(kind, "cat {stem}").format(stem=stem, runner=runner)
    return Turn("Bash", {"command": command, "description": f"Look at {stem.replace('_', ' ')}"}, _text(name),
                f"Let me check {stem.replace('_', ' ')}.")


def _path(name: str) -> str:
    stem = Path(name).stem
    return f"/repo/src/{stem}{EXTENSIONS.get(stem.split('_')[0], '.txt')}"


def read(name: str, offset: int = 1, limit: int = 2000) -> Turn:
    """Claude Code's Read: line numbers, a tab, the line; a window of at most ``limit`` lines."""
    lines = _text(name).split("\n")[offset - 1: offset - 1 + limit]
    body = "\n".join(f"{offset + i:>6}\t{line}" for i, line in enumerate(lines))
    return Turn("Read", {"file_path": _path(name), "offset": offset, "limit": limit}, body,
                f"Reading {Path(_path(name)).name} from line {offset}.")


def pages(name: str, size: int, start: int = 1, count: int | None = None, step: int | None = None) -> list[Turn]:
    """A file read window by window (``step`` < ``size``: overlapping windows, as agents re-read)."""
    total = len(_text(name).split("\n"))
    offsets = list(range(start, total + 1, step or size))[:count]
    return [read(name, offset, size) for offset in offsets]


def edit(name: str, line: int) -> Turn:
    """Claude Code's Edit confirmation: a short snippet of the edited file."""
    lines = _text(name).split("\n")[max(0, line - 4): line + 4]
    snippet = "\n".join(f"{max(1, line - 3) + i:>6}\t{text}" for i, text in enumerate(lines))
    output = (f"The file {_path(name)} has been updated. Here's the result of running `cat -n` on a snippet "
              f"of the edited file:\n{snippet}")
    return Turn("Edit", {"file_path": _path(name), "old_string": lines[3] if len(lines) > 3 else "",
                         "new_string": "# fixed"}, output, "Applying the fix.")


def fetch(name: str) -> Turn:
    return Turn("WebFetch", {"url": f"https://docs.local/{Path(name).stem}.html", "prompt": "the relevant part"},
                _text(name), f"Reading the documentation page {Path(name).stem}.")


# -- sessions ------------------------------------------------------------------------------------

@dataclass
class Session:
    name: str
    task: str
    turns: list[Turn]
    client: str = "claude-code"  # or "sdk": no cache_control anywhere
    note: str = ""


def sessions() -> list[Session]:
    t, l, j, d, s, ls, tb, h, c = ("tests/", "logs/", "json/", "diffs/", "search/", "listing/", "table/", "html/", "code/")
    fix = [bash(t + "pytest_verbose_more_itertools.txt"), bash(s + "grep_rn_defs_toolz.txt"),
           *pages(c + "python_rich_table.txt", 300, count=2), bash(t + "pytest_x_tb_long_toolz.txt"),
           edit(c + "python_rich_table.txt", 120), bash(d + "git_diff_U20_six_1.15.0_1.16.0.txt"),
           bash(l + "pip_wheel_verbose_psutil.txt"), bash(t + "cargo_test_tinyledger.txt"),
           edit(c + "rust_semver_parse.txt", 40), bash(t + "node_test_tap.txt"), bash(l + "make_gcc_minikv.txt"),
           bash(s + "rg_segment_calls_rich.txt"), bash(s + "rg_context_cobra_go.txt"), bash(ls + "tree_rxjs_src.txt"),
           bash(d + "gnu_diff_ru_toolz_0.12.1_1.0.0.txt"), edit(c + "go_cobra_command.txt", 300),
           bash(tb + "ps_forest_worker_pool.txt"),
           bash(t + "pytest_verbose_more_itertools.txt"),  # the same run again: read twice
           bash(ls + "git_log_oneline_storefront.txt"), bash(d + "git_show_stat_rich_upgrade.txt"),
           edit(c + "c_psutil_posix.txt", 200), bash(s + "rg_json_commander.txt"), bash(t + "cargo_test_tinyledger.txt")]
    data = [bash(j + "sqlite_ci_jobs_500.txt"), bash(tb + "sqlite_box_latency.txt"), bash(j + "npm_view_express.txt"),
            bash(tb + "sqlite_table_inventory.txt"), bash(ls + "ls_laR_psutil_sdist.txt"), bash(j + "pycountry_iso3166_1.txt"),
            bash(tb + "csv_seattle_weather.txt"), fetch(h + "coverage_index_toolz.txt"),
            bash(tb + "ps_forest_worker_pool.txt"), edit(c + "ts_rxjs_observable.txt", 80), bash(ls + "tree_rxjs_src.txt"),
            fetch(h + "sqlite_doc_wal.txt"), bash(s + "rg_json_commander.txt"), bash(l + "make_gcc_minikv.txt"),
            bash(j + "pycountry_iso3166_1.txt")]  # fetched twice
    review = [bash(d + "git_diff_more_itertools_10.2.0_10.5.0.txt"), bash(ls + "git_log_oneline_storefront.txt"),
              bash(d + "git_show_stat_rich_upgrade.txt"), bash(s + "grep_rn_defs_toolz.txt"),
              *pages(c + "ts_rxjs_observable.txt", 250, count=2), bash(t + "pytest_verbose_more_itertools.txt"),
              bash(d + "gnu_diff_ru_toolz_0.12.1_1.0.0.txt"), bash(s + "rg_segment_calls_rich.txt"),
              fetch(h + "pydoc_toolz_dicttoolz.txt"), bash(t + "pytest_x_tb_long_toolz.txt"),
              edit(c + "python_rich_table.txt", 400), bash(d + "git_diff_U20_six_1.15.0_1.16.0.txt"),
              bash(l + "pip_wheel_verbose_psutil.txt"), bash(tb + "sqlite_box_latency.txt")]
    docs = [fetch(h + "git_doc_git_rebase.txt"), bash(j + "npm_view_express.txt"), fetch(h + "sqlite_doc_wal.txt"),
            bash(ls + "ls_laR_psutil_sdist.txt"), fetch(h + "pydoc_toolz_dicttoolz.txt"), bash(l + "pip_wheel_verbose_psutil.txt"),
            fetch(h + "coverage_index_toolz.txt"), bash(j + "pycountry_iso3166_1.txt"), bash(tb + "sqlite_table_inventory.txt")]
    sdk = [bash(j + "sqlite_ci_jobs_500.txt"), bash(t + "pytest_verbose_more_itertools.txt"),
           bash(tb + "csv_seattle_weather.txt"), bash(s + "grep_rn_defs_toolz.txt"), bash(ls + "git_log_oneline_storefront.txt"),
           bash(d + "gnu_diff_ru_toolz_0.12.1_1.0.0.txt"), bash(t + "node_test_tap.txt"), bash(j + "npm_view_express.txt"),
           bash(tb + "sqlite_box_latency.txt")]
    overflow = [bash(t + "pytest_verbose_more_itertools.txt"), bash(j + "npm_view_typescript.txt"),
                bash(l + "app_orderservice.txt"), bash(j + "botocore_sqs_service2.txt"),
                bash(d + "git_diff_more_itertools_10.2.0_10.5.0.txt"), fetch(h + "git_doc_git_rebase.txt"),
                *[turn for name in ("cpp_fmt_core_h", "js_commander_command", "go_cobra_command", "python_rich_table",
                                    "c_psutil_posix", "ts_rxjs_observable", "rust_semver_parse")
                  for turn in pages(f"{c}{name}.txt", 200, step=110)]]
    return [
        Session("fix-failing-tests", "The test suite is failing. Find out why and fix it.", _fill(fix, 40)),
        Session("api-data", "Which CI jobs failed last night, and is the inventory consistent with the API?", _fill(data, 30),
                note="data sets fetched; one fetched twice"),
        Session("code-review", "Review the upgrade diff and check nothing regressed.", _fill(review, 50)),
        Session("docs-and-deps", "Work out how to configure WAL mode and rebase the dependency branch.", _fill(docs, 30)),
        Session("sdk-agent", "Triage the order service incident.", _fill(sdk, 30), client="sdk",
                note="plain SDK app: no cache_control; Headroom adds the breakpoints"),
        Session("overflow", "Read through the vendored sources and summarise the public API.", overflow[:100],
                note="outgrows the 200k window"),
    ]


def _fill(turns: list[Turn], n: int) -> list[Turn]:
    """``n`` turns: the plan, then short follow-ups (edits and re-runs of small commands), so the big
    outputs are not simply repeated."""
    out = list(turns[:n])
    fillers = [edit("code/go_cobra_command.txt", 50 + 37 * i) for i in range(40)]
    i = 0
    while len(out) < n:
        out.append(fillers[i % len(fillers)])
        i += 1
    return out


# -- the client ----------------------------------------------------------------------------------

def _tools() -> list[dict]:
    names = ["Bash", "Read", "Edit", "Write", "Glob", "Grep", "WebFetch", "WebSearch", "TodoWrite", "Task",
             "NotebookEdit", "BashOutput", "KillShell", "ExitPlanMode"]
    tools = []
    for name in names:
        description = " ".join(
            f"{name} step {i}: use this tool when the task needs it; prefer the dedicated tool over a shell command, "
            f"quote paths with spaces, keep outputs short and never guess arguments you do not know." for i in range(6))
        tools.append({"name": name, "description": description, "input_schema": {
            "type": "object", "additionalProperties": False, "required": ["command"],
            "properties": {"command": {"type": "string", "description": f"What {name} should do."},
                           "timeout": {"type": "number", "description": "Milliseconds before giving up."}}}})
    return tools


def _system(client: str) -> Any:
    prompt = "\n".join(f"Rule {i}: You are an interactive agent that helps users with software engineering tasks. "
                       f"Read before you edit, run the tests after a change, and report what you did briefly." for i in range(60))
    if client == "sdk":
        return prompt
    return [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.1ff; cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}}]


def conversation(session: Session, upto: int) -> list[dict]:
    """The messages a client sends for turn ``upto`` (1-based): the task, then each call and result."""
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": session.task}]}]
    for i, turn in enumerate(session.turns[:upto]):
        call = f"toolu_{session.name.replace('-', '')[:12]}_{i + 1:04d}"
        messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.say},
                                                          {"type": "tool_use", "id": call, "name": turn.tool, "input": turn.input}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": turn.output}]})
    if session.client != "sdk":  # Claude Code marks only the newest message
        messages[-1]["content"][-1] = {**messages[-1]["content"][-1], "cache_control": {"type": "ephemeral"}}
    return messages


def request_body(session: Session, upto: int) -> bytes:
    body = {"model": MODEL, "max_tokens": MAX_TOKENS, "system": _system(session.client), "tools": _tools(),
            "stream": False, "messages": conversation(session, upto)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- the cache-unaware mode ----------------------------------------------------------------------

class UnawarePipeline(Pipeline):
    """The same engines without the cache rules: nothing memoised or frozen, and each turn's own
    query (the tool call being made now), so re-sent history is recompressed every turn."""

    query: str | None = None

    def run(self, part: Part, focus=None) -> Outcome:
        if len(part.text) < self.min_chars:
            return Outcome(part.text, part.text)
        return self._compress(replace(part, query=self.query, focus=focus() if focus is not None else None))


# -- replay ----------------------------------------------------------------------------------------

@dataclass
class Request:
    turn: int
    status: int
    total: int = 0
    read: int = 0
    write: int = 0
    fresh: int = 0
    output: int = 0
    dollars: float = 0.0


@dataclass
class Run:
    session: str
    mode: str
    turns: int
    requests: list[Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # what the upstream received, when kept
    failed_at: int | None = None
    separated: list[str] = field(default_factory=list)  # tool calls apart from their results
    fitted: int = 0  # requests Headroom fitted to the context window (replays included)
    cache_warnings: int = 0
    seconds: float = 0.0

    @property
    def completed(self) -> int:
        return sum(1 for r in self.requests if r.status == 200)

    @property
    def input_tokens(self) -> int:
        return sum(r.total for r in self.requests if r.status == 200)

    @property
    def hit_rate(self) -> float:
        total = self.input_tokens
        return 100.0 * sum(r.read for r in self.requests) / total if total else 0.0

    @property
    def dollars(self) -> float:
        return sum(r.dollars for r in self.requests)


@contextlib.contextmanager
def upstream_and_proxy(mode: str, home: Path) -> Iterator[tuple[MockUpstream, ProxyServer]]:
    mock = MockUpstream([ToolStep("Bash", {"command": "true"})] * 1000)
    mock.prompt_cache = PromptCache(count=count_tokens, windows=context_window)
    mock.start()
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                        compress=mode != "off", home=home)
    server = ProxyServer(settings)
    if mode == "unaware":
        server.addon.pipeline = UnawarePipeline(frozen=None, memo_size=0)
    server.start()
    try:
        yield mock, server
    finally:
        server.stop()
        mock.stop()


def replay(session: Session, mode: str, keep_bodies: bool = False, home: Path | None = None,
           restart_at: int | None = None) -> Run:
    """Send the session turn by turn through a fresh proxy; ``restart_at``: restart the proxy (same
    state folder) before that turn, as a user would between two runs."""
    run = Run(session.name, mode, len(session.turns))
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="headroom-session-")))
        context = stack.enter_context(contextlib.ExitStack())
        mock, server = context.enter_context(upstream_and_proxy(mode, home))
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        for n in range(1, len(session.turns) + 1):
            if restart_at is not None and n == restart_at:
                conn.close()
                cache = mock.prompt_cache
                context.close()
                context = stack.enter_context(contextlib.ExitStack())
                mock, server = context.enter_context(upstream_and_proxy(mode, home))
                mock.prompt_cache = cache  # the provider's cache outlives our restart
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            if isinstance(server.addon.pipeline, UnawarePipeline):
                server.addon.pipeline.query = json.dumps(session.turns[n - 1].input)
            seen = len(mock.prompt_cache.charges)
            conn.request("POST", "/v1/messages", body=request_body(session, n), headers=HEADERS)
            response = conn.getresponse()
            reply = response.read()
            request = Request(n, response.status)
            charge = mock.prompt_cache.charges[-1] if len(mock.prompt_cache.charges) > seen else None
            if response.status == 200 and charge is not None:
                output = json.loads(reply).get("usage", {}).get("output_tokens", 0)
                request.total, request.read, request.write = charge.total, charge.cache_read, charge.cache_write
                request.fresh, request.output = charge.input, output
                request.dollars = cost("anthropic", MODEL, Usage(charge.input, output, charge.cache_read, charge.cache_write))
            run.requests.append(request)
            received = mock.requests[-1].body if mock.requests else b""
            if keep_bodies:
                run.bodies.append(received)
            if response.status != 200:
                run.failed_at = n
                break
            body = json.loads(received)
            run.separated += [f"turn {n}: {p}" for p in separated_calls(body)]
        conn.close()
        server.recorder.flush()
        ledger = Ledger(home / "ledger.sqlite3")
        run.cache_warnings = ledger.totals().cache_warnings
        run.fitted = sum(1 for r in ledger.recent(100_000) if "fit" in r.engines)
        ledger.close()
    run.seconds = time.perf_counter() - started
    return run


def separated_calls(body: dict) -> list[str]:
    """Anthropic's pairing rule: each tool_use answered by a tool_result in the next message, and
    each tool_result answering a tool_use of the message before it."""
    problems = []
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message.get("content"), list) else []
        calls = {b.get("id") for b in content if isinstance(b, dict) and b.get("type") == "tool_use"}
        if calls:
            following = messages[i + 1].get("content") if i + 1 < len(messages) else None
            answered = {b.get("tool_use_id") for b in following if isinstance(b, dict)} if isinstance(following, list) else set()
            problems += [f"{c} has no result right after it" for c in sorted(calls - answered)]
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                before = messages[i - 1].get("content") if i > 0 else None
                asked = {b.get("id") for b in before if isinstance(b, dict)} if isinstance(before, list) else set()
                if block.get("tool_use_id") not in asked:
                    problems.append(f"{block.get('tool_use_id')} answers no call of the message before it")
    return problems


def history_prefix(body: bytes) -> bytes:
    """A request's bytes up to the end of its last message (messages come last in these bodies),
    cache_control markers left out (clients and Headroom move them; providers do not hash them)."""
    text = _CACHE_CONTROL.sub("", body.decode("utf-8"))
    assert text.endswith("]}"), "messages must be the last key"
    return text[:-2].encode("utf-8")


# -- report ----------------------------------------------------------------------------------------

def summarise(runs: list[Run]) -> dict:
    by = {(r.session, r.mode): r for r in runs}
    rows = []
    for (name, mode), run in by.items():
        off = by.get((name, "off"))
        row = {"session": name, "mode": mode, "turns": run.turns, "completed": run.completed, "failed_at": run.failed_at,
               "input_tokens": run.input_tokens, "cache_hit_rate": round(run.hit_rate, 2), "dollars": round(run.dollars, 4),
               "fitted_requests": run.fitted, "separated_calls": len(run.separated), "cache_warnings": run.cache_warnings,
               "seconds": round(run.seconds, 1)}
        if off is not None and off is not run and off.failed_at is None and run.failed_at is None and off.dollars:
            row["saving_vs_off"] = round(1 - run.dollars / off.dollars, 4)
            row["hit_rate_vs_off"] = round(run.hit_rate - off.hit_rate, 2)
        rows.append(row)
    comparable = [r for r in rows if r["mode"] == "on" and "saving_vs_off" in r]
    overflow = [r for r in rows if r["mode"] == "on" and r["session"] not in {c["session"] for c in comparable}]
    totals = {}
    for mode in MODES:
        chosen = [by[(r["session"], mode)] for r in comparable if (r["session"], mode) in by]
        if chosen:
            totals[mode] = {"input_tokens": sum(r.input_tokens for r in chosen), "dollars": round(sum(r.dollars for r in chosen), 4),
                            "cache_hit_rate": round(100.0 * sum(sum(q.read for q in r.requests) for r in chosen)
                                                    / max(1, sum(r.input_tokens for r in chosen)), 2)}
    targets = {
        "net_saving_at_least_50pct": bool(comparable) and all(r["saving_vs_off"] >= TARGET_SAVING for r in comparable),
        "hit_rate_not_lower": bool(comparable) and all(r["hit_rate_vs_off"] >= -TARGET_HIT_SLACK for r in comparable),
        # None: no such session in this run (--sessions)
        "overflow_completes_unseparated": all(r["failed_at"] is None and r["separated_calls"] == 0 for r in overflow)
        if overflow else None,
    }
    below = [r["session"] for r in comparable if r["saving_vs_off"] < TARGET_SAVING]
    return {"model": MODEL, "tokenizer": "cl100k_base", "rows": rows, "totals": totals, "targets": targets,
            "below_saving_target": below}


def table(result: dict) -> str:
    head = ["session", "mode", "turns", "input tokens", "hit rate", "net $", "vs off", "notes"]
    lines = [head]
    for r in result["rows"]:
        notes = []
        if r["failed_at"]:
            notes.append(f"refused at turn {r['failed_at']} (over the window)")
        if r["fitted_requests"]:
            notes.append(f"fitted {r['fitted_requests']} requests")
        if r["separated_calls"]:
            notes.append(f"{r['separated_calls']} calls separated!")
        if r["cache_warnings"]:
            notes.append(f"{r['cache_warnings']} cache warnings")
        vs = f"{-100 * r['saving_vs_off']:+.1f}%" if "saving_vs_off" in r else "-"
        lines.append([r["session"], r["mode"], f"{r['completed']}/{r['turns']}", f"{r['input_tokens']:,}",
                      f"{r['cache_hit_rate']:.1f}%", f"${r['dollars']:.3f}", vs, "; ".join(notes)])
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head))]
    out = ["  ".join(str(c).rjust(w) if 1 < i < 7 else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
           for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    out.append("")
    for mode, t in result["totals"].items():
        out.append(f"all sessions that complete either way, {mode:8}: {t['input_tokens']:>10,} input tokens · "
                   f"{t['cache_hit_rate']:.1f}% cache hits · ${t['dollars']:.3f}")
    verdicts = {True: "PASS", False: "MISS", None: "not run"}
    out.append("targets: " + ", ".join(f"{k} {verdicts[v]}" for k, v in result["targets"].items()))
    if result["below_saving_target"]:
        out.append("below the net-saving target: " + ", ".join(result["below_saving_target"]))
    out.append(f"model {result['model']} (list prices), tokens counted with {result['tokenizer']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of the table")
    parser.add_argument("--sessions", help="comma-separated session names (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: off,on,unaware")
    parser.add_argument("--turns", type=int, help="cut every session to this many turns (quick runs)")
    args = parser.parse_args(argv)
    logging.getLogger("headroom").setLevel(logging.ERROR)
    if not (CORPUS / "needles.json").is_file():
        print(f"the corpus must sit beside the checkout at {CORPUS}", file=sys.stderr)
        return 2
    chosen = sessions()
    if args.sessions:
        wanted = set(args.sessions.split(","))
        chosen = [s for s in chosen if s.name in wanted]
    if args.turns:
        chosen = [replace(s, turns=s.turns[: args.turns]) for s in chosen]
    runs = [replay(session, mode) for session in chosen for mode in args.modes.split(",")]
    result = summarise(runs)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
