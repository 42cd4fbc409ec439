"""fewer_tokens_by: the pipeline's "does this marker pay" check for a long output counts only the lines
that differ from its input. It must give exactly the answer two full counts give, whatever the texts."""

from __future__ import annotations

import random

import pytest

from headroom_cli.tokens import count_tokens, fewer_tokens_by, line_chunks

from test_tokens_floor import TRICKY, _texts, assert_cut_exactly


@pytest.mark.parametrize("text", _texts())
def test_line_chunks_sum_to_the_whole_count(text):
    assert_cut_exactly(line_chunks(text), text)


def test_indented_lines_are_cut_and_blank_ones_are_not():
    assert line_chunks("a:\n  b\n  c\n") == ["a:\n", "  b\n", "  c\n"]
    assert line_chunks("a\n  \n  b\n") == ["a\n  \n  b\n"]  # white space runs over the blank line
    assert line_chunks("a \n  b\n") == ["a \n  b\n"]  # a line ending in a space is not a cut


def _edited(text: str, rng: random.Random) -> str:
    """text with lines dropped, shortened, duplicated or replaced by a marker, as an engine's output."""
    lines = text.splitlines(keepends=True) or [text]
    for _ in range(rng.randint(1, 30)):
        i = rng.randrange(len(lines))
        lines[i:i + rng.randint(1, 8)] = [rng.choice(["[headroom: 3 lines omitted]\n", "", "  indented\n",
                                                      lines[i] * 2, lines[i][:rng.randrange(len(lines[i]) + 1)]])]
    return "".join(lines)


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_counting_both_whole(seed):
    rng = random.Random(seed)
    texts = _texts()
    original = rng.choice(texts[:len(TRICKY)] + texts[-40:])
    output = _edited(original, rng)
    cut = count_tokens(original) - count_tokens(output)
    for need in (cut - 1, cut, cut + 1, 0, 150):
        assert fewer_tokens_by(original, output, need) == (cut >= need), need


def test_an_output_sharing_nothing_is_counted_whole():
    original = "".join(f'    "key_{i}": "value {i}",\n' for i in range(400))
    output = original.replace("    ", "  ")
    cut = count_tokens(original) - count_tokens(output)
    assert fewer_tokens_by(original, output, cut) and not fewer_tokens_by(original, output, cut + 1)


@pytest.mark.parametrize("copies", [1, 3, 40])
def test_output_printed_again_and_again_is_counted_exactly(copies):
    """A report printed after every rebuild, each copy re-rendered: the chunks are counted once each,
    times their copies, which must give what counting both texts whole gives."""
    report = "".join(f'  {{"id": {i}, "name": "item-{i}", "tags": ["a", "b"]}},\n' for i in range(30))
    original = "[\n" + report * copies + "]\n"
    output = "[\n" + report.replace('"tags": ["a", "b"]', '"tags": 2').replace("  {", "{") * copies + "]\n"
    cut = count_tokens(original) - count_tokens(output)
    for need in (cut - 1, cut, cut + 1, 150):
        assert fewer_tokens_by(original, output, need) == (cut >= need), need
