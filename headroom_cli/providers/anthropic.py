"""Anthropic Messages: tool outputs are ``tool_result`` blocks inside user messages."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call


class AnthropicMessages:
    provider = "anthropic"
    api = "anthropic-messages"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return []
        calls: dict[str, ToolCall] = {}
        found: list[Slot] = []
        for message in messages:
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                continue  # string content is user-typed or system text: never touched
            for block in message["content"]:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    calls[block["id"]] = tool_call(block.get("name"), block.get("input"), block["id"])
                elif block.get("type") == "tool_result" and message.get("role") == "user":
                    call = calls.get(block.get("tool_use_id"))
                    content = block.get("content")
                    if isinstance(content, str):
                        found.append(Slot(block, "content", call))
                    else:
                        found.extend(text_slots(content, ("text",), call))  # image blocks stay as they are
        return found

    def query(self, body: dict[str, Any]) -> str | None:
        return latest_user_words(body.get("messages"))
