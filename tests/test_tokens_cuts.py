"""Where tokens.py cuts texts for counting (piece_chunks, tokens_reach) is found with a faster pattern
(_PIECE_CUT: a line break first) at exactly the places _PIECE_BOUNDARY names: counts and the chunks
the recorder's memo keys stay the same."""

from __future__ import annotations

import random
import zlib

from headroom_cli.tokens import _PIECE_CUT, count_tokens, piece_chunks, tokens_reach

from test_tokens_floor import _PIECE_BOUNDARY, assert_cut_exactly


def _texts() -> list[str]:
    rng = random.Random(7)
    lines = [f"tests/test_{rng.choice('abc')}.py::test_{i} PASSED [{i % 100}%]" for i in range(400)]
    odd = "".join(rng.choice(["a", "b ", "\n", " \n", "\n\n", "é", "✓", "\t", "x\n "]) for _ in range(20000))
    return ["\n".join(lines) + "\n", odd, "x\n" * 3000, "\n" * 50 + "a\nb\n", "no breaks " * 500]


def _old_piece_chunks(text: str) -> list[str]:
    """piece_chunks as it was written before (the boundary's start, the line sliced at every break)."""
    if len(text) < 2048:
        return [text]
    chunks, start = [], 0
    for boundary in _PIECE_BOUNDARY.finditer(text):
        pos = boundary.start()
        line = text[text.rfind("\n", 0, pos - 1) + 1:pos - 1]
        if pos - start >= 256 and zlib.crc32(line.encode()) % 16 == 0:
            chunks.append(text[start:pos])
            start = pos
    chunks.append(text[start:])
    return chunks


def test_the_fast_pattern_finds_the_same_places():
    for text in _texts():
        assert [m.end() for m in _PIECE_CUT.finditer(text)] == [m.start() for m in _PIECE_BOUNDARY.finditer(text)]
        for at in range(1, len(text), 97):  # tokens_reach's search from a position
            old = _PIECE_BOUNDARY.search(text, at)
            new = _PIECE_CUT.search(text, at - 1)
            assert (old.start() if old else None) == (new.end() if new else None)


def test_piece_chunks_cuts_where_it_did_and_counts_exactly():
    for text in _texts():
        chunks = piece_chunks(text)
        assert chunks == _old_piece_chunks(text)
        assert_cut_exactly(chunks, text)


def test_tokens_reach_still_answers_exactly():
    for text in _texts():
        n = count_tokens(text)
        for need in (1, n // 3, n - 1, n, n + 1):
            assert tokens_reach(text, need) == (n >= need)
