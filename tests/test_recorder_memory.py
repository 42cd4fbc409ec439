"""The recorder's per-request work and what it keeps: a text the forwarded body repeats from the client's
is found by value (not encoded and SHA-1-hashed again), counts stay exact, and an exchange lets go of
its bodies once counted (finished proxy flows, which hold it, wait for the cycle collector)."""

from __future__ import annotations

import json
import time

from headroom_cli.ledger import Ledger
from headroom_cli.pipeline import Outcome
from headroom_cli.proxy import recorder as recorder_module
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.tokens import count_tokens

BLOCKS = [f"step {i}: " + "".join(f"tests/test_mod{i}.py::test_case_{j} PASSED [{j}%]\n" for j in range(30))
          for i in range(6)]
SHORT = "tests/test_mod5.py: 30 passed [headroom: 30 lines omitted · retrieve hr_0123456789abcdef --lines 1-30]"


def _body(texts: list[str]) -> str:
    return json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 16,
                       "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": t}
                                    for i, t in enumerate(texts)]})


def _exchange(session: str = "s1") -> Exchange:
    sent = BLOCKS[:-1] + [SHORT]
    return Exchange(ts=time.time(), session=session, provider="anthropic", path="/v1/messages",
                    body_text=_body(BLOCKS), sent_text=_body(sent), model="claude-sonnet-4-5", status=200,
                    outcomes=[Outcome(BLOCKS[-1], SHORT, "logs", "logs", "0123456789abcdef")])


def test_texts_the_forwarded_body_repeats_are_hashed_once_and_counted_exactly(tmp_path, monkeypatch):
    hashed: list[str] = []
    real = recorder_module._digest
    monkeypatch.setattr(recorder_module, "_digest", lambda text: hashed.append(text) or real(text))
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger)
    recorder.record(_exchange())
    assert recorder.flush(30)
    recorder.close()
    whole = [t for t in hashed if t in BLOCKS or t == SHORT]  # piece_chunks' chunks are hashed too
    assert sorted(whole) == sorted(set(BLOCKS) | {SHORT})  # each once: client, forwarded and parts share them
    totals = ledger.totals("s1")
    assert totals.tokens_before == sum(map(count_tokens, BLOCKS))
    assert totals.tokens_after == sum(map(count_tokens, BLOCKS[:-1])) + count_tokens(SHORT)
    assert ledger.per_engine("s1")["logs"] == [1, count_tokens(BLOCKS[-1]), count_tokens(SHORT)]
    assert recorder._this == {}  # this request's texts are not kept past it


def test_an_exchange_lets_go_of_its_bodies_once_counted(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger)
    exchange = _exchange()
    recorder.record(exchange)
    assert recorder.flush(30)
    recorder.close()
    assert ledger.totals("s1").tokens_before == sum(map(count_tokens, BLOCKS))  # counted before let go
    assert (exchange.body_text, exchange.sent_text, exchange.outcomes, exchange.cache) == ("", None, [], None)


def test_an_exchange_dropped_from_a_full_queue_lets_go_of_its_bodies_too(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger, max_pending=1)
    with recorder._cond:  # the worker waits on this lock: the queue cannot drain meanwhile
        first, second = _exchange(), _exchange()
        recorder._pending.append(first)
        recorder.record(second)
    assert recorder.dropped == 1 and first.body_text == "" and first.outcomes == []
    recorder.close()


def _old_fractions_found(sent: str, text: str, start: int, end: int) -> int:
    """Where cache_account.fractions found a text before: json.dumps' escapes, then its ASCII ones."""
    for ascii_only in (False, True):
        encoded = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
        at = sent.find(encoded, start, end) if encoded else -1
        if at >= 0:
            return at
    return -1


def test_where_a_saving_sits_is_found_as_before():
    from headroom_cli import jsonspan
    from headroom_cli.proxy.cache_account import fractions

    texts = ['say "hi"\n\tback\\slash', "café ✓ naïve\u2028line", "ctrl \x01\x1f end", "plain words", "", "\ud800 lone"]
    for ascii_body in (False, True):
        sent = json.dumps({"system": "be brief", "messages": [{"role": "user", "content": t} for t in texts]},
                          ensure_ascii=ascii_body)
        conversation = jsonspan.index(sent, depth=1).members["messages"]
        prefix = len(json.dumps("be brief"))
        whole = prefix + conversation.end - conversation.start
        expected = []
        for text in texts:
            at = _old_fractions_found(sent, text, conversation.start, conversation.end)
            expected.append((prefix + at - conversation.start) / whole if at >= 0 else None)
        assert fractions(sent, texts) == expected
        assert sum(f is not None for f in expected) == len(texts) - 1  # only the empty text is nowhere


def test_counting_a_prompt_does_not_serialise_its_tools_and_system_for_the_cache_key(monkeypatch):
    from headroom_cli import prompt

    tools = [{"name": f"tool{i}", "description": "d" * 200, "input_schema": {"type": "object"}} for i in range(20)]
    body = {"tools": tools, "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "hello"}]}
    expected = [prompt.canon(t) for t in tools] + [prompt.canon(body["system"][0])]
    calls: list[object] = []
    real = prompt.canon
    monkeypatch.setattr(prompt, "canon", lambda value: calls.append(value) or real(value))
    n = prompt.prompt_tokens(json.dumps(body), count_tokens, "anthropic")
    assert calls == []  # counting reads the words only
    assert n == sum(count_tokens(prompt.as_sent(t)) for t in tools) + count_tokens("be brief") + count_tokens("hello")
    blocks = prompt.anthropic_blocks(body)
    assert [b.canon for b in blocks[:21]] == ["tool:" + c for c in expected[:20]] + ["system:" + expected[20]]
    assert blocks[20].breakpoint and not blocks[0].breakpoint
