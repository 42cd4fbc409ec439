"""prompt.py: counting a request's tokens never serialises its blocks; the cache's key is the same when asked."""

from __future__ import annotations

import base64
import json

from headroom_cli import prompt
from headroom_cli.prompt import anthropic_blocks, openai_blocks, prompt_tokens
from headroom_cli.tokens import count_tokens
from image_samples import terminal_png

BODY = {
    "system": [{"type": "text", "text": "You are terse."}],
    "messages": [
        {"role": "user", "content": "Why does the refund test fail?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me run it."},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "FAILED test_refund\n" * 40,
             "cache_control": {"type": "ephemeral"}}]},
    ],
}


def _canon_calls(monkeypatch) -> list[object]:
    calls: list[object] = []
    real = prompt.canon

    def counting(value):
        calls.append(value)
        return real(value)

    monkeypatch.setattr(prompt, "canon", counting)
    return calls


def test_counting_tokens_serialises_no_message_block(monkeypatch):
    calls = _canon_calls(monkeypatch)
    text = json.dumps(BODY)
    n = prompt_tokens(text, count_tokens, "anthropic")
    words = ["You are terse.", "Why does the refund test fail?", "Let me run it.",
             'Bash {"command":"pytest -v"}', "FAILED test_refund\n" * 40]
    assert n == sum(count_tokens(w) for w in words)
    assert [c for c in calls if c not in BODY["system"]] == []  # the system's blocks only (made eagerly)


def test_the_cache_key_is_made_when_asked_and_is_the_serialised_block():
    blocks = anthropic_blocks(BODY)
    last = blocks[-1]
    assert last.breakpoint
    # cache_control left out, keys sorted: what the mock upstream's cache hashes
    assert last.canon == "user:" + json.dumps({"content": "FAILED test_refund\n" * 40, "tool_use_id": "toolu_1",
                                               "type": "tool_result"}, sort_keys=True, separators=(",", ":"))
    assert last.canon is last.canon  # made once


def test_a_block_without_words_is_counted_by_its_json():
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}
    (block,) = anthropic_blocks(body)
    assert block.text == 'user:{"text":"","type":"text"}'
    assert prompt_tokens(json.dumps(body), count_tokens, "anthropic") == count_tokens(block.text)


def test_a_data_image_is_still_billed_by_its_pixels():
    png = base64.b64encode(terminal_png(800, 600)).decode()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    url_image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    (block,) = anthropic_blocks({"messages": [{"role": "user", "content": [image]}]})
    assert block.image_tokens > 0 and block.text == ""
    chat = openai_blocks({"messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, url_image]}]})
    assert chat[0].image_tokens == 0
