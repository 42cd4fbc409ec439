"""The exact shortcuts the pipeline takes on big parts: whether a part holds enough tokens (without
tokenizing all of it) and where embedded JSON documents start (without a loop over every line)."""

from __future__ import annotations

import json
import random

import pytest

from headroom_cli import sections
from headroom_cli.markers import original_lines
from headroom_cli.tokens import count_tokens, tokens_reach


def _texts() -> list[str]:
    rng = random.Random(3)
    words = ["alpha", "Beta", "12345", "x_y", "über", "東京都", "😀", "{", "}", "<div>", "&amp;", "'s", "--"]
    blanks = [" ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n", "\x1c", "\u3000", "\xa0"]
    made = ["".join(rng.choice(words) + rng.choice(blanks) for _ in range(rng.randint(50, 3000))) for _ in range(12)]
    html = "<html><body>" + "".join(f"<p class='x'>Paragraph {i} of the page.</p>\n" for i in range(3000)) + "</body>"
    return made + [html, "one line without breaks " * 2000, "\n" * 5000, "x\ny\n" * 4000]


@pytest.mark.parametrize("text", _texts())
def test_tokens_reach_agrees_with_counting_everything(text):
    total = count_tokens(text)
    for need in (0, 1, total // 7, total // 2, total - 1, total, total + 1, total * 2):
        assert tokens_reach(text, need) == (total >= need), (need, total)


def _json_blocks_by_every_line(lines: list[str]) -> list[tuple[int, int]]:
    """The plain loop the one-pass scan replaced: every line tried."""
    text = "".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    found, i = [], 0
    while i < len(lines):
        if sections._JSON_START.match(lines[i]):
            at = starts[i] + len(lines[i]) - len(lines[i].lstrip(" \t"))
            try:
                _, end = sections._decoder.raw_decode(text, at)
            except ValueError:
                i += 1
                continue
            span = text.count("\n", at, end) + 1
            if span >= sections.MIN_JSON_LINES:
                found.append((i, i + span))
                i += span
                continue
        i += 1
    if found == [(0, len(lines))] or (len(found) == 1 and found[0][0] == 0 and found[0][1] >= len(lines) - 1):
        return []
    return found


@pytest.mark.parametrize("seed", range(6))
def test_embedded_json_is_found_where_every_line_would_find_it(seed):
    rng = random.Random(seed)
    doc = json.dumps({"items": [{"id": i, "tags": ["a", "b"]} for i in range(8)]}, indent=2)
    pieces = []
    for _ in range(rng.randint(2, 8)):
        pieces.append(rng.choice([
            "INFO starting worker\n", "  [not json at all\n", "{broken\n", doc + "\n",
            "  " + doc.replace("\n", "\n  ") + "\n",
            "[1, 2]\n", json.dumps(list(range(30)), indent=1) + "\n", "plain text line\n" * rng.randint(1, 5)]))
    text = "".join(pieces)
    lines = original_lines(text)
    assert sections._json_blocks(lines) == _json_blocks_by_every_line(lines)


def test_embedded_json_after_a_banner_is_its_own_section():
    doc = json.dumps({"a": list(range(20))}, indent=2)
    split = sections.split("Fetching the record...\n" + doc + "\nDone in 3 s\n")
    assert split is not None and [s.first_line for s in split] == [0, 1, 1 + doc.count("\n") + 1]
