"""Adapters find tool outputs, and only tool outputs, in each wire format."""

from __future__ import annotations

import json
from pathlib import Path

from headroom_cli.providers import ANTHROPIC, OPENAI, adapter_for, provider_for

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "clients" / "captures"


def test_routes_by_path_then_headers():
    assert adapter_for("/v1/messages").api == "anthropic-messages"
    assert adapter_for("/v1/messages/count_tokens") is None
    assert adapter_for("/v1/chat/completions").api == "openai-chat"
    assert adapter_for("/v1/responses").api == "openai-responses"
    assert provider_for("/v1/chat/completions", {"x-api-key": "k"}) == OPENAI
    assert provider_for("/v1/models", {"anthropic-version": "2023-06-01", "authorization": "Bearer t"}) == ANTHROPIC
    assert provider_for("/v1/models", {"authorization": "Bearer sk-x"}) == OPENAI
    assert provider_for("/", {}) == ANTHROPIC


def test_anthropic_real_claude_code_capture():
    capture = json.loads((CAPTURES / "claude-code_3_bash-error-truncated_and_read-result.json").read_text())
    body = capture["body"]
    slots = adapter_for("/v1/messages").slots(body)
    tool_results = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]
                    if b.get("type") == "tool_result"]
    assert len(slots) == len(tool_results) >= 2
    assert {s.tool_name for s in slots} == {"Bash", "Read"}
    assert all(isinstance(s.text, str) for s in slots)


def test_anthropic_never_offers_system_user_or_assistant_text():
    body = {"system": "sys", "messages": [
        {"role": "system", "content": "Available agent types"},
        {"role": "user", "content": "typed by the user"},
        {"role": "user", "content": [{"type": "text", "text": "also typed"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "assistant"},
                                           {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [
                {"type": "text", "text": "block one"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}},
                {"type": "text", "text": "block two"}]},
            {"type": "text", "text": "user note after the result"}]},
    ]}
    slots = adapter_for("/v1/messages").slots(body)
    assert [s.text for s in slots] == ["block one", "block two"]
    assert all(s.tool_name == "Read" for s in slots)
    slots[0].write("changed")
    assert body["messages"][4]["content"][0]["content"][0]["text"] == "changed"


def test_openai_chat_tool_messages_string_and_parts():
    body = {"messages": [
        {"role": "system", "content": "sys"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "function": {"name": "shell"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "output one"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "output two"}]},
        {"role": "user", "content": "I ran this command: long output"},
    ]}
    slots = adapter_for("/v1/chat/completions").slots(body)
    assert [(s.text, s.tool_name) for s in slots] == [("output one", "shell"), ("output two", None)]


def test_openai_responses_real_codex_capture():
    capture = json.loads((CAPTURES / "codex_1_function-call-output.json").read_text())
    slots = adapter_for("/v1/responses").slots(capture["body"])
    assert len(slots) == 1 and slots[0].tool_name == "exec_command"
    assert "Process exited with code" in slots[0].text


def test_malformed_shapes_yield_nothing():
    for body in ({}, {"messages": "x"}, {"messages": [1, None, {"content": [1, "a"]}]}, {"input": "just text"}):
        for path in ("/v1/messages", "/v1/chat/completions", "/v1/responses"):
            assert adapter_for(path).slots(body) == []


def test_each_api_has_one_adapter_by_name_and_by_path():
    from headroom_cli.providers import API_PATHS, by_api

    assert API_PATHS == {"anthropic-messages": "/v1/messages", "openai-chat": "/v1/chat/completions",
                         "openai-responses": "/v1/responses"}
    for api, path in API_PATHS.items():
        assert by_api(api) is adapter_for(path) and by_api(api).api == api
    assert by_api("not-an-api") is None
    assert [by_api(a).items_key for a in API_PATHS] == ["messages", "messages", "input"]


def test_model_facts_live_in_one_place():
    from headroom_cli import context_fit, prices, tokens
    from headroom_cli.providers import models

    assert context_fit.CONTEXT_WINDOWS is models.CONTEXT_WINDOWS and tokens.INPUT_PRICE_PER_MTOK is models.INPUT_PRICE_PER_MTOK
    assert prices.OUTPUT_PRICE_PER_MTOK is models.OUTPUT_PRICE_PER_MTOK
    assert models.context_window("openrouter/gpt-4o-mini") == 128_000
    assert models.context_window("claude-sonnet-4-5", "context-1m-2025-08-07") == 1_000_000
    assert models.input_price_per_mtok("gpt-4o-mini") == 0.15 and models.input_price_per_mtok("gpt-4o") == 2.5
    assert models.input_price_per_mtok("unknown") == models.DEFAULT_PRICE_PER_MTOK
    assert models.openai_cached_rate("gpt-5-mini") == 0.10


def test_the_chat_path_reads_responses_shaped_bodies_as_responses():
    from headroom_cli.providers import by_api

    chat = by_api("openai-chat")
    assert chat.shaped({"messages": []}) is chat
    assert chat.shaped({"input": []}).api == "openai-responses"


def test_each_provider_writes_its_own_error_shape_and_names_its_stream_dialect():
    """The proxy asks the provider for an error reply and for how a stream reads (no branch on a
    provider's name outside providers/): the bytes clients have always got."""
    from headroom_cli.providers import API_PATHS, by_api, by_provider, error_json

    assert error_json(ANTHROPIC, 401, "no") == b'{"type": "error", "error": {"type": "authentication_error", "message": "no"}}'
    assert error_json(ANTHROPIC, 403, "no", kind="permission_error") == \
        b'{"type": "error", "error": {"type": "permission_error", "message": "no"}}'
    assert error_json(OPENAI, 503, "later", "service_unavailable") == \
        b'{"error": {"message": "later", "type": "server_error", "param": null, "code": "service_unavailable"}}'
    assert error_json("someone-else", 502, "x") == error_json(ANTHROPIC, 502, "x")
    assert by_provider(OPENAI).error_json(401, "m") == by_api("openai-responses").error_json(401, "m")
    dialects = {api: by_api(api).stream_dialect for api in API_PATHS}
    assert dialects == {"anthropic-messages": "message-events", "openai-chat": "chunks",
                        "openai-responses": "response-events"}
