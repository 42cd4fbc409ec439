"""Usage parsing, the savings ledger, the CCR store and retrieval."""

from __future__ import annotations

import gzip
import json

import pytest

from headroom_cli.ledger import Ledger, RequestRecord, Usage
from headroom_cli.markers import ccr_id, find_markers, line_marker
from headroom_cli.proxy.usage import UsageTap, usage_from_body
from headroom_cli.retrieve import NotFound, parse_range, retrieve
from headroom_cli.store import Store
from headroom_cli.tokens import count_tokens, dollars_for_input_tokens, input_price_per_mtok

ANTHROPIC_SSE = (
    b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":1200,'
    b'"cache_creation_input_tokens":300,"cache_read_input_tokens":5000,"output_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"hi"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":87}}\n\n'
)


def test_anthropic_sse_usage_split_anywhere():
    for cut in (1, 7, 50, 133, len(ANTHROPIC_SSE) - 3):
        tap = UsageTap()
        assert tap(ANTHROPIC_SSE[:cut]) + tap(ANTHROPIC_SSE[cut:]) == ANTHROPIC_SSE  # bytes pass unchanged
        assert (tap.usage.input, tap.usage.output, tap.usage.cache_read, tap.usage.cache_write) == (1200, 87, 5000, 300)


def test_gzip_sse_is_read_too():
    tap = UsageTap("gzip")
    packed = gzip.compress(ANTHROPIC_SSE)
    assert b"".join(tap(packed[i:i + 10]) for i in range(0, len(packed), 10)) == packed
    assert tap.usage.output == 87


def test_openai_usage_shapes():
    chat = usage_from_body(json.dumps({"usage": {"prompt_tokens": 900, "completion_tokens": 40,
                                                 "prompt_tokens_details": {"cached_tokens": 512}}}).encode())
    assert (chat.input, chat.output, chat.cache_read, chat.cache_write) == (900, 40, 512, None)
    tap = UsageTap()
    tap(b'event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":70,'
        b'"output_tokens":9,"input_tokens_details":{"cached_tokens":64}}}}\n\n')
    assert (tap.usage.input, tap.usage.output, tap.usage.cache_read) == (70, 9, 64)
    assert usage_from_body(b"not json") == Usage()


def test_ledger_totals_engines_and_sessions(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record(RequestRecord(ts=1.0, session="a", provider="anthropic", model="claude-sonnet-4-5", path="/v1/messages",
                                tokens_before=1000, tokens_after=200, engines={"testlog": [1, 900, 100]},
                                usage=Usage(250, 30, 100, 10), status=200, dollars_saved=0.0024))
    ledger.record(RequestRecord(ts=2.0, session="b", provider="openai", model="gpt-4o", path="/v1/chat/completions",
                                tokens_before=500, tokens_after=500, status=200))
    a = ledger.totals("a")
    assert (a.requests, a.tokens_saved, round(a.percent_saved), a.usage_cache_read) == (1, 800, 80, 100)
    assert ledger.totals().requests == 2 and ledger.latest_session() == "b"
    assert ledger.per_engine() == {"testlog": [1, 900, 100]}
    assert [r.session for r in ledger.recent(5)] == ["b", "a"]


def test_store_and_retrieve_lines_and_grep(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    text = "".join(f"line {i}\n" for i in range(1, 11))
    part_id = ccr_id(text)
    assert part_id.startswith("hr_") and len(part_id) == 19
    store.put(part_id, "logs", text)
    store.put(part_id, "logs", text)  # idempotent
    assert retrieve(store, part_id) == text
    assert retrieve(store, part_id, lines="3-5") == "line 3\nline 4\nline 5\n"
    assert retrieve(store, part_id, grep=r"line 1\d?$") == "1:line 1\n10:line 10\n"
    with pytest.raises(NotFound):
        retrieve(store, "hr_0000000000000000")
    for bad in ("5-3", "0-2", "x"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_marker_grammar_round_trips():
    marker = line_marker("hr_3fa92c1e0b7d5a41", 3, 1997, {"PASSED": 1995})
    assert marker == "[headroom: 1,995 lines omitted (1,995 PASSED) · retrieve hr_3fa92c1e0b7d5a41 --lines 3-1997]"
    (match,) = find_markers(f"before\n{marker}\nafter")
    assert (match.group("id"), match.group("a"), match.group("b")) == ("hr_3fa92c1e0b7d5a41", "3", "1997")


def test_tokens_and_prices():
    assert count_tokens("hello world") == 2  # cl100k_base, offline
    assert input_price_per_mtok("claude-opus-4-8") == 15.0
    assert input_price_per_mtok("gpt-4o-mini") == 0.15  # longest prefix wins
    assert input_price_per_mtok("anthropic/claude-sonnet-4-5") == 3.0
    assert dollars_for_input_tokens("claude-sonnet-4-5", 1_000_000) == 3.0
