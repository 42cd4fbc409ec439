"""tokens_reach: the pipeline's "does this marker pay" check counts only part of a big original; it must
give exactly the answer a full count gives (decisions are byte-identical whatever the shortcut)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from headroom_cli.tokens import count_tokens, tokens_reach

# Where cl100k's pre-tokenizer cuts at a line break, written plainly (tokens.py finds the same places
# with a faster pattern, tests/test_tokens_cuts.py): between two non-blank characters.
_PIECE_BOUNDARY = re.compile(r"(?<=\S\n)(?=\S)")
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data"

TRICKY = [
    "a\n b\n\n  c\r\n\r\nd",  # whitespace after newlines: not a cut
    "x = f(y);\n}\n\n\n  ok\n",  # punctuation then newlines, trailing white space
    "PASSED\ttests/a.py::t[1]\n  \n\t\nFAILED tests/b.py::t - AssertionError: 1 != 2\n",
    "naïve café — ünïcödé\n日本語のテキスト\n🙂🙂🙂\n'll 've 're\n's\nIt's\n",
    "1234567\n12\n.5\n-3\n   \n",
    "end with spaces   ",
    "\n\n\nleading newlines\n",
]


def _texts() -> list[str]:
    rng = random.Random(19)
    texts = list(TRICKY)
    alphabet = ["a", "Z", "é", "7", " ", "  ", "\n", "\r\n", "\t", ".", "(", "'", "s", "🙂", "::", "\n ", "- "]
    for _ in range(200):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))))
    for path in sorted(CORPUS.rglob("*"))[:40]:
        if path.is_file() and path.stat().st_size < 400_000:
            try:
                texts.append(path.read_text("utf-8"))
            except UnicodeDecodeError:
                pass
    return texts


def _pieces(text: str) -> list[str]:
    """The text cut at every place tokens_reach may cut it."""
    cuts = [0] + [m.start() for m in _PIECE_BOUNDARY.finditer(text)] + [len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def assert_cut_exactly(pieces: list[str], text: str) -> None:
    """``pieces`` make up ``text`` and their token counts sum to its count."""
    assert "".join(pieces) == text
    assert sum(count_tokens(p) for p in pieces) == count_tokens(text)


@pytest.mark.parametrize("text", _texts())
def test_counts_add_up_over_the_cuts(text):
    assert_cut_exactly(_pieces(text), text)


def test_tokens_reach_agrees_with_a_full_count():
    log = "".join(f"tests/test_m{i % 7}.py::test_{i} PASSED{' ' * (i % 3)}\n  detail {i}\n" for i in range(3000))
    total = count_tokens(log)
    for floor in (0, 1, 600, total - 1, total, total + 1, 10 * total):
        assert tokens_reach(log, floor) == (total >= floor), floor
    for text in TRICKY:
        n = count_tokens(text)
        assert [tokens_reach(text, f) for f in range(n + 2)] == [True] * (n + 1) + [False]
