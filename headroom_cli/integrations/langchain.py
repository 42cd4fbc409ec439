"""LangChain: ``HeadroomChatModel(llm)``, a chat model that compresses the tool messages of the
conversation and hands it to ``llm`` (any langchain-core chat model: ChatOpenAI, ChatAnthropic, …).

Only ``ToolMessage`` contents change, each exactly as ``headroom proxy`` would compress that tool
output (same pipeline, store and ledger); the caller's messages are never modified. Tools bound with
``bind_tools`` and structured output go to ``llm`` as they would without Headroom. Callbacks see this
model's run (tokens included when streaming); ``llm`` runs with the callbacks configured on it.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator, Sequence

try:
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult
    from pydantic import ConfigDict, Field
except ImportError as exc:  # pragma: no cover - the optional extra is missing
    from headroom_cli.extras import install_line

    raise ImportError(f"HeadroomChatModel needs langchain-core: {install_line('langchain')}") from exc

from headroom_cli.integrations.chat_messages import (blocks, compress_tool_outputs, provider_of, tool_call, unblocks,
                                                     usage)
from headroom_cli.ledger import Usage
from headroom_cli.library import Headroom, Pending, default_headroom


class HeadroomChatModel(BaseChatModel):
    """``HeadroomChatModel(llm=ChatOpenAI(...))`` or ``HeadroomChatModel(ChatOpenAI(...))``."""

    llm: BaseChatModel
    headroom: Any = Field(default=None, exclude=True)  # a headroom_cli.Headroom; None: the shared one

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def __init__(self, llm: BaseChatModel | None = None, **kwargs: Any):
        super().__init__(**({"llm": llm} if llm is not None else {}), **kwargs)

    @property
    def _llm_type(self) -> str:
        return f"headroom-{self.llm._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"llm": self.llm._llm_type, **getattr(self.llm, "_identifying_params", {})}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        # The wrapped model formats the tools its own way; the call still goes through us.
        bound = self.llm.bind_tools(tools, **kwargs)
        return self.bind(**getattr(bound, "kwargs", {}))

    # -- calls ------------------------------------------------------------------------------
    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        sent, pending = self._compress(messages)
        try:
            result = self.llm.generate([sent], stop=stop, **kwargs)
        except Exception as exc:
            pending.fail(exc)
            raise
        generations = result.generations[0]
        pending.finish(_usage_of(generations[0].message if generations else None))
        return ChatResult(generations=generations, llm_output=result.llm_output)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        sent, pending = self._compress(messages)
        try:
            result = await self.llm.agenerate([sent], stop=stop, **kwargs)
        except Exception as exc:
            pending.fail(exc)
            raise
        generations = result.generations[0]
        pending.finish(_usage_of(generations[0].message if generations else None))
        return ChatResult(generations=generations, llm_output=result.llm_output)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        sent, pending = self._compress(messages)
        whole: AIMessageChunk | None = None
        try:
            for chunk in self.llm.stream(sent, stop=stop, **kwargs):
                whole = chunk if whole is None else whole + chunk
                generation = ChatGenerationChunk(message=chunk)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation
        except Exception as exc:
            pending.fail(exc)  # finish() below is then a no-op
            raise
        finally:
            pending.finish(_usage_of(whole))

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        sent, pending = self._compress(messages)
        whole: AIMessageChunk | None = None
        try:
            async for chunk in self.llm.astream(sent, stop=stop, **kwargs):
                whole = chunk if whole is None else whole + chunk
                generation = ChatGenerationChunk(message=chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation
        except Exception as exc:
            pending.fail(exc)  # finish() below is then a no-op
            raise
        finally:
            pending.finish(_usage_of(whole))

    # -- compression ----------------------------------------------------------------------------
    def _compress(self, messages: list[BaseMessage]) -> tuple[list[BaseMessage], Pending]:
        headroom: Headroom = self.headroom or default_headroom()
        model = getattr(self.llm, "model_name", None) or getattr(self.llm, "model", None)
        changed, pending = compress_tool_outputs(headroom, [_chat_dict(m) for m in messages],
                                                 model=model if isinstance(model, str) else None,
                                                 provider=provider_of(self.llm._llm_type))
        sent = list(messages)
        for index, content in changed.items():
            original = messages[index]
            sent[index] = original.model_copy(update={"content": unblocks(original.content, content)})
        return sent, pending


def _chat_dict(message: BaseMessage) -> dict[str, Any]:
    """A LangChain message in the OpenAI chat form, enough for the adapter: roles, tool calls, contents."""
    if isinstance(message, ToolMessage):
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": blocks(message.content)}
    if isinstance(message, AIMessage):
        found: dict[str, Any] = {"role": "assistant", "content": message.content if isinstance(message.content, str) else ""}
        if message.tool_calls:
            found["tool_calls"] = [tool_call(c.get("id"), c.get("name"), c.get("args")) for c in message.tool_calls]
        return found
    role = {"human": "user", "system": "system"}.get(message.type, message.type)
    return {"role": role, "content": blocks(message.content)}


def _usage_of(message: Any) -> Usage:
    """The upstream's usage as LangChain reports it (``usage_metadata``) on the answer."""
    meta = getattr(message, "usage_metadata", None) or {}
    details = meta.get("input_token_details") or {}
    # A request always has input: 0 means the integration did not learn it (langchain-anthropic reads
    # a stream's input count from message_delta, where not every server puts it).
    return usage(meta.get("input_tokens") or None, meta.get("output_tokens"), details.get("cache_read"),
                 details.get("cache_creation"))
