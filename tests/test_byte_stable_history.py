"""CacheAligner (a): a 50-turn agent session through the real proxy keeps its history byte-stable.

Every engine gets real outputs (the shared corpus, a real `yes` run, a Read of a source file, the same
output twice), the user's question changes every ten turns (query-aware engines would decide
differently on a second look) and the proxy restarts halfway (its memo is gone: only frozen decisions
keep the bytes). The compressed history of turn N must be a byte prefix of turn N+1's, and the
simulated prompt cache must read every earlier request back whole.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.context_fit import context_window
from headroom_cli.engines import Part
from headroom_cli.ledger import Ledger
from headroom_cli.mock_cache import PromptCache
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.pipeline import Pipeline
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.tokens import count_tokens

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("session_bench", REPO / "scripts" / "session_bench.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["session_bench"] = bench
_spec.loader.exec_module(bench)

TURNS = 50
RESTART_AT = 26
QUESTIONS = ["Why does the build fail?", "Which CI jobs failed and how long did they queue?",
             "What changed in the six upgrade around ensure_str?", "Where is curry defined?",
             "Which table rows have latency over 900 ms?"]
CORE_ENGINES = {"testlog", "json", "diff", "search", "listing", "table", "html", "text", "repeat"}


def _yes_output() -> str:
    done = subprocess.run("yes 'waiting for the lock on /var/lib/dpkg/lock-frontend...' | head -n 300",
                          shell=True, capture_output=True, text=True, check=True)
    return done.stdout


def session_turns() -> list:
    c = "code/"
    plan = [
        bench.bash("tests/pytest_verbose_more_itertools.txt"), bench.bash("json/sqlite_ci_jobs_500.txt"),
        bench.bash("diffs/git_diff_U20_six_1.15.0_1.16.0.txt"), bench.bash("search/grep_rn_defs_toolz.txt"),
        bench.bash("listing/ls_laR_psutil_sdist.txt"), bench.bash("table/sqlite_box_latency.txt"),
        bench.fetch("html/sqlite_doc_wal.txt"), bench.Turn("Bash", {"command": "apt-get install -y jq"}, _yes_output(), "Install jq."),
        *bench.pages(c + "python_rich_table.txt", 200, count=2), bench.bash("tests/cargo_test_tinyledger.txt"),
        bench.bash("json/npm_view_express.txt"), bench.bash("logs/pip_wheel_verbose_psutil.txt"),
        bench.bash("table/sqlite_table_inventory.txt"), bench.fetch("html/pydoc_toolz_dicttoolz.txt"),
        bench.bash("search/rg_segment_calls_rich.txt"), bench.bash("listing/git_log_oneline_storefront.txt"),
        bench.bash("diffs/gnu_diff_ru_toolz_0.12.1_1.0.0.txt"), bench.bash("json/pycountry_iso3166_1.txt"),
        bench.bash("tests/pytest_verbose_more_itertools.txt"),  # the same output again: a repeat reference
        bench.bash("table/csv_seattle_weather.txt"), bench.bash("tests/node_test_tap.txt"),
    ]
    return bench._fill(plan, TURNS)


def messages_for(turns: list, upto: int) -> list[dict]:
    """Claude Code's shape: cache_control only on the newest message; every tenth turn the user
    adds a new question (the query the engines see changes)."""
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": QUESTIONS[0]}]}]
    for i, turn in enumerate(turns[:upto]):
        call = f"toolu_stable_{i + 1:04d}"
        messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.say},
                                                          {"type": "tool_use", "id": call, "name": turn.tool, "input": turn.input}]})
        content: list[dict] = [{"type": "tool_result", "tool_use_id": call, "content": turn.output}]
        if (i + 1) % 10 == 0:
            content.append({"type": "text", "text": QUESTIONS[(i + 1) // 10 % len(QUESTIONS)]})
        messages.append({"role": "user", "content": content})
    messages[-1]["content"][-1] = {**messages[-1]["content"][-1], "cache_control": {"type": "ephemeral"}}
    return messages


def body_for(turns: list, upto: int) -> bytes:
    body = {"model": bench.MODEL, "max_tokens": 4096, "system": bench._system("claude-code"), "tools": bench._tools(),
            "stream": False, "messages": messages_for(turns, upto)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _start(home: Path, mock: MockUpstream) -> ProxyServer:
    settings = Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                        compress=True, home=home)
    return ProxyServer(settings).start()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    home = tmp_path_factory.mktemp("headroom-home")
    turns = session_turns()
    mock = MockUpstream([ToolStep("Bash", {"command": "true"})] * 1000)
    mock.prompt_cache = PromptCache(count=count_tokens, windows=context_window)
    mock.start()
    server = _start(home, mock)
    bodies = []
    try:
        for n in range(1, TURNS + 1):
            if n == RESTART_AT:
                server.stop()
                server = _start(home, mock)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            conn.request("POST", "/v1/messages", body=body_for(turns, n), headers=bench.HEADERS)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200, f"turn {n}: {response.status}"
            bodies.append(mock.requests[-1].body)
        server.recorder.flush()
    finally:
        server.stop()
        mock.stop()
    ledger = Ledger(home / "ledger.sqlite3")
    yield turns, bodies, list(mock.prompt_cache.charges), ledger
    ledger.close()


def test_history_of_each_turn_is_a_byte_prefix_of_the_next(replayed):
    _, bodies, _, _ = replayed
    assert len(bodies) == TURNS
    for n in range(1, TURNS):
        earlier, later = bench.history_prefix(bodies[n - 1]), bench.history_prefix(bodies[n])
        assert later.startswith(earlier), f"turn {n}'s history is not a prefix of turn {n + 1}'s"
    assert bodies[-1] != body_for(session_turns(), TURNS)  # it was compressed, not passed through


def test_every_engine_compressed_something_and_kept_it_stable(replayed):
    turns, _, _, ledger = replayed
    pipeline = Pipeline()
    alone = {pipeline.run(Part(text=t.output, tool_name=t.tool, tool_input=json.dumps(t.input))).engine for t in turns}
    expected = {e for e in alone if e} | {"repeat"}
    assert CORE_ENGINES <= expected, expected  # the session covers every engine that has something to do
    used = set(ledger.per_engine())
    assert expected <= used, f"engines never used in the session: {expected - used}"


def test_the_prompt_cache_reads_every_earlier_request_back_whole(replayed):
    _, _, charges, ledger = replayed
    assert len(charges) == TURNS and all(c.error is None for c in charges)
    for n in range(1, TURNS):
        assert charges[n].cache_read == charges[n - 1].total, f"turn {n + 1} re-wrote history"
    assert ledger.totals().cache_warnings == 0
