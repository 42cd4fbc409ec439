"""Dollars net of prompt caching: provider cache prices, where a saving sat, the ledger and the views."""

from __future__ import annotations

import json
import sqlite3

import pytest
from rich.console import Console

from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.prices import cost, net_saved, regions
from headroom_cli.proxy.cache_account import account, fractions
from headroom_cli.pipeline import Outcome
from headroom_cli.ui import dashboard

PRICE = 3.0 / 1_000_000  # claude-sonnet-4-5 input


def test_anthropic_savings_are_worth_what_their_region_was_billed():
    usage = Usage(input=1_000, output=100, cache_read=8_000, cache_write=1_000)  # 10k prompt: read, written, fresh
    assert net_saved("anthropic", "claude-sonnet-4-5", usage, [(0.5, 1_000)]) == pytest.approx(1_000 * 0.10 * PRICE)
    assert net_saved("anthropic", "claude-sonnet-4-5", usage, [(0.85, 1_000)]) == pytest.approx(1_000 * 1.25 * PRICE)
    assert net_saved("anthropic", "claude-sonnet-4-5", usage, [(0.95, 1_000)]) == pytest.approx(1_000 * PRICE)
    # A cache write Headroom caused costs the difference between writing and reading those tokens.
    assert net_saved("anthropic", "claude-sonnet-4-5", usage, [], broken_tokens=600) == pytest.approx(-600 * 1.15 * PRICE)
    assert net_saved("anthropic", "claude-sonnet-4-5", Usage(), [(0.5, 1_000)]) == pytest.approx(1_000 * PRICE)
    assert cost("anthropic", "claude-sonnet-4-5", usage) == pytest.approx(
        (8_000 * 0.1 + 1_000 * 1.25 + 1_000) * PRICE + 100 * 15 / 1e6)


def test_openai_cached_input_has_no_write_premium_and_a_per_model_discount():
    usage = Usage(input=10_000, output=0, cache_read=6_000)  # prompt_tokens include the cached ones
    billed = regions("openai", "gpt-4o", usage)
    assert (billed.read, billed.written, billed.fresh, billed.read_rate) == (6_000, 0, 4_000, 0.5)
    assert regions("openai", "gpt-5-mini", usage).read_rate == 0.10
    price = 2.5 / 1_000_000
    assert net_saved("openai", "gpt-4o", usage, [(0.3, 1_000), (0.9, 1_000)]) == pytest.approx(1_500 * price)
    assert net_saved("openai", "gpt-4o", usage, [], broken_tokens=1_000) == pytest.approx(-500 * price)


def test_positions_follow_the_providers_render_order_not_the_json_order():
    body = {"messages": [{"role": "user", "content": "first part " * 50}, {"role": "user", "content": "second"}],
            "tools": [{"name": "t", "description": "x" * 1000}]}
    sent = json.dumps(body)
    first, second, missing = fractions(sent, ["first part " * 50, "second", "nowhere"])
    assert 0.5 < first < second < 1 and missing is None  # the tools come first, although written last


def test_account_warns_only_when_history_was_sent_differently_and_the_provider_wrote():
    sent = json.dumps({"messages": [{"role": "user", "content": "x" * 4000}, {"role": "user", "content": "new"}]})
    usage = Usage(input=10, output=5, cache_read=0, cache_write=1_000)
    saved = [(Outcome("y" * 8000, "x" * 4000, "json"), 1_000)]
    quiet = account("anthropic", "claude-sonnet-4-5", usage, sent, saved, 0, 0, False, 1_010)
    warned = account("anthropic", "claude-sonnet-4-5", usage, sent, saved, 0, 4_000, True, 1_010)
    assert quiet.warning is None and "context fit" in warned.warning
    assert warned.net_dollars_saved < quiet.net_dollars_saved
    no_write = account("anthropic", "claude-sonnet-4-5", Usage(input=10, output=5, cache_read=1_000, cache_write=0),
                       sent, saved, 0, 4_000, False, 1_010)
    assert no_write.warning is None


def test_an_old_ledger_file_gets_the_new_columns_and_old_rows_count_their_gross_savings(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
        session TEXT NOT NULL, provider TEXT NOT NULL, model TEXT, path TEXT NOT NULL, status INTEGER,
        tokens_before INTEGER NOT NULL, tokens_after INTEGER NOT NULL, engines TEXT NOT NULL DEFAULT '{}',
        usage_input INTEGER, usage_output INTEGER, usage_cache_read INTEGER, usage_cache_write INTEGER,
        dollars_saved REAL NOT NULL DEFAULT 0, duration_ms REAL);
        INSERT INTO requests (ts, session, provider, path, tokens_before, tokens_after, dollars_saved)
        VALUES (1, 's', 'anthropic', '/v1/messages', 100, 50, 0.5);""")
    conn.commit()
    conn.close()
    ledger = Ledger(path)
    ledger.record(RequestRecord(ts=2, session="s", provider="anthropic", model="claude-sonnet-4-5", path="/v1/messages",
                                tokens_before=100, tokens_after=10, dollars_saved=0.25, net_dollars_saved=0.05,
                                cache_breakpoints=4, cache_warning="cache write caused by Headroom: test"))
    totals = ledger.totals("s")
    assert totals.net_dollars_saved == pytest.approx(0.55) and totals.cache_warnings == 1
    assert totals.to_json()["net_dollars_saved"] == pytest.approx(0.55)
    latest = ledger.recent(1, "s")[0]
    assert (latest.cache_breakpoints, latest.net_dollars_saved) == (4, 0.05)


def test_the_dashboard_shows_net_dollars_volatile_prefixes_and_cache_warnings(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record(RequestRecord(ts=2, session="s", provider="anthropic", model="claude-sonnet-4-5", path="/v1/messages",
                                tokens_before=1000, tokens_after=100, usage=Usage(10, 5, 800, 100), dollars_saved=0.0027,
                                net_dollars_saved=0.0011, cache_warning="cache write caused by Headroom: a context fit"))
    ledger.record_volatile("s", "tool Bash", 212, "uuid", "id 1b4e28ba-2fa1", "id 9c0e11aa-0000")
    console = Console(record=True, width=200)
    console.print(dashboard.frame(ledger, "s"))
    screen = console.export_text()
    assert "net $ saved" in screen and "$0.0011" in screen and "list price, uncached" in screen
    assert "tool Bash" in screen and "uuid" in screen and "9c0e11aa" in screen
    assert "cache write caused by Headroom: a context fit" in screen and "800/100" in screen
