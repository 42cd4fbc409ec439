"""Honest numbers: "tokens after" is what went upstream, and the headline is net input dollars after
prompt caching, against the same session without Headroom (measured here on a simulated cache)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headroom_cli.config import Settings
from headroom_cli.context_fit import context_window
from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.mock_cache import PromptCache
from headroom_cli.mock_upstream import MockUpstream, ToolStep
from headroom_cli.prices import input_cost
from headroom_cli.proxy.server import ProxyServer
from headroom_cli.prompt import prompt_tokens
from headroom_cli.tokens import count_tokens

from samples import pytest_verbose_log

HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
SYSTEM = "You are a careful coding agent working in a Python repository. " * 60  # over the 1,024-token minimum
MODEL = "claude-sonnet-4-5"


SCHEMA = {"type": "object", "properties": {"id": {"type": "string", "description": "The marker's ID."},
                                           "lines": {"type": "string", "description": "A range, A-B."}}}
# What `wrap claude` makes Claude Code add to every request: Headroom's MCP tools, the MCP-resource
# tools Claude Code offers for any MCP server, and the server's instructions.
WRAP_TOOLS = [{"name": f"mcp__headroom__headroom_{n}", "description": f"Headroom {n}: " + "read what a marker hides. " * 8,
               "input_schema": SCHEMA} for n in ("retrieve", "compress", "stats")] + [
              {"name": n, "description": "MCP resources. " * 10, "input_schema": SCHEMA}
              for n in ("ListMcpResourcesTool", "ReadMcpResourceTool")]
WRAP_INSTRUCTIONS = ("<system-reminder>\n# MCP Server Instructions\n\nThe following MCP servers have provided "
                     "instructions for how to use their tools and resources:\n\n## headroom\nHeadroom compresses "
                     "long tool outputs and marks each omission. Use headroom_retrieve to read it.\n</system-reminder>")


def session_body(turns: int, log: str, wrapped: bool = False) -> bytes:
    """A coding agent's request after ``turns`` test runs, caching as Claude Code does (its own
    cache_control, so Headroom adds no breakpoints and the runs with and without it cache alike);
    ``wrapped``: with what `wrap claude` adds."""
    first = [{"type": "text", "text": "Make the failing test pass."}]
    messages: list[dict] = [{"role": "user", "content": ([{"type": "text", "text": WRAP_INSTRUCTIONS}] if wrapped else []) + first}]
    for i in range(turns):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i}", "name": "Bash", "input": {"command": f"pytest -v -k case_{i}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": log.replace("PASSED", f"PASSED{i}", 1)}]})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    body = {"model": MODEL, "max_tokens": 1024, "stream": False,
            "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
            "tools": [{"name": "Bash", "description": "Run a shell command.", "input_schema": {"type": "object"}}]
            + (WRAP_TOOLS if wrapped else []),
            "messages": messages}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/messages", body=body, headers=HEADERS)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def _cached_upstream() -> MockUpstream:
    mock = MockUpstream([ToolStep("Bash", {"command": "true"})] * 100)
    mock.prompt_cache = PromptCache(count=count_tokens, windows=context_window)
    return mock


def _proxy(mock: MockUpstream, home: Path) -> ProxyServer:
    return ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream=mock.url, openai_upstream=mock.url,
                                compress=True, home=home))


def _paid(charges) -> float:
    """Input dollars the simulated provider charged (Sonnet list prices, cache read 0.1×, write 1.25×)."""
    return sum(c.input + c.cache_read * 0.1 + c.cache_write * 1.25 for c in charges) * 3 / 1e6


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The same eight-turn session twice: straight to the provider (A), and through Headroom (B)."""
    home = tmp_path_factory.mktemp("honest") / "headroom-home"
    log = pytest_verbose_log(300)
    plain = [session_body(turns, log) for turns in range(1, 9)]
    bodies = [session_body(turns, log, wrapped=True) for turns in range(1, 9)]
    with _cached_upstream() as direct:
        assert all(_post(direct.port, body) == 200 for body in plain)
        without = _paid(direct.prompt_cache.charges)
        plain_charges = list(direct.prompt_cache.charges)
    with _cached_upstream() as upstream, _proxy(upstream, home) as proxy:
        assert all(_post(proxy.port, body) == 200 for body in bodies)
        proxy.recorder.flush()
        forwarded = [r.body for r in upstream.requests]
        charges = list(upstream.prompt_cache.charges)
    return {"home": home, "bodies": bodies, "plain": plain, "forwarded": forwarded, "charges": charges,
            "without": without, "plain_charges": plain_charges}


def _ledger(home: Path) -> Ledger:
    return Ledger(home / "ledger.sqlite3")


def test_tokens_after_is_the_count_of_what_went_upstream(session):
    ledger = _ledger(session["home"])
    try:
        rows = list(reversed(ledger.recent(20)))
    finally:
        ledger.close()
    assert len(rows) == len(session["forwarded"]) == 8
    for row, client, sent, charge, plain in zip(rows, session["bodies"], session["forwarded"], session["charges"],
                                                session["plain_charges"]):
        assert sent != client  # compressed
        # Tokens are those of the prompt as the model reads it, block by block (not the JSON around it):
        # what the provider's cache simulation counted for the request it received.
        assert row.tokens_after == charge.total
        # "before" is the request without what wrap adds (counted piece by piece, so within a few tokens).
        assert row.tokens_before == pytest.approx(plain.total, abs=40)
        assert prompt_tokens(client.decode(), count_tokens, "anthropic") - row.tokens_before > 500


def test_the_headline_is_net_input_dollars_after_caching_and_agrees_with_the_usage(session):
    ledger = _ledger(session["home"])
    try:
        totals = ledger.totals()
        rows = ledger.recent(20)
    finally:
        ledger.close()
    paid = _paid(session["charges"])  # what the provider billed the run with Headroom
    assert totals.priced_requests == 8
    assert totals.input_dollars_paid == pytest.approx(paid, rel=1e-9)
    assert totals.input_dollars_paid == pytest.approx(sum(input_cost(r.provider, r.model, r.usage) for r in rows))
    # The estimate of the same session without Headroom agrees with that session, measured.
    assert totals.input_dollars_without == pytest.approx(session["without"], rel=0.05)
    measured_saving = session["without"] - paid
    assert measured_saving > 0
    assert totals.input_dollars_saved == pytest.approx(measured_saving, rel=0.10)
    # The list-price figure prices every removed token as fresh input: far more than the net saving.
    assert totals.dollars_saved > 2 * totals.input_dollars_saved

    data = json.loads(CliRunner().invoke(_app(), ["stats", "--json"], env={"HEADROOM_HOME": str(session["home"])}).stdout)
    mine = data["session"]
    assert mine["net_input_dollars"] == pytest.approx(paid, abs=1e-6)  # stats round to 6 decimals
    assert mine["net_input_dollars_without_headroom"] == pytest.approx(totals.input_dollars_without, rel=1e-5)
    assert mine["net_input_percent_saved"] == pytest.approx(100 * totals.input_dollars_saved / totals.input_dollars_without, abs=0.01)
    assert "uncached" in mine["dollars_saved_basis"]  # the list-price figure says what it is
    for key in ("tokens_before", "tokens_after", "tokens_saved", "percent_saved", "dollars_saved", "net_dollars_saved"):
        assert key in mine  # the keys scripts already read


def _app():
    from headroom_cli.cli import app
    return app


def test_stats_the_exit_summary_and_the_status_line_lead_with_net_dollars(session, monkeypatch):
    from rich.console import Console

    from headroom_cli.ui import statusline
    from headroom_cli.ui.summary import session_summary

    monkeypatch.setenv("HEADROOM_HOME", str(session["home"]))
    monkeypatch.delenv("HEADROOM_SESSION", raising=False)
    ledger = _ledger(session["home"])
    try:
        totals = ledger.totals()
        console = Console(record=True, width=200)
        console.print(session_summary(ledger, ledger.latest_session()))
    finally:
        ledger.close()
    screen = console.export_text()
    first = screen.splitlines()[0]
    assert first.startswith("net input $") and "after caching" in first and "without Headroom" in first
    assert "list price, uncached" in screen
    line = statusline.render()
    assert line.startswith(f"headroom ▼ ${totals.input_dollars_saved:.2f} net") and "after caching" in line
    stats = CliRunner().invoke(_app(), ["stats"], env={"HEADROOM_HOME": str(session["home"]), "COLUMNS": "200"}).stdout
    assert stats.lstrip().startswith("net input $")
    assert "list price, uncached" in stats


def test_without_reported_usage_only_the_list_price_figure_shows_and_says_so(headroom_home, monkeypatch):
    from headroom_cli.ui import statusline

    ledger = Ledger(headroom_home / "ledger.sqlite3")
    ledger.record(RequestRecord(ts=1, session="s", provider="anthropic", model=MODEL, path="/v1/messages",
                                tokens_before=10_000, tokens_after=2_000, dollars_saved=0.024))
    ledger.close()
    monkeypatch.setenv("HEADROOM_SESSION", "s")
    line = statusline.render()
    assert "$0.02 at list price, uncached" in line and "net" not in line
    data = json.loads(CliRunner().invoke(_app(), ["stats", "--json"]).stdout)["session"]
    assert data["priced_requests"] == 0 and data["net_input_dollars"] == 0


def test_usage_priced_in_sums_matches_row_by_row(tmp_path):
    """Ledger.totals prices each provider and model's summed usage; the proxy's running totals add rows."""
    from headroom_cli.ledger import Totals
    from headroom_cli.proxy.recorder import _fold

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    rows = [RequestRecord(ts=i, session="s", provider=p, model=m, path="/", tokens_before=100, tokens_after=50,
                          usage=u, net_dollars_saved=0.001 * i)
            for i, (p, m, u) in enumerate([("anthropic", MODEL, Usage(100, 5, 2_000, 300)),
                                           ("anthropic", MODEL, Usage(50, 5, 2_300, 40)),
                                           ("openai", "gpt-4o", Usage(3_000, 5, 1_024, None)),
                                           ("anthropic", MODEL, Usage())])]
    ledger.record_many(rows)
    totals, running = ledger.totals("s"), Totals()
    for r in rows:
        _fold(running, r)
    ledger.close()
    expected = sum(input_cost(r.provider, r.model, r.usage) or 0 for r in rows)
    assert totals.priced_requests == running.priced_requests == 3
    assert totals.input_dollars_paid == pytest.approx(expected) == running.input_dollars_paid
    assert totals.input_dollars_saved == pytest.approx(0.003) == running.input_dollars_saved


def test_what_wrap_adds_is_headroom_s_own_overhead_and_another_server_s_is_not():
    from headroom_cli.proxy.own_overhead import own_overhead

    body = json.loads(session_body(1, "ok\n", wrapped=True))
    found = own_overhead(json.dumps(body))
    assert len(found) == 6 and found[-1] == WRAP_INSTRUCTIONS  # 3 own tools, 2 resource tools, the block
    other = {"name": "mcp__github__search", "description": "Search.", "input_schema": SCHEMA}
    body["tools"].append(other)
    body["messages"][0]["content"][0]["text"] = WRAP_INSTRUCTIONS.replace(
        "</system-reminder>", "\n## github\nSearch issues.\n</system-reminder>")
    found = own_overhead(json.dumps(body))
    assert len(found) == 4 and found[-1].startswith("\n## headroom\n") and "github" not in found[-1]
    assert not any("ListMcpResourcesTool" in f for f in found)  # there for the other server as well
    assert own_overhead(session_body(1, "ok\n").decode()) == []
