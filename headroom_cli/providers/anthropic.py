"""Anthropic Messages: tool outputs are ``tool_result`` blocks inside user messages."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import Slot, text_slots


class AnthropicMessages:
    provider = "anthropic"
    api = "anthropic-messages"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return []
        tool_names: dict[str, str] = {}
        found: list[Slot] = []
        for message in messages:
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                continue  # string content is user-typed or system text: never touched
            for block in message["content"]:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    tool_names[block["id"]] = str(block.get("name") or "")
                elif block.get("type") == "tool_result" and message.get("role") == "user":
                    name = tool_names.get(block.get("tool_use_id"))
                    content = block.get("content")
                    if isinstance(content, str):
                        found.append(Slot(block, "content", name))
                    else:
                        found.extend(text_slots(content, ("text",), name))  # image blocks stay as they are
        return found
