"""HeadroomCallback in the real litellm: ``completion`` and ``acompletion``, streamed and not, to an OpenAI and
an Anthropic model on the local mock upstream. The upstream gets the tool output compressed (in each
provider's own wire format); the caller gets the answer and keeps its messages; the ledger gets usage."""

from __future__ import annotations

import asyncio
import os
import time

# LiteLLM fetches a model price list from the network at import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
import pytest  # noqa: E402

from headroom_cli import Headroom  # noqa: E402
from headroom_cli.config import Settings  # noqa: E402
from headroom_cli.integrations.litellm import HeadroomCallback  # noqa: E402
from headroom_cli.library import OPENAI_CHAT  # noqa: E402
from headroom_cli.markers import MARKER_RE  # noqa: E402
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream  # noqa: E402

from conversations import conversation  # noqa: E402

from samples import FAILED_IN_LOG as FAILED  # noqa: E402


@pytest.fixture
def headroom(headroom_home, monkeypatch):
    instance = Headroom(Settings.resolve())
    callback = HeadroomCallback(instance)
    monkeypatch.setattr(litellm, "callbacks", [callback])
    yield instance
    # LiteLLM copies litellm.callbacks into lists of its own on first use: take it out of those too.
    litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
    instance.close()


def _complete(headroom: Headroom, model: str, base: str, messages: list, stream: bool, is_async: bool,
              **extra) -> str:
    arguments = dict(model=model, api_base=base, api_key="sk-test", messages=messages, stream=stream,
                     max_tokens=256, num_retries=0, **extra)
    if not is_async:
        reply = litellm.completion(**arguments)
        if stream:
            return "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
        return reply.choices[0].message.content

    async def run() -> str:
        reply = await litellm.acompletion(**arguments)
        if stream:
            answer = "".join([c.choices[0].delta.content or "" async for c in reply if c.choices])
        else:
            answer = reply.choices[0].message.content
        # LiteLLM logs an async call's success from a task on this event loop: keep it running until
        # the row is written, as a long-lived application's loop would.
        deadline = time.monotonic() + 20
        while not _rows(headroom) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return answer

    return asyncio.run(run())


def _rows(headroom: Headroom) -> list:
    headroom.flush()
    return headroom.ledger.recent(10)


def _recorded(headroom: Headroom) -> list:
    """LiteLLM logs a sync call's success on a worker thread of its own: wait for the row."""
    deadline = time.monotonic() + 20
    while not _rows(headroom) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _rows(headroom)


@pytest.mark.parametrize("is_async", [False, True], ids=["completion", "acompletion"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"])
def test_completion_sends_the_tool_output_compressed(model, stream, is_async, headroom, log):
    messages = conversation(OPENAI_CHAT, "Run the tests and tell me what failed.", "pytest -v", log)
    with MockUpstream() as upstream:
        base = upstream.url + ("/v1" if model.startswith("openai/") else "")
        extra = {"stream_options": {"include_usage": True}} if stream and model.startswith("openai/") else {}
        answer = _complete(headroom, model, base, messages, stream, is_async, **extra)
        request = upstream.requests[-1]
    assert request.path == ("/v1/chat/completions" if model.startswith("openai/") else "/v1/messages")
    sent = upstream.tool_results(request)[-1]["text"]
    assert MARKER_RE.search(sent) and FAILED in sent and len(sent) < len(log) / 10
    assert answer.startswith(FINAL_PREFIX) and "headroom marker: yes" in answer and FAILED in answer
    assert messages[-1]["content"] == log  # the caller's messages are untouched

    [record] = _recorded(headroom)
    assert record.provider == model.split("/")[0] and record.engines["testlog"][0] == 1
    assert record.tokens_after < record.tokens_before / 5
    assert record.usage.input and record.usage.output


def test_litellms_own_estimate_is_not_taken_for_upstream_usage(headroom, log):
    # An OpenAI chat stream without include_usage reports none; LiteLLM then estimates it from the
    # uncompressed messages. The ledger keeps "unknown" rather than that estimate.
    messages = conversation(OPENAI_CHAT, "Which test failed?", "pytest -v", log)
    with MockUpstream() as upstream:
        answer = _complete(headroom, "openai/gpt-4o", upstream.url + "/v1", messages, True, False)
    assert "headroom marker: yes" in answer
    [record] = _recorded(headroom)
    assert record.usage.input is None and record.tokens_after < record.tokens_before / 5


def test_a_request_without_tool_outputs_goes_as_it_was(headroom):
    with MockUpstream() as upstream:
        answer = _complete(headroom, "openai/gpt-4o", upstream.url + "/v1", [{"role": "user", "content": "hello"}],
                           False, False)
        body = upstream.requests[-1].json()
    assert answer.startswith(FINAL_PREFIX)
    assert body["messages"] == [{"role": "user", "content": "hello"}]
