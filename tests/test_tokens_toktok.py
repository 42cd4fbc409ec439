"""toktok counts what tiktoken counts: on every text of the corpus, slices of them cut anywhere, and random
strings of the characters tokenizers disagree on; and count_tokens falls back to tiktoken where toktok
cannot answer (a lone surrogate) or is not to be trusted."""

from __future__ import annotations

import random
import pytest

from headroom_cli.tokens import AGREE_ON, count_tokens, exact_counter, tiktoken_count

toktok = pytest.importorskip("toktok", reason="toktok comes with the proxy extra (scripts/test installs it)")

_ALPHABET = (" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\u200b abcXYZ019'\"!?.,;:-_/\\()[]{}<>=+*&#@$%^~`|"
             "éß中文東京😀🧠ﬁ\u0301x²Ⅻ")


def _corpus_texts(corpus_dir) -> list[str]:
    texts = []
    for root in (corpus_dir, corpus_dir.with_name("corpus-rtk")):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, OSError):
                    continue
    return texts


def test_agree_on_holds_tiktokens_counts():
    assert {text: tiktoken_count(text) for text in AGREE_ON} == AGREE_ON


def test_installed_toktok_is_the_counter():
    assert exact_counter() is not tiktoken_count  # it agreed on AGREE_ON: count_tokens uses it


def test_counts_equal_tiktoken_on_the_corpus_and_its_slices(corpus_dir):
    texts = _corpus_texts(corpus_dir)
    assert len(texts) > 50
    rng = random.Random(7)
    slices = []
    for text in texts:  # cut anywhere: inside a word, between \r and \n, inside a run of blanks
        for _ in range(4):
            start = rng.randrange(len(text) or 1)
            slices.append(text[start:start + rng.randrange(1, 4000)])
    differ = [text[:60] for text in texts + slices if count_tokens(text) != tiktoken_count(text)]
    assert differ == []


def test_counts_equal_tiktoken_on_random_strings():
    rng = random.Random(11)
    for _ in range(5000):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(1, 80)))
        assert count_tokens(text) == tiktoken_count(text), repr(text)


def test_a_lone_surrogate_is_counted_by_tiktoken():
    text = "broken \ud83d half of an emoji"
    with pytest.raises(UnicodeEncodeError):
        exact_counter()(text)
    assert count_tokens(text) == tiktoken_count(text) > 0


def test_a_toktok_that_disagrees_is_not_used(monkeypatch):
    class OffByOne:
        def __init__(self, name):
            self.real = toktok._encoding(name)

        def count(self, text):
            return self.real.count(text) + ("\n" in text)  # off on a few of AGREE_ON's texts

    monkeypatch.setattr(toktok, "_encoding", OffByOne)
    exact_counter.cache_clear()
    try:
        assert exact_counter() is tiktoken_count
    finally:
        monkeypatch.undo()
        exact_counter.cache_clear()
    assert exact_counter() is not tiktoken_count

