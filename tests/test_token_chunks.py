"""The recorder counts a new text chunk by chunk (tokens.piece_chunks), remembering each chunk's count:
the sum must be exactly the whole text's count, whatever the text, and re-sent runs of lines are not
counted again. The ledger's figures must not move."""

from __future__ import annotations

import random

import pytest

from headroom_cli.ledger import Ledger
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.tokens import CHUNK_MIN, CHUNKS, count_tokens, piece_chunks, text_key

from test_tokens_floor import _texts


def _long(rng: random.Random) -> str:
    lines = []
    alphabet = ["a", "Z", "é", "7", " ", "\t", ".", "(", "'", "s", "🙂", "::", "\r", "\x1c", "日本"]
    for _ in range(rng.randint(50, 600)):
        lines.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(60))
def test_chunks_sum_to_the_whole_count(seed):
    text = _long(random.Random(seed))
    chunks = piece_chunks(text)
    assert "".join(chunks) == text
    assert sum(count_tokens(c) for c in chunks) == count_tokens(text)


def test_chunks_of_real_texts_sum_to_the_whole_count():
    for text in _texts():
        chunks = piece_chunks(text)
        assert "".join(chunks) == text
        assert sum(count_tokens(c) for c in chunks) == count_tokens(text)


def test_shared_runs_of_lines_give_shared_chunks():
    log = "".join(f"tests/test_m{i % 7}.py::test_{i} PASSED [{i % 100:3d}%]\n" for i in range(2000))
    first, again = piece_chunks("run 1\n" + log), piece_chunks("the second run, a longer header\n" + log)
    assert len(first) > 10 and all(len(c) < 20 * CHUNK_MIN for c in first)
    assert len(set(first) & set(again)) >= len(first) - 2  # only the chunk with the header differs


def _exchange(body: str) -> Exchange:
    return Exchange(ts=0.0, session="s", provider="anthropic", path="/v1/messages", body_text=body, status=200)


def test_the_ledger_counts_are_those_of_whole_texts(tmp_path):
    import json

    recorder = Recorder(Ledger.for_recording(tmp_path / "ledger.db"))
    try:
        log = "".join(f"2024-01-01 12:00:{i % 60:02d} INFO worker {i % 9} handled job {i}\n" for i in range(3000))
        for header in ("first run\n", "a second, longer header line\n", "first run\n"):
            body = json.dumps({"model": "claude-sonnet-4-5", "messages": [
                {"role": "user", "content": [{"type": "text", "text": header + log}]}]})
            record = recorder._record(_exchange(body))
            assert record.tokens_before == count_tokens(header + log)
        chunks = piece_chunks(header + log)  # counted by chunks, and the log's chunks were remembered
        assert len(chunks) > 2 and all(CHUNKS.get(text_key(c)) == count_tokens(c) for c in chunks)
    finally:
        recorder.close()
