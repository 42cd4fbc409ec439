"""Agno: ``HeadroomAgnoModel(model)``, the same model with its tool outputs compressed on every call.

An Agno agent's loop calls its model's ``invoke`` (or ``ainvoke``, ``invoke_stream``,
``ainvoke_stream``) with the whole conversation each time a tool has run. The model returned here is
a copy of ``model``, of a subclass of its own class that overrides only those four: the tool
messages are compressed as ``headroom proxy`` would compress them (same pipeline, store and ledger),
in copies, so the agent's history keeps the originals; everything else (how the provider formats
messages, tools and replies) is the provider class's own. ``isinstance(wrapped, type(model))`` holds.
"""

from __future__ import annotations

import copy
from typing import Any, AsyncIterator, Iterator

try:
    from agno.models.base import Model
    from agno.models.message import Message
except ImportError as exc:  # pragma: no cover - the optional extra is missing
    from headroom_cli.extras import install_line

    raise ImportError(f"HeadroomAgnoModel needs agno: {install_line('agno')}") from exc

from headroom_cli.integrations.chat_messages import blocks, compress_tool_outputs, provider_of, tool_call, unblocks, usage
from headroom_cli.ledger import Usage
from headroom_cli.library import Headroom, Pending, default_headroom


def HeadroomAgnoModel(model: Model, headroom: Headroom | None = None) -> Model:  # noqa: N802 - reads as a class
    """``Agent(model=HeadroomAgnoModel(OpenAIChat(id="gpt-4o")), tools=[...])``."""
    if getattr(type(model), "_hr_base", None) is not None:
        return model  # already compressing
    wrapped = copy.copy(model)
    wrapped.__class__ = _subclass(type(model), headroom)
    return wrapped


_classes: dict[tuple[type, int], type] = {}


def _subclass(cls: type, headroom: Headroom | None) -> type:
    """``cls`` with the four calls overridden. A direct subclass (no mixin), so that an instance of
    ``cls`` can take it as its class; the Headroom instance lives on the class because Agno
    deep-copies models for each run."""
    key = (cls, id(headroom))
    if key not in _classes:
        _classes[key] = type(f"Headroom{cls.__name__}", (cls,), {
            "__module__": cls.__module__, "_hr_base": cls, "_hr_headroom": headroom,
            "invoke": _invoke, "ainvoke": _ainvoke, "invoke_stream": _invoke_stream, "ainvoke_stream": _ainvoke_stream,
        })
    return _classes[key]


def _invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
    args, kwargs, pending = _compress(self, args, kwargs)
    try:
        response = self._hr_base.invoke(self, *args, **kwargs)
    except Exception as exc:
        pending.fail(exc)
        raise
    pending.finish(_usage_of(response))
    return response


async def _ainvoke(self: Any, *args: Any, **kwargs: Any) -> Any:
    args, kwargs, pending = _compress(self, args, kwargs)
    try:
        response = await self._hr_base.ainvoke(self, *args, **kwargs)
    except Exception as exc:
        pending.fail(exc)
        raise
    pending.finish(_usage_of(response))
    return response


def _invoke_stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
    args, kwargs, pending = _compress(self, args, kwargs)
    seen = Usage()
    try:
        for delta in self._hr_base.invoke_stream(self, *args, **kwargs):
            _add(seen, _usage_of(delta))
            yield delta
    except Exception as exc:
        pending.fail(exc)  # finish() below is then a no-op
        raise
    finally:
        pending.finish(seen)


async def _ainvoke_stream(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    args, kwargs, pending = _compress(self, args, kwargs)
    seen = Usage()
    try:
        async for delta in self._hr_base.ainvoke_stream(self, *args, **kwargs):
            _add(seen, _usage_of(delta))
            yield delta
    except Exception as exc:
        pending.fail(exc)  # finish() below is then a no-op
        raise
    finally:
        pending.finish(seen)


def _compress(model: Any, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any], Pending]:
    """The call's arguments with copies of the compressed tool messages in place of the originals."""
    messages = kwargs["messages"] if "messages" in kwargs else (args[0] if args else [])
    headroom = model._hr_headroom or default_headroom()
    changed, pending = compress_tool_outputs(headroom, [_chat_dict(m) for m in messages],
                                             model=getattr(model, "id", None),
                                             provider=provider_of(model._hr_base.__name__))
    if not changed:
        return args, kwargs, pending
    sent = list(messages)
    for index, content in changed.items():
        sent[index] = messages[index].model_copy(update={"content": unblocks(messages[index].content, content)})
    if "messages" in kwargs:
        return args, {**kwargs, "messages": sent}, pending
    return (sent, *args[1:]), kwargs, pending


def _chat_dict(message: Message) -> dict[str, Any]:
    """An Agno message in the OpenAI chat form: roles, tool calls and contents, for the adapter."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": blocks(message.content)}
    found: dict[str, Any] = {"role": message.role, "content": blocks(message.content)}
    if message.role == "assistant" and message.tool_calls:
        found["tool_calls"] = [tool_call(c.get("id"), (c.get("function") or {}).get("name"),
                                         (c.get("function") or {}).get("arguments"))
                               for c in message.tool_calls if isinstance(c, dict)]
    return found


def _usage_of(response: Any) -> Usage:
    metrics = getattr(response, "response_usage", None)
    if metrics is None:
        return Usage()
    return usage(getattr(metrics, "input_tokens", None), getattr(metrics, "output_tokens", None),
                 getattr(metrics, "cache_read_tokens", None), getattr(metrics, "cache_write_tokens", None))


def _add(total: Usage, more: Usage) -> None:
    # Streamed deltas carry usage once (OpenAI: the last chunk) or repeat it (Anthropic: the input
    # count on message_start and again on message_delta): the largest value of each is the total.
    for name in ("input", "output", "cache_read", "cache_write"):
        value = getattr(more, name)
        if value is not None:
            setattr(total, name, max(value, getattr(total, name) or 0))
