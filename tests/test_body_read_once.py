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
from headroom_cli.proxy.cache_account import fractions
from headroom_cli.proxy.retrieval import ANTHROPIC_API, OPENAI_CHAT_API, definition_text, offer, offered_body
from headroom_cli.rewrite import _splice, rewrite_body
from headroom_cli.shaping import RequestShaper
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


@pytest.mark.parametrize("relayed", [True, False])
def test_the_proxy_hands_its_recorder_the_bodies_it_read_and_they_count_the_same(tmp_path, monkeypatch, relayed):
    from headroom_cli.proxy.addon import HeadroomAddon

    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path))
    addon = HeadroomAddon(Settings.resolve(), Pipeline(), None, None, None, "test")
    addon.relay = object() if relayed else None  # offers the retrieve tool (only its presence is read)
    raw = json.dumps(_conversation(5)).encode()
    rewrite, offered = addon._prepare(raw, ANTHROPIC)
    note = rewrite.note
    assert (offered is not None) == relayed and note.parsed(raw.decode() + " ") is None
    for text in (raw.decode(), (offered or rewrite.body).decode()):
        known = note.parsed(text)
        assert known is not None and jsonspan.same(known, json.loads(text))
        assert prompt_tokens(text, count_tokens, "anthropic", known) == prompt_tokens(text, count_tokens, "anthropic")
    assert note.bodies == [] and note.parsed(raw.decode()) is None  # each handed out once, then let go
    # And where the sent body's members stand, for where each saving sits (the same as indexing it).
    texts = [o.text for o in rewrite.outcomes if o.changed]
    assert note.sent_root is not None and texts
    assert fractions(note.sent, texts, note.sent_root) == fractions(note.sent, texts) != [None] * len(texts)


def test_the_shaper_leaves_bodies_out_of_the_note_the_library_hands_its_caller_objects_it_may_change():
    raw = json.dumps(_conversation(3)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    shaped = RequestShaper(Settings.resolve()).shape(raw, rewrite, ANTHROPIC, "anthropic")
    assert shaped.note.sent and shaped.note.bodies == []


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


# -- one reading: json.loads's value, and where the items stand ----------------------------------------

@pytest.mark.parametrize("text", [
    '{}', '[]', ' {"a" : 1 , "a" : [2, {"b": []}] } ', '{"m":[{"x":1.0},"s",[1, 2]],"t":true}', '"s"', '3',
])
def test_read_gives_what_json_loads_gives_and_true_spans(text):
    value, node = jsonspan.read(text, 2)
    assert jsonspan.same(value, json.loads(text)) and text[node.start:node.end] == text.strip()
    for key, member in node.members.items():
        assert jsonspan.same(json.loads(text[member.start:member.end]), value[key])
        for item, child in zip(value[key] if member.kind == "array" else [], member.items):
            assert jsonspan.same(json.loads(text[child.start:child.end]), item)


@pytest.mark.parametrize("text", ['', '{', '{"a":}', '[1,]', '{"a" 1}', '[1 2]', '{"a":1}x', '{,}', '{"a":[1}'])
def test_read_refuses_what_json_loads_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsonspan.read(text, 2)


# -- a splice proven by the items it changed ----------------------------------------------------------

def _read(body: dict, **options):
    from headroom_cli import client_body

    raw = json.dumps(body, **options).encode()
    return raw, *client_body.read(raw, "messages")


@pytest.mark.parametrize("options", [{}, {"ensure_ascii": False, "indent": 1}])
def test_a_splice_into_the_item_written_is_proven_and_one_elsewhere_is_refused(options):
    body = {"system": "x", "messages": [{"role": "user", "content": "same é"}, {"role": "user", "content": "same é"}]}
    raw, parsed, client = _read(body, **options)
    client.before_write(parsed["messages"][1])
    parsed["messages"][1]["content"] = "new"
    old, new = json.dumps("same é", **options).encode(), json.dumps("new").encode()
    first, second = raw.find(old), raw.rfind(old)
    right = raw[:second] + new + raw[second + len(old):]
    wrong = raw[:first] + new + raw[first + len(old):]  # the same text, in the message not written
    assert client.splice_proven(right, [(second, second + len(old), len(new) - len(old))]) is True
    # The message written left as it was: not proven here, and refused by reading it whole.
    assert client.splice_proven(wrong, [(first, first + len(old), len(new) - len(old))]) is None
    assert json.loads(right) == parsed and json.loads(wrong) != parsed
    assert _splice(raw, [("same é", "new")], parsed, client) is None
    # Both changed where one only was written: refused by reading the two messages changed.
    both = raw[:first] + new + raw[first + len(old):second] + new + raw[second + len(old):]
    grow = len(new) - len(old)
    assert client.splice_proven(both, [(first, first + len(old), grow), (second, second + len(old), grow)]) is False
    at = raw.find(b'"x"')  # outside every item: not told by the items, read whole instead
    assert client.splice_proven(raw[:at] + b'"y"' + raw[at + 3:], [(at, at + 3, 0)]) is None


def test_the_root_spans_after_a_proven_splice_are_the_indexed_ones():
    body = {"model": "m", "messages": [{"role": "user", "content": "é" * 50}], "tools": [{"name": "Bash"}], "z": 1}
    raw, parsed, client = _read(body, ensure_ascii=False)
    client.before_write(parsed["messages"][0])
    parsed["messages"][0]["content"] = "short"
    old, new = json.dumps("é" * 50, ensure_ascii=False).encode(), b'"short"'
    at = raw.find(old)
    spliced = raw[:at] + new + raw[at + len(old):]
    assert client.splice_proven(spliced, [(at, at + len(old), len(new) - len(old))])
    text = spliced.decode()
    got, want = client.root_after(text), jsonspan.index(text, depth=1)
    assert (got.start, got.end) == (want.start, want.end)
    assert {k: (n.start, n.end) for k, n in got.members.items()} == {k: (n.start, n.end) for k, n in want.members.items()}
    assert client.root_after(text + " ") is not None and client.root_after(raw.decode() + " ") is not None
    fresh = _read(body, ensure_ascii=False)[2]
    assert fresh.root_after(raw.decode()) is fresh._root and fresh.root_after(text) is None  # never spliced


def test_message_digests_looked_up_by_bytes_are_the_ones_computed():
    raw = json.dumps(_conversation(4)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    parsed = rewrite.client.parsed()
    texts = rewrite.client.item_bytes()
    assert [json.loads(t) for t in texts] == parsed["messages"]
    first = cache_aligner.message_digests(parsed, API, texts=texts)
    assert first == cache_aligner.message_digests(parsed, API)
    assert cache_aligner.message_digests(json.loads(raw), API, texts=texts) == first  # a later request's reading


def test_sent_digests_looked_up_by_the_changed_messages_bytes_are_the_ones_computed():
    raw = json.dumps(_conversation(5)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    changed = rewrite.client.changed_item_bytes()
    sent = json.loads(rewrite.body)["messages"]
    assert [json.loads(t) for t in changed if t is not None] == [m for m, t in zip(sent, changed) if t is not None]
    client = rewrite.client.parsed()
    known = (client, *cache_aligner.message_digests(client, API))
    for _ in range(2):  # computed, then looked up
        got = cache_aligner.message_digests(rewrite.parsed, API, known, changed)
        assert got == cache_aligner.message_digests(rewrite.parsed, API)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_tokens_of_messages_counted_once_for_both_bodies_are_the_same_sums(provider):
    raw = json.dumps(_conversation(5)).encode()
    rewrite = rewrite_body(raw, ANTHROPIC, Pipeline())
    client, sent = rewrite.client.parsed(), offered_body(rewrite.parsed, ANTHROPIC_API)
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return count_tokens(text)

    seen: dict = {}
    before = prompt_tokens(raw.decode(), count, provider, client, seen)
    calls = len(counted)
    after = prompt_tokens("", count, provider, sent, seen)
    assert before == prompt_tokens(raw.decode(), count_tokens, provider)
    assert after == prompt_tokens(json.dumps(sent), count_tokens, provider)
    assert len(counted) - calls < calls  # the messages left alone were not counted again
    assert prompt_tokens('"just text"', count_tokens, provider, None, seen) == count_tokens('"just text"')


@pytest.mark.parametrize("kind", [bytes, str])
def test_a_long_string_is_found_where_find_finds_it(kind):
    """jsonspan.find (the splice's and the cache account's search for a tool output's JSON) finds a
    long string by its head and compares the rest: the same place as a plain find, also where its
    head stands earlier with other characters after it, overlaps itself, or runs past ``end``."""
    def of(text: str):
        return text.encode() if kind is bytes else text

    head = "x" * jsonspan._HEAD
    needle = of(head + "-the rest of a long tool output-" + "y" * 300)
    decoys = of(head + "-not it-") + needle[:jsonspan._HEAD + 10] + of("x" * jsonspan._HEAD * 3) + needle[:-1]
    for text in (decoys + needle + of("tail") + needle, needle, decoys, of("x" * 200) + needle[jsonspan._HEAD:]):
        for start in (0, 1, jsonspan._HEAD, len(text) // 2, len(text), len(text) + 5):
            for end in (None, len(text) - 1, len(text) - len(needle) // 2, start + len(needle)):
                assert jsonspan.find(text, needle, start, end) == text.find(needle, start, end)
    assert jsonspan.find(of("zzabczzabc"), of("abc"), 3) == of("zzabczzabc").find(of("abc"), 3)
    assert jsonspan.find(of("abc"), of(""), 1) == 1
