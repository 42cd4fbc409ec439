"""OpenAI Chat Completions: tool outputs are ``role: "tool"`` messages."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import Slot, text_slots


class OpenAIChat:
    provider = "openai"
    api = "openai-chat"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return []
        tool_names: dict[str, str] = {}
        found: list[Slot] = []
        for message in messages:
            if not isinstance(message, dict):
                continue
            for call in message.get("tool_calls") or []:
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    tool_names[str(call.get("id"))] = str(call["function"].get("name") or "")
            if message.get("role") != "tool":
                continue
            name = tool_names.get(str(message.get("tool_call_id")))
            if isinstance(message.get("content"), str):
                found.append(Slot(message, "content", name))
            else:
                found.extend(text_slots(message.get("content"), ("text",), name))
        return found
