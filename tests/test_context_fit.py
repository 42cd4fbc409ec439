"""IntelligentContext: requests over the window or the budget are fitted, calls stay with their results,
and the fit is frozen so later turns replay it byte for byte."""

from __future__ import annotations

import http.client
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from headroom_cli.config import Settings
from headroom_cli.context_fit import FitMemory, Fitter, context_window, harden, limit_for
from headroom_cli.ledger import Ledger
from headroom_cli.markers import MARKER_RE, ccr_id
from headroom_cli.mock_cache import PromptCache
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.pipeline import Outcome
from headroom_cli.providers import adapter_for
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.store import Store
from headroom_cli.tokens import count_tokens

from marker_checks import expand_markers

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("session_bench", REPO / "scripts" / "session_bench.py")
bench = sys.modules.get("session_bench") or importlib.util.module_from_spec(_spec)
if "session_bench" not in sys.modules:
    sys.modules["session_bench"] = bench
    _spec.loader.exec_module(bench)

BUDGET = 20_000


def test_windows_and_limits():
    assert context_window("claude-sonnet-4-5-20250929") == 200_000
    assert context_window("anthropic/claude-opus-4-1") == 200_000
    assert context_window("claude-sonnet-4-5", beta="context-1m-2025-08-07") == 1_000_000
    assert context_window("gpt-4o-mini") == 128_000 and context_window("gpt-4.1") == 1_047_576
    assert context_window("my-local-model") is None
    assert limit_for({"model": "claude-sonnet-4-5", "max_tokens": 8192}, None) == int((200_000 - 8192) / 1.15)
    assert limit_for({"model": "claude-sonnet-4-5", "max_tokens": 8192}, 50_000) == 50_000
    assert limit_for({"model": "my-local-model"}, None) is None and limit_for({"model": "x"}, 9) == 9


def test_harder_compression_keeps_head_tail_and_errors_and_every_gap_is_redeemable(corpus_dir):
    original = (corpus_dir / "logs/app_orderservice.txt").read_text()
    part_id = ccr_id(original)
    hard = harden(original, part_id)
    assert count_tokens(hard) < 0.05 * count_tokens(original)
    assert expand_markers(original, hard, part_id) == original
    assert original.split("\n")[0] in hard and original.rstrip("\n").split("\n")[-1] in hard
    assert "ERROR" in hard or "FATAL" in hard
    assert harden("short\n" * 5, ccr_id("short\n" * 5)) is None  # nothing worth it


# -- through the proxy, with a budget ----------------------------------------------------------------

def _proxy(mock: MockUpstream, home: Path, budget: int | None = BUDGET) -> ProxyServer:
    return ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                                compress=True, home=home, budget=budget))


@pytest.fixture(scope="module")
def fitted_session(tmp_path_factory):
    """The code-review session's first 34 turns (well over BUDGET even once compressed) under BUDGET;
    the proxy restarts after turn 20."""
    home = tmp_path_factory.mktemp("headroom-fit")
    session = next(s for s in bench.sessions() if s.name == "code-review")
    session.turns = session.turns[:34]
    mock = MockUpstream([ToolStep("Bash", {"command": "true"})] * 100)
    mock.prompt_cache = PromptCache(count=count_tokens)
    bodies = []
    with mock:
        for part in ((1, 21), (21, 35)):
            with _proxy(mock, home) as proxy:
                for n in range(*part):
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
                    conn.request("POST", "/v1/messages", body=bench.request_body(session, n), headers=bench.HEADERS)
                    response = conn.getresponse()
                    response.read()
                    assert response.status == 200
                    bodies.append(mock.requests[-1].body)
                proxy.recorder.flush()
    ledger = Ledger(home / "ledger.sqlite3")
    yield session, bodies, list(mock.prompt_cache.charges), ledger, Store(home / "store.sqlite3")
    ledger.close()


def test_every_request_fits_the_budget_and_no_call_is_separated_from_its_result(fitted_session):
    session, bodies, charges, ledger, _ = fitted_session
    assert len(bodies) == 34
    assert max(c.total for c in charges) <= BUDGET
    assert sum(bench.request_body(session, 34).count(b'"tool_use"') for _ in [0]) == 34  # the client's own
    for n, raw in enumerate(bodies, 1):
        body = json.loads(raw)
        assert bench.separated_calls(body) == [], f"turn {n}"
        client = json.loads(bench.request_body(session, n))
        assert body["system"] == client["system"] and body["messages"][0] == client["messages"][0]
        assert body["messages"][-1]["content"][0]["tool_use_id"] == client["messages"][-1]["content"][0]["tool_use_id"]
    assert any(b"moved out to fit the context window" in raw for raw in bodies)
    assert "fit" in ledger.per_engine()


def test_fit_decisions_are_frozen_history_changes_only_when_a_new_fit_is_decided(fitted_session):
    _, bodies, charges, ledger, _ = fitted_session
    changed = [n for n in range(1, len(bodies))
               if not bench.history_prefix(bodies[n]).startswith(bench.history_prefix(bodies[n - 1]))]
    decisions = ledger.totals().cache_warnings  # each new fit re-writes the cache from where it changed
    assert 1 <= len(changed) <= 4, changed
    assert decisions == len(changed)
    assert 20 not in changed  # the restart after turn 20 replayed the frozen fit from the store
    for n in range(1, len(charges)):
        if n not in changed:
            assert charges[n].cache_read == charges[n - 1].total, f"turn {n + 1}"


def test_the_marker_message_redeems_the_moved_turns(fitted_session):
    _, bodies, _, _, store = fitted_session
    last = json.loads(bodies[-1])
    texts = [b["text"] for m in last["messages"] if isinstance(m["content"], list) for b in m["content"]
             if b.get("type") == "text" and "moved out to fit" in b.get("text", "")]
    assert texts
    for text in texts:
        found = MARKER_RE.search(text)
        transcript = store.get(found["id"])
        assert transcript is not None and transcript.count("## assistant") >= 1
        assert "toolu_" not in text  # the marker says what, the store has the rest


def test_without_a_budget_nothing_is_fitted(tmp_path):
    session = next(s for s in bench.sessions() if s.name == "code-review")
    with MockUpstream() as mock, _proxy(mock, tmp_path, budget=None) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
        conn.request("POST", "/v1/messages", body=bench.request_body(session, 20), headers=bench.HEADERS)
        assert conn.getresponse().status == 200
        assert b"moved out to fit" not in mock.requests[-1].body


# -- other wire formats: calls stay with their results ------------------------------------------------

def _fit(body: dict, api_path: str, limit: int, tmp_path: Path, store: Store | None = None):
    store = store or Store(tmp_path / "store.sqlite3")
    fitter = Fitter(FitMemory(tmp_path / "store.sqlite3"), store.put, store.has)
    adapter = adapter_for(api_path)
    text = json.dumps(body)
    outcomes = [Outcome(s.text, s.text) for s in adapter.slots(json.loads(text))]
    return fitter.fit(text, json.loads(text), adapter, outcomes, "conversation", limit), store


def test_openai_chat_parallel_calls_move_with_all_their_tool_messages(tmp_path, corpus_dir):
    output = (corpus_dir / "code/go_cobra_command.txt").read_text()[:6000]
    messages = [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": "Read the sources."}]
    for i in range(12):
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}a", "type": "function", "function": {"name": "read", "arguments": json.dumps({"path": f"a{i}.go"})}},
            {"id": f"c{i}b", "type": "function", "function": {"name": "read", "arguments": json.dumps({"path": f"b{i}.go"})}}]})
        messages += [{"role": "tool", "tool_call_id": f"c{i}a", "content": f"// a{i}\n" + output},
                     {"role": "tool", "tool_call_id": f"c{i}b", "content": f"// b{i}\n" + output}]
    result, store = _fit({"model": "gpt-4o", "messages": messages}, "/v1/chat/completions", 12_000, tmp_path)
    fitted = json.loads(result.text)["messages"]
    ids = {m["id"] for m in MARKER_RE.finditer(result.text)}
    assert ids and all(store.has(i) for i in ids)
    # The store is cleared; the next request replays the same fit (a new process, the same state
    # folder) and the markers it replays are redeemable again.
    store.clear()
    again, store = _fit({"model": "gpt-4o", "messages": messages}, "/v1/chat/completions", 12_000, tmp_path, store)
    assert again.text == result.text and not again.decided
    assert all(store.has(i) for i in ids)
    assert result.tokens <= 12_000 and result.moved > 0
    assert fitted[:2] == messages[:2] and fitted[-6:] == messages[-6:]
    issued: set[str] = set()
    for message in fitted:
        if message.get("tool_calls"):
            issued = {c["id"] for c in message["tool_calls"]}
        elif message["role"] == "tool":
            assert message["tool_call_id"] in issued
            issued.discard(message["tool_call_id"])
        else:
            assert not issued, "a call lost its result"


def test_responses_reasoning_items_stay_with_their_calls(tmp_path, corpus_dir):
    output = (corpus_dir / "code/c_psutil_posix.txt").read_text()[:6000]
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Summarise the code."}]}]
    for i in range(10):
        items += [{"type": "reasoning", "id": f"rs_{i}", "summary": []},
                  {"type": "function_call", "call_id": f"call_{i}", "name": "read", "arguments": "{}"},
                  {"type": "function_call_output", "call_id": f"call_{i}", "output": f"// {i}\n" + output}]
    result, _ = _fit({"model": "o3", "input": items}, "/v1/responses", 9_000, tmp_path)
    fitted = json.loads(result.text)["input"]
    assert result.moved > 0 and result.tokens <= 9_000
    for i, item in enumerate(fitted):
        if item["type"] == "reasoning":
            assert fitted[i + 1]["type"] == "function_call"
        if item["type"] == "function_call":
            assert fitted[i + 1] == {**fitted[i + 1], "type": "function_call_output", "call_id": item["call_id"]}


def test_budget_and_breakpoints_settings_flag_over_environment(monkeypatch):
    assert Settings.resolve().budget is None and Settings.resolve().cache_breakpoints is True
    monkeypatch.setenv("HEADROOM_BUDGET", "60000")
    monkeypatch.setenv("HEADROOM_NO_CACHE_BREAKPOINTS", "1")
    assert Settings.resolve().budget == 60_000 and Settings.resolve(budget=9000).budget == 9000
    assert Settings.resolve().cache_breakpoints is False
    monkeypatch.setenv("HEADROOM_BUDGET", "lots")
    with pytest.raises(ValueError, match="HEADROOM_BUDGET"):
        Settings.resolve()
    import subprocess

    done = subprocess.run([sys.executable, "-m", "headroom_cli", "proxy", "--port", "0"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "HEADROOM_BUDGET must be a whole number of tokens" in done.stderr
    for command in ("proxy", "wrap"):
        help_text = subprocess.run([sys.executable, "-m", "headroom_cli", command, "--help"], capture_output=True,
                                   text=True, timeout=60, env={**__import__("os").environ, "COLUMNS": "200"}).stdout
        assert "--budget" in help_text and "--no-cache-breakpoints" in help_text
