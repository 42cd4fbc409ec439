"""with_headroom(client): the real anthropic and openai SDKs, sync and async, plain, ``stream=True`` and the
``.stream()`` helpers, against the local mock upstream. The upstream gets the compressed request, the
caller gets the model's answer, the ledger gets the upstream's usage; and the upstream sees the same
request it would have seen through ``headroom proxy``."""

from __future__ import annotations

import asyncio
import json

import anthropic
import openai
import pytest

from headroom_cli import with_headroom, withHeadroom
from headroom_cli.config import Settings
from headroom_cli.library import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES
from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream

from conversations import conversation

from samples import FAILED_IN_LOG as FAILED
QUESTION = "Run the tests and tell me what failed."


@pytest.fixture
def upstream():
    with MockUpstream() as mock:
        yield mock


def _clients(upstream: MockUpstream, api: str, is_async: bool):
    if api == ANTHROPIC_MESSAGES:
        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return cls(base_url=upstream.url, api_key="sk-ant-test", max_retries=0)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0)


def _arguments(api: str, log: str) -> dict:
    messages = conversation(api, QUESTION, "pytest -v", log)
    if api == ANTHROPIC_MESSAGES:
        return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": messages}
    if api == OPENAI_CHAT:
        return {"model": "gpt-4o", "messages": messages}
    return {"model": "gpt-4o", "input": messages}


def _resource(client, api: str):
    return {ANTHROPIC_MESSAGES: lambda: client.messages, OPENAI_CHAT: lambda: client.chat.completions,
            OPENAI_RESPONSES: lambda: client.responses}[api]()


def _event_text(api: str, event) -> str:
    if api == ANTHROPIC_MESSAGES:
        return event.delta.text if event.type == "content_block_delta" else ""
    if api == OPENAI_CHAT:
        return (event.choices[0].delta.content or "") if event.choices else ""
    return event.delta if event.type == "response.output_text.delta" else ""


def _final_text(api: str, final) -> str:
    if api == ANTHROPIC_MESSAGES:
        return final.content[0].text
    if api == OPENAI_CHAT:
        return final.choices[0].message.content
    return final.output_text


def _usage_asked(api: str) -> dict:
    """OpenAI chat streams report usage only when asked."""
    return {"stream_options": {"include_usage": True}} if api == OPENAI_CHAT else {}


def _call_sync(resource, api: str, mode: str, kwargs: dict) -> str:
    if mode == "create":
        return _final_text(api, resource.create(**kwargs))
    if mode == "stream=True":
        return "".join(_event_text(api, e) for e in resource.create(**kwargs, stream=True, **_usage_asked(api)))
    with resource.stream(**kwargs, **_usage_asked(api)) as stream:
        if api == ANTHROPIC_MESSAGES:
            return stream.get_final_text()
        return _final_text(api, stream.get_final_completion() if api == OPENAI_CHAT else stream.get_final_response())


async def _call_async(resource, api: str, mode: str, kwargs: dict) -> str:
    if mode == "create":
        return _final_text(api, await resource.create(**kwargs))
    if mode == "stream=True":
        stream = await resource.create(**kwargs, stream=True, **_usage_asked(api))
        return "".join([_event_text(api, e) async for e in stream])
    async with resource.stream(**kwargs, **_usage_asked(api)) as stream:
        if api == ANTHROPIC_MESSAGES:
            return await stream.get_final_text()
        final = await (stream.get_final_completion() if api == OPENAI_CHAT else stream.get_final_response())
        return _final_text(api, final)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("mode", ["create", "stream=True", ".stream()"])
@pytest.mark.parametrize("api", [ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES])
def test_the_upstream_gets_it_compressed_and_the_caller_gets_the_answer(api, mode, is_async, upstream, headroom, log):
    kwargs = _arguments(api, log)
    given = json.dumps(kwargs)
    if is_async:
        async def run() -> str:
            async with with_headroom(_clients(upstream, api, True), headroom) as client:  # closed in its loop
                return await _call_async(_resource(client, api), api, mode, kwargs)

        answer = asyncio.run(run())
    else:
        with with_headroom(_clients(upstream, api, False), headroom) as client:
            answer = _call_sync(_resource(client, api), api, mode, kwargs)

    assert json.dumps(kwargs) == given  # the caller's arguments are untouched
    sent = upstream.tool_results(upstream.requests[-1])[-1]["text"]
    assert MARKER_RE.search(sent) and FAILED in sent and len(sent) < len(log) / 10
    # The mock model read the compressed output: its answer says so, and names the failure.
    assert answer.startswith(FINAL_PREFIX) and "headroom marker: yes" in answer and FAILED in answer

    headroom.flush()
    [record] = headroom.ledger.recent(5)
    assert record.path == {ANTHROPIC_MESSAGES: "/v1/messages", OPENAI_CHAT: "/v1/chat/completions",
                           OPENAI_RESPONSES: "/v1/responses"}[api]
    assert record.status == 200 and record.tokens_after < record.tokens_before / 5
    assert record.usage.input is not None and record.usage.input > 0  # what the upstream reported
    assert record.usage.output is not None and record.usage.output > 0


@pytest.mark.parametrize("api", [ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES])
def test_with_headroom_sends_the_request_headroom_proxy_would_send(api, upstream, headroom, log, tmp_path,
                                                                  proxy_server_class):
    proxy = proxy_server_class(Settings(host="127.0.0.1", port=0, anthropic_upstream=upstream.url,
                                 openai_upstream=upstream.url, compress=True, home=tmp_path / "proxy",
                                 retrieval_tool=False)).start()
    try:
        plain = _clients(upstream, api, False)
        through_proxy = plain.with_options(base_url=proxy.url + ("" if api == ANTHROPIC_MESSAGES else "/v1"))
        _call_sync(_resource(through_proxy, api), api, "create", _arguments(api, log))
        _call_sync(_resource(with_headroom(plain, headroom), api), api, "create", _arguments(api, log))
    finally:
        proxy.stop()
    by_proxy, in_process = (json.loads(r.body) for r in upstream.requests[-2:])
    assert in_process == by_proxy
    assert MARKER_RE.search(json.dumps(in_process, ensure_ascii=False))


def test_everything_else_passes_through_to_the_real_client(upstream, headroom, log):
    real = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-test", max_retries=0)
    client = withHeadroom(real, headroom)
    assert client.api_key == "sk-test" and client.base_url == real.base_url
    assert [m.id for m in client.models.list()] == ["claude-mock", "claude-opus-4-8", "gpt-mock", "gpt-4o"]
    # A copy with other options, and the raw-response form, still compress.
    raw = client.with_options(timeout=30).chat.completions.with_raw_response.create(**_arguments(OPENAI_CHAT, log))
    assert raw.http_request.url.path == "/v1/chat/completions"
    assert raw.parse().choices[0].message.content.startswith(FINAL_PREFIX)
    assert MARKER_RE.search(upstream.tool_results(upstream.requests[-1])[-1]["text"])
    assert with_headroom(client) is client  # wrapping twice would compress twice
    with pytest.raises(TypeError, match="anthropic or openai client"):
        with_headroom(object())


def test_an_upstream_error_reaches_the_caller_and_the_ledger(upstream, headroom, log):
    client = with_headroom(anthropic.Anthropic(base_url=upstream.url, api_key="sk-ant-test", max_retries=0), headroom)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(**_arguments(ANTHROPIC_MESSAGES, log), extra_headers={"x-mock-fail-status": "429"})
    headroom.flush()
    [record] = headroom.ledger.recent(5)
    assert record.status == 429 and record.usage.input is None


def test_a_mistake_that_never_left_the_process_is_not_a_request(upstream, headroom, log):
    client = with_headroom(anthropic.Anthropic(base_url=upstream.url, api_key="sk-ant-test", max_retries=0), headroom)
    arguments = _arguments(ANTHROPIC_MESSAGES, log)
    del arguments["max_tokens"]
    with pytest.raises(TypeError):
        client.messages.create(**arguments)
    headroom.flush()
    assert headroom.ledger.recent(5) == [] and upstream.requests == []
