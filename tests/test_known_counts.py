"""tokens.KNOWN: a compressed part's count, made by the pipeline's "pays for itself" check, is read by
the recorder instead of tokenizing the same text again; the ledger's figures stay exact."""

from __future__ import annotations

import json
import time

from headroom_cli import tokens
from headroom_cli.ledger import Ledger
from headroom_cli.pipeline import Outcome, _pays
from headroom_cli.proxy import recorder as recorder_module
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.tokens import KNOWN, KnownCounts, count_tokens, text_key

ORIGINAL = "".join(f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 7} request {i} handled in {i % 13} ms\n"
                   for i in range(400))
SHORT = ORIGINAL[:300] + "[headroom: 390 lines omitted · retrieve hr_0123456789abcdef --lines 5-394]\n"


def test_the_pays_check_keeps_the_count_of_the_output_it_counted_whole():
    assert _pays(ORIGINAL, SHORT)
    assert KNOWN.get(text_key(SHORT)) == count_tokens(SHORT)


def test_known_counts_are_bounded_oldest_first():
    known = KnownCounts(2)
    for i in range(3):
        known.put(text_key(str(i)), i)
    assert known.get(text_key("0")) is None and known.get(text_key("2")) == 2


def test_the_recorder_reads_a_known_count_instead_of_counting_again(tmp_path, monkeypatch):
    output = SHORT + "a line only this test has\n" * 90  # over piece_chunks' 2048 characters: counted by chunks
    assert _pays(ORIGINAL, output)
    counted: list[str] = []
    real = recorder_module.count_tokens

    def watched(text: str) -> int:
        counted.append(text)
        return real(text)

    monkeypatch.setattr(recorder_module, "count_tokens", watched)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger)
    body = json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": ORIGINAL}]})
    sent = json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": output}]})
    recorder.record(Exchange(ts=time.time(), session="s1", provider="anthropic", path="/v1/messages",
                             body_text=body, sent_text=sent, model="claude-sonnet-4-5", status=200,
                             outcomes=[Outcome(ORIGINAL, output, "logs", "logs", "0123456789abcdef")]))
    assert recorder.flush(30)
    recorder.close()
    assert not any("a line only this test has" in text for text in counted)  # the output: never tokenized here
    assert ledger.per_engine("s1")["logs"] == [1, count_tokens(ORIGINAL), count_tokens(output)]
    totals = ledger.totals("s1")
    assert totals.tokens_after == tokens.count_tokens(output)
