"""Body rewriting: only the compressed strings change; everything else keeps its bytes."""

from __future__ import annotations

import json

import pytest

from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import adapter_for
from headroom_cli.rewrite import NotRewritable, rewrite_body

from samples import FAILED_TEST, pytest_verbose_log

ANTHROPIC = adapter_for("/v1/messages")


def _body(tool_output: str, **dump_options) -> bytes:
    body = {"model": "claude-opus-4-8", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "héllo ✓ — run it"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"n": 1.50}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": tool_output}]}],
        "temperature": 1.0}
    return json.dumps(body, **dump_options).encode()


@pytest.mark.parametrize("options", [
    {"separators": (",", ":"), "ensure_ascii": False},  # how JavaScript clients write JSON
    {"ensure_ascii": True},  # how Python clients write it: spaces, \\u escapes
    {"indent": 2},
])
def test_splice_keeps_every_other_byte(options):
    log = pytest_verbose_log(1500) + "naïve ✓ unicode tail\n"
    raw = _body(log, **options)
    result = rewrite_body(raw, ANTHROPIC, Pipeline())
    assert result.changed and result.model == "claude-opus-4-8"
    compressed = json.loads(result.body)["messages"][2]["content"][0]["content"]
    assert FAILED_TEST in compressed
    ascii_only = options.get("ensure_ascii", True)
    # Put the original back where the compressed text is: the bytes must be exactly what was sent.
    restored = result.body.replace(json.dumps(compressed, ensure_ascii=ascii_only).encode(),
                                   json.dumps(log, ensure_ascii=ascii_only).encode())
    assert restored == raw


def test_nothing_to_compress_returns_the_same_bytes_object():
    raw = _body("short")
    result = rewrite_body(raw, ANTHROPIC, Pipeline())
    assert not result.changed and result.body is raw


def test_same_text_earlier_in_an_untouchable_field_falls_back_to_a_correct_body():
    log = pytest_verbose_log(1500)
    body = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": log}]},  # user pasted the same log: never touched
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]}
    result = rewrite_body(json.dumps(body).encode(), ANTHROPIC, Pipeline())
    got = json.loads(result.body)
    assert got["messages"][0]["content"][0]["text"] == log
    assert len(got["messages"][2]["content"][0]["content"]) < len(log) // 5


@pytest.mark.parametrize("raw", [b"{oops", b"\xff\xfe", b"[1, 2]", b"null"])
def test_not_rewritable(raw):
    with pytest.raises(NotRewritable):
        rewrite_body(raw, ANTHROPIC, Pipeline())

