"""For frameworks with message objects of their own (LangChain, Agno): their conversation in the
OpenAI chat form, the tool outputs compressed through the library, and the new texts mapped back by
position, so only tool outputs ever change."""

from __future__ import annotations

import json
from typing import Any

from headroom_cli.ledger import Usage
from headroom_cli.library import OPENAI_CHAT, Headroom, Pending


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    return {"id": str(call_id or ""), "type": "function", "function": {"name": str(name or ""), "arguments": arguments}}


def blocks(content: Any) -> Any:
    """Text content as the chat API spells it: a string, or a list of blocks (bare strings made text blocks)."""
    if isinstance(content, list):
        return [{"type": "text", "text": part} if isinstance(part, str) else part for part in content]
    return content


def unblocks(original: Any, new: Any) -> Any:
    """``new`` (from ``blocks(original)``) in the shape of ``original``: bare strings stay strings."""
    if isinstance(original, list) and isinstance(new, list) and len(original) == len(new):
        return [n.get("text", o) if isinstance(o, str) and isinstance(n, dict) else n for o, n in zip(original, new)]
    return new


def compress_tool_outputs(headroom: Headroom, messages: list[dict[str, Any]], *, model: str | None,
                          provider: str) -> tuple[dict[int, Any], Pending]:
    """{index of a tool message: its compressed content}, and the request to finish with the reply's usage."""
    body: dict[str, Any] = {"model": model} if model else {}
    body["messages"] = messages
    pending = headroom.prepare(body, OPENAI_CHAT, provider=provider)
    sent = pending.compressed.request.get("messages")
    changed: dict[int, Any] = {}
    if isinstance(sent, list) and len(sent) == len(messages):
        for index, (before, after) in enumerate(zip(messages, sent)):
            if before.get("role") == "tool" and isinstance(after, dict) and after.get("content") != before.get("content"):
                changed[index] = after.get("content")
    return changed, pending


def usage(input_tokens: Any = None, output_tokens: Any = None, cache_read: Any = None, cache_write: Any = None) -> Usage:
    def number(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(number(input_tokens), number(output_tokens), number(cache_read), number(cache_write))


def provider_of(name: str) -> str:
    """'anthropic' for an Anthropic-backed model's type or class name, else 'openai'."""
    return "anthropic" if any(word in name.lower() for word in ("anthropic", "claude")) else "openai"
