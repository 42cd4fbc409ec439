"""The request body read once: what later steps reuse instead of reading 100 KB of JSON again must be
exactly what reading it again would give (the client's body, the body sent, the body offered)."""

from __future__ import annotations

import json

import pytest

from headroom_cli import cache_aligner, jsonspan
from headroom_cli.config import Settings
from headroom_cli.pipeline import Pipeline
from headroom_cli.prompt import prompt_tokens
from headroom_cli.providers import adapter_for
from headroom_cli.proxy.retrieval import ANTHROPIC_API, OPENAI_CHAT_API, definition_text, offer, offered_body
from headroom_cli.rewrite import rewrite_body
from headroom_cli.shaping import CacheNote, RequestShaper
from headroom_cli.tokens import count_tokens

from samples import pytest_verbose_log

ANTHROPIC = adapter_for("/v1/messages")
API = ANTHROPIC.api


def _conversation(turns: int) -> dict:
    messages = [{"role": "user", "content": "fix the failing test"}]
    for n in range(turns):
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": f"run {n}"},
            {"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {"command": f"pytest -k case{n}", "n": 1.0}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{n}", "content": pytest_verbose_log(600 + n) if n % 2 else "ok"},
            {"type": "text", "text": "go on", "cache_control": {"type": "ephemeral"}}]})
    return {"model": "claude-opus-4-8", "system": "be brief", "messages": messages, "max_tokens": 10}


@pytest.mark.parametrize("options", [{"separators": (",", ":"), "ensure_ascii": False}, {"indent": 1}])
def test_the_client_body_kept_is_the_body_as_sent_and_shares_the_messages_left_alone(options):
    raw = json.dumps(_conversation(5), **options).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    assert rewrite.changed
    client = rewrite.client.parsed()
    assert jsonspan.same(client, json.loads(raw))  # 1.0 stays 1.0: exactly what reading it again gives
    assert jsonspan.same(rewrite.parsed, json.loads(rewrite.body))  # and the edited one is what is sent
    shared = [a is b for a, b in zip(client["messages"], rewrite.parsed["messages"])]
    assert shared == [m == s for m, s in zip(client["messages"], rewrite.parsed["messages"])]
    assert not all(shared) and any(shared)


def test_a_body_edited_outside_its_slots_is_not_claimed_known():
    raw = json.dumps(_conversation(3)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    rewrite.client.before_write({"not": "in the body"})
    assert rewrite.client.parsed() is None


def test_digests_reused_by_identity_are_the_ones_computed_again_and_tell_messages_apart():
    raw = json.dumps(_conversation(5)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    client = rewrite.client.parsed()
    digests, sizes = cache_aligner.message_digests(client, API)
    reused = cache_aligner.message_digests(rewrite.parsed, API, (client, digests, sizes))
    assert reused == cache_aligner.message_digests(rewrite.parsed, API)
    assert reused[0] != digests  # the compressed outputs read differently
    # Equal messages give equal digests (cache_control and a string-vs-block content aside), others not.
    a = {"role": "user", "content": "hi"}
    b = {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
    c = {"role": "user", "content": "hi!"}
    got, _ = cache_aligner.message_digests({"messages": [a, b, c]}, API)
    assert got[0] == got[1] != got[2]


def test_the_shaper_remembers_both_bodies_and_the_recorder_counts_them_the_same():
    raw = json.dumps(_conversation(5)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    shaped = RequestShaper(Settings.resolve()).shape(raw, rewrite, ANTHROPIC, "anthropic")
    note = shaped.note
    client_text, sent_text = raw.decode(), shaped.body.decode()
    for text in (client_text, sent_text):
        known = note.parsed(text)
        assert known is not None and jsonspan.same(known, json.loads(text))
        assert prompt_tokens(text, count_tokens, "anthropic", known) == prompt_tokens(text, count_tokens, "anthropic")
    assert note.parsed(client_text + " ") is None and CacheNote().parsed(client_text) is None


@pytest.mark.parametrize("raw", [
    b'{"model":"m","tools":[{"name":"Bash","input_schema":{}}],"messages":[]}',
    b'{\n  "tools": [\n    {"name": "Bash"}\n  ],\n  "messages": []\n}',
    b'{"tools":[ ],"messages":[{"role":"user","content":"see [headroom: x \xc2\xb7 retrieve hr_0123456789abcdef]"}]}',
    b'{"messages":[{"role":"user","content":"retrieve hr_0123456789abcdef"}] , "stream" : true }',
    b'{"tools":[{"name":"A"}],"tools":[{"name":"Bash"}],"messages":[]}',  # a reader keeps the last
])
@pytest.mark.parametrize("api", [ANTHROPIC_API, OPENAI_CHAT_API])
def test_the_offered_body_reads_as_the_body_with_our_tool_and_keeps_every_other_byte(raw, api):
    body = json.loads(raw)
    new = offer(raw, body, api)
    assert new is not None and jsonspan.same(json.loads(new), offered_body(body, api))
    tool = definition_text(api).encode()
    inserted = (b"," + tool, tool, b',"tools":[' + tool + b"]")
    assert any(new.replace(piece, b"", 1) == raw for piece in inserted)  # every other byte as it was


def test_no_offer_where_the_text_is_not_the_json_object_expected():
    body = {"tools": [{"name": "Bash"}], "messages": []}
    assert offer(b'{"tools":[{"name":"Bash"}],"messages":[]', body, ANTHROPIC_API) is None  # cut short
    assert offer(b'\xef\xbb\xbf{"tools":[{"name":"Bash"}],"messages":[]}', body, ANTHROPIC_API) is None  # a BOM


def test_before_space_steps_back_over_json_whitespace_only():
    assert jsonspan.before_space('[1, 2 \n\t]', 8) == 5
    assert jsonspan.before_space('[ ]', 2) == 1
    assert jsonspan.before_space('x', 0) == 0
