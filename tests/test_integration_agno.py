"""HeadroomAgnoModel in a real Agno agent loop: the agent calls the mock model, the mock model asks for the
agent's Bash tool, the tool prints a long pytest log, and the next request carries it compressed. For an
OpenAI and an Anthropic model, run and arun, streamed and not."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from agno.agent import Agent
from agno.models.anthropic import Claude
from agno.models.openai import OpenAIChat

from headroom_cli.integrations.agno import HeadroomAgnoModel
from headroom_cli.markers import MARKER_RE
from headroom_cli.mock_upstream import FINAL_PREFIX, MockUpstream, ToolStep

from samples import FAILED_IN_LOG as FAILED
QUESTION = "Run the tests and tell me what failed."


def _model(kind: str, url: str):
    if kind == "OpenAIChat":
        return OpenAIChat(id="gpt-4o", base_url=url + "/v1", api_key="sk-test", max_retries=0)
    return Claude(id="claude-sonnet-4-5", api_key="sk-ant-test", client_params={"base_url": url, "max_retries": 0})


# agno 3 renamed agno 2's yield_run_response; the integration is tested on both.
YIELD_RUN_OUTPUT = {"yield_run_output" if "yield_run_output" in inspect.signature(Agent.run).parameters
                    else "yield_run_response": True}


def _run(agent: Agent, mode: str) -> tuple[str, list]:
    """The answer, and the messages of the run as the agent keeps them."""
    if mode == "run":
        out = agent.run(QUESTION)
        return out.content, out.messages
    if mode == "arun":
        out = asyncio.run(agent.arun(QUESTION))
        return out.content, out.messages

    def split(events: list) -> tuple[str, list]:
        text = "".join(e.content or "" for e in events if getattr(e, "event", None) == "RunContent")
        return text, events[-1].messages  # yield_run_output: the RunOutput comes last

    if mode == "run stream":
        return split(list(agent.run(QUESTION, stream=True, **YIELD_RUN_OUTPUT)))

    async def collect() -> list:
        return [e async for e in agent.arun(QUESTION, stream=True, **YIELD_RUN_OUTPUT)]

    return split(asyncio.run(collect()))


@pytest.mark.parametrize("mode", ["run", "run stream", "arun", "arun stream"])
@pytest.mark.parametrize("kind", ["OpenAIChat", "Claude"])
def test_the_agents_tool_output_reaches_the_model_compressed(kind, mode, headroom, log):
    calls = []

    def Bash(command: str) -> str:  # noqa: N802 - the tool the mock model asks for
        """Run a shell command and return what it printed."""
        calls.append(command)
        return log

    with MockUpstream([ToolStep("Bash", {"command": "pytest -v"})]) as upstream:
        model = _model(kind, upstream.url)
        agent = Agent(model=HeadroomAgnoModel(model, headroom), tools=[Bash], telemetry=False)
        answer, messages = _run(agent, mode)
        assert calls == ["pytest -v"] and len(upstream.requests) == 2
        sent = upstream.tool_results(upstream.requests[-1])[-1]["text"]
    assert MARKER_RE.search(sent) and FAILED in sent and len(sent) < len(log) / 10
    assert FINAL_PREFIX in answer and "headroom marker: yes" in answer and FAILED in answer
    # The agent's own history keeps the whole output; the model the caller made is unchanged.
    assert [m.content for m in messages if m.role == "tool"] == [log]
    assert type(model) in (OpenAIChat, Claude)

    headroom.flush()
    first, second = reversed(headroom.ledger.recent(5))
    assert not first.engines and second.engines["testlog"][0] == 1  # the question, then the tool round
    assert second.provider == ("anthropic" if kind == "Claude" else "openai")
    assert second.tokens_after < second.tokens_before / 5
    assert second.usage.input and second.usage.output


def test_the_wrapped_model_is_still_the_providers_model(headroom):
    model = OpenAIChat(id="gpt-4o", api_key="sk-test")
    wrapped = HeadroomAgnoModel(model, headroom)
    assert isinstance(wrapped, OpenAIChat) and wrapped is not model and type(model) is OpenAIChat
    assert wrapped.id == "gpt-4o" and wrapped.get_provider() == model.get_provider()
    assert HeadroomAgnoModel(wrapped, headroom) is wrapped
