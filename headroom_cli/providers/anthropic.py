"""Anthropic Messages: tool outputs are ``tool_result`` blocks inside user messages, and in aider's
requests the outputs aider pastes into user messages (``providers/aider.py``)."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers import aider
from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call, words_of


class AnthropicMessages:
    provider = "anthropic"
    api = "anthropic-messages"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return []
        from_aider = aider.is_aider_request(messages)
        systems = aider.system_texts(body) if from_aider else []
        calls: dict[str, ToolCall] = {}
        found: list[Slot] = []
        for message in messages:
            if from_aider and isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
                found.extend(aider.span_slots(message, "content", systems))  # aider's pasted outputs, never the typed words
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                continue  # other string content is user-typed or system text: never touched
            for block in message["content"]:
                if not isinstance(block, dict):
                    continue
                if from_aider and block.get("type") == "text" and message.get("role") == "user" and isinstance(block.get("text"), str):
                    found.extend(aider.span_slots(block, "text", systems))
                elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    calls[block["id"]] = tool_call(block.get("name"), block.get("input"), block["id"])
                elif block.get("type") == "tool_result" and message.get("role") == "user":
                    use_id = block.get("tool_use_id")
                    call = calls.get(use_id) if isinstance(use_id, str) else None
                    content = block.get("content")
                    if isinstance(content, str):
                        found.append(Slot(block, "content", call))
                    else:
                        found.extend(text_slots(content, ("text",), call))  # image blocks stay as they are
        return found

    def query(self, body: dict[str, Any]) -> str | None:
        messages = body.get("messages")
        if aider.is_aider_request(messages):
            return aider.latest_typed(messages)
        return latest_user_words(messages)

    def focus(self, body: dict[str, Any]) -> Focus:
        """What the whole conversation says the agent is working on (focus.py)."""
        return focus_of(self._events(body.get("messages")))

    @staticmethod
    def _events(messages: Any):
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            role, content = message.get("role"), message.get("content")
            if role not in ("user", "assistant"):
                continue
            words = words_of(content)
            if words:
                yield Event(role, words)
            for block in content if isinstance(content, list) else []:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    yield Event("call", tool=str(block.get("name") or ""), arguments=block.get("input"))
                elif block.get("type") == "tool_result":
                    yield Event("output", words_of(block.get("content")))
