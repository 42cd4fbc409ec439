"""HeadroomChatModel around real LangChain chat models (langchain-openai's ChatOpenAI, langchain-anthropic's
ChatAnthropic) pointed at the local mock upstream: a tool round of a real agent loop, invoked and streamed,
sync and async. The upstream gets the tool output compressed; the caller gets the answer; the caller's
messages keep the original; the ledger gets the upstream's usage."""

from __future__ import annotations

import asyncio

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from headroom_cli.integrations.langchain import HeadroomChatModel
from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream, ToolStep

from samples import FAILED_IN_LOG as FAILED


def _llm(kind: str, url: str):
    if kind == "ChatOpenAI":
        return ChatOpenAI(model="gpt-4o", base_url=url + "/v1", api_key="sk-test", max_retries=0, stream_usage=True)
    return ChatAnthropic(model="claude-sonnet-4-5", base_url=url, api_key="sk-ant-test", max_retries=0)


def _answer(model, messages, mode: str) -> str:
    if mode == "invoke":
        return model.invoke(messages).content
    if mode == "stream":
        return "".join(chunk.text for chunk in model.stream(messages))
    if mode == "ainvoke":
        return asyncio.run(model.ainvoke(messages)).content

    async def collect() -> str:
        return "".join([chunk.text async for chunk in model.astream(messages)])

    return asyncio.run(collect())


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
@pytest.mark.parametrize("kind", ["ChatOpenAI", "ChatAnthropic"])
def test_a_tool_round_reaches_the_model_compressed(kind, mode, headroom, log):
    @tool
    def Bash(command: str) -> str:  # noqa: N802 - the name the mock model calls
        """Run a shell command."""
        return log

    with MockUpstream([ToolStep("Bash", {"command": "pytest -v"})]) as upstream:
        model = HeadroomChatModel(_llm(kind, upstream.url), headroom=headroom).bind_tools([Bash])
        messages = [HumanMessage("Run the tests and tell me what failed.")]
        asked = model.invoke(messages)
        assert isinstance(asked, AIMessage) and asked.tool_calls[0]["name"] == "Bash"
        messages += [asked, ToolMessage(Bash.invoke(asked.tool_calls[0]["args"]), tool_call_id=asked.tool_calls[0]["id"])]

        answer = _answer(model, messages, mode)

        tools = upstream.requests[-1].json()["tools"]  # bound through to the wrapped model
        assert [t.get("name") or t["function"]["name"] for t in tools] == ["Bash"]
        sent = upstream.tool_results(upstream.requests[-1])[-1]["text"]
    assert MARKER_RE.search(sent) and FAILED in sent and len(sent) < len(log) / 10
    assert answer.startswith(FINAL_PREFIX) and "headroom marker: yes" in answer and FAILED in answer
    assert messages[-1].content == log  # the conversation the caller keeps is the original

    headroom.flush()
    record = headroom.ledger.recent(1)[0]
    assert record.provider == ("anthropic" if kind == "ChatAnthropic" else "openai")
    assert record.engines["testlog"][0] == 1 and record.tokens_after < record.tokens_before / 5
    assert record.usage.output  # as the upstream reported it
    # langchain-anthropic reads a stream's input count from message_delta, where the mock (like some
    # servers) leaves it out: unknown then, never recorded as 0.
    assert record.usage.input if (kind, mode[-6:]) != ("ChatAnthropic", "stream") else record.usage.input is None


def test_it_is_a_langchain_chat_model_of_its_own(headroom):
    inner = ChatOpenAI(model="gpt-4o", base_url="http://127.0.0.1:9/v1", api_key="sk-test")
    model = HeadroomChatModel(llm=inner, headroom=headroom)
    assert model._llm_type == "headroom-openai-chat"
    assert model.llm is inner
    # Messages without tool outputs pass through as the caller's own objects.
    messages = [HumanMessage("hello")]
    sent, pending = model._compress(messages)
    assert sent[0] is messages[0]
    pending.finish()


@pytest.mark.parametrize("kind", ["ChatOpenAI", "ChatAnthropic"])
def test_structured_output_goes_through_the_wrapped_models_tools(kind, headroom):
    class Verdict(BaseModel):
        """Which test failed."""

        failed: str

    with MockUpstream([ToolStep("Verdict", {"failed": "test_refund"})]) as upstream:
        model = HeadroomChatModel(_llm(kind, upstream.url), headroom=headroom).with_structured_output(Verdict)
        assert model.invoke("Which test failed?") == Verdict(failed="test_refund")
