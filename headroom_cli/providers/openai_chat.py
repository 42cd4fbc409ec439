"""OpenAI Chat Completions: tool outputs are ``role: "tool"`` messages."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call


class OpenAIChat:
    provider = "openai"
    api = "openai-chat"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return []
        calls: dict[str, ToolCall] = {}
        found: list[Slot] = []
        for message in messages:
            if not isinstance(message, dict):
                continue
            for requested in message.get("tool_calls") or []:
                if isinstance(requested, dict) and isinstance(requested.get("function"), dict):
                    function = requested["function"]
                    calls[str(requested.get("id"))] = tool_call(function.get("name"), function.get("arguments"), requested.get("id"))
            if message.get("role") != "tool":
                continue
            call = calls.get(str(message.get("tool_call_id")))
            if isinstance(message.get("content"), str):
                found.append(Slot(message, "content", call))
            else:
                found.extend(text_slots(message.get("content"), ("text",), call))
        return found

    def query(self, body: dict[str, Any]) -> str | None:
        return latest_user_words(body.get("messages"))
