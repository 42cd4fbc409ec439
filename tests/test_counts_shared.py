"""tokens.CHUNKS: the chunks of a new tool output that the pipeline's "pays for itself" check counts
(tokens_reach) are found by the recorder, which counts the same output for the ledger moments later:
each chunk is tokenized once in the process, by one or the other, and the ledger's counts stay exact."""

from __future__ import annotations

import json
import time

from headroom_cli import tokens
from headroom_cli.ledger import Ledger
from headroom_cli.pipeline import LOSSY_MIN_TOKENS, Outcome, _pays
from headroom_cli.proxy import recorder as recorder_module
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.tokens import count_tokens, piece_chunks, tokens_reach

# Few white-space runs (one word a line): tokens_reach cannot answer from the words and counts chunks.
ORIGINAL = "".join(f"2024-05-01T12:00:{i % 60:02d}|INFO|shared-counts-{i % 7}|req={i}|took={i % 13}ms\n"
                   for i in range(500))
SHORT = ORIGINAL[:400] + "[headroom: 490 lines omitted · retrieve hr_0123456789abcdef --lines 6-495]\n"


def _watch(monkeypatch, module) -> list[str]:
    """The texts handed to ``module``'s count_tokens from now on (the real count is returned)."""
    counted: list[str] = []
    real = module.count_tokens
    monkeypatch.setattr(module, "count_tokens", lambda text: counted.append(text) or real(text))
    return counted


def _record(tmp_path, original: str, outcomes: list[Outcome], sent: str | None = None) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    recorder = Recorder(ledger)
    body = json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": original}]})
    sent_body = json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": sent}]}) \
        if sent is not None else None
    recorder.record(Exchange(ts=time.time(), session="s1", provider="anthropic", path="/v1/messages",
                             body_text=body, sent_text=sent_body, model="claude-sonnet-4-5", status=200,
                             outcomes=outcomes))
    assert recorder.flush(30)
    recorder.close()
    return ledger


def test_what_the_pays_check_counted_of_an_original_the_recorder_does_not_count_again(tmp_path, monkeypatch):
    assert len(ORIGINAL.split()) < LOSSY_MIN_TOKENS  # the words alone cannot tell: chunks are counted
    pipeline_counted = _watch(monkeypatch, tokens)
    assert _pays(ORIGINAL, SHORT)
    prefix = [text for text in pipeline_counted if text != SHORT]  # the output is counted whole (tokens.KNOWN)
    chunks = piece_chunks(ORIGINAL)
    assert prefix and prefix == chunks[:len(prefix)] and len(prefix) < len(chunks)  # a prefix, not the whole
    recorder_counted = _watch(monkeypatch, recorder_module)
    ledger = _record(tmp_path, ORIGINAL, [Outcome(ORIGINAL, SHORT, "logs", "logs", "0123456789abcdef")], SHORT)
    assert recorder_counted == chunks[len(prefix):]  # the rest of the original, and nothing else
    assert ledger.totals("s1").tokens_before == count_tokens(ORIGINAL)
    assert ledger.per_engine("s1")["logs"] == [1, count_tokens(ORIGINAL), count_tokens(SHORT)]


def test_an_original_the_check_counted_whole_is_not_tokenized_by_the_recorder(tmp_path, monkeypatch):
    original = ORIGINAL.replace("shared-counts", "counted-whole")
    assert not tokens_reach(original, count_tokens(original) + 1)  # counted to its end: every chunk
    recorder_counted = _watch(monkeypatch, recorder_module)
    ledger = _record(tmp_path, original, [Outcome(original, original)])
    assert recorder_counted == []
    assert ledger.totals("s1").tokens_before == count_tokens(original)


def test_a_short_original_the_check_counted_as_one_chunk_is_not_tokenized_again(tmp_path, monkeypatch):
    original = ORIGINAL.replace("shared-counts", "one-chunk")[:1800]  # under CHUNK_MIN: one chunk
    assert piece_chunks(original) == [original] and not tokens_reach(original, count_tokens(original) + 1)
    recorder_counted = _watch(monkeypatch, recorder_module)
    ledger = _record(tmp_path, original, [Outcome(original, original)])
    assert recorder_counted == []
    assert ledger.totals("s1").tokens_before == count_tokens(original)


def test_a_chunk_counted_by_the_recorder_first_is_found_by_the_check(monkeypatch):
    text = ORIGINAL.replace("shared-counts", "recorder-first")
    for chunk in piece_chunks(text):
        tokens.chunk_tokens(chunk, count_tokens)
    pipeline_counted = _watch(monkeypatch, tokens)
    assert tokens_reach(text, count_tokens(text)) and not tokens_reach(text, count_tokens(text) + 1)
    assert pipeline_counted == []


def test_a_long_run_of_lines_alike_is_cut_all_the_same():
    lines = "=" * 60 + "\n"  # the same line throughout: its hash decides nothing
    text = lines * 2000
    chunks = piece_chunks(text)
    assert "".join(chunks) == text and max(map(len, chunks)) < tokens.CHUNK_MAX + len(lines)
    assert sum(map(count_tokens, chunks)) == count_tokens(text)
