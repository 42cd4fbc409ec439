"""OpenAI Chat Completions: tool outputs are ``role: "tool"`` messages, and in aider's requests the
outputs aider pastes into user messages (``providers/aider.py``)."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers import aider
from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call, words_of
from headroom_cli.providers.openai_responses import OpenAIResponses


class OpenAIChat:
    provider = "openai"
    api = "openai-chat"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            # Cursor's agent posts Responses-shaped bodies (``input`` items) to this path.
            return OpenAIResponses().slots(body) if isinstance(body.get("input"), list) else []
        from_aider = aider.is_aider_request(messages)
        systems = aider.system_texts(body) if from_aider else []
        calls: dict[str, ToolCall] = {}
        found: list[Slot] = []
        for message in messages:
            if not isinstance(message, dict):
                continue
            requested_calls = message.get("tool_calls")
            for requested in requested_calls if isinstance(requested_calls, list) else []:
                if isinstance(requested, dict) and isinstance(requested.get("function"), dict):
                    function = requested["function"]
                    calls[str(requested.get("id"))] = tool_call(function.get("name"), function.get("arguments"), requested.get("id"))
            if from_aider and message.get("role") == "user":
                found.extend(aider.message_slots(message, systems))
            if message.get("role") != "tool":
                continue
            call = calls.get(str(message.get("tool_call_id")))
            if isinstance(message.get("content"), str):
                found.append(Slot(message, "content", call))
            else:
                found.extend(text_slots(message.get("content"), ("text",), call))
        return found

    def query(self, body: dict[str, Any]) -> str | None:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return OpenAIResponses().query(body)
        if aider.is_aider_request(messages):
            return aider.latest_typed(messages)
        return latest_user_words(messages)

    def focus(self, body: dict[str, Any]) -> Focus:
        """What the whole conversation says the agent is working on (focus.py)."""
        messages = body.get("messages")
        if not isinstance(messages, list):
            return OpenAIResponses().focus(body)
        return focus_of(self._events(messages))

    @staticmethod
    def _events(messages: list):
        for message in messages:
            if not isinstance(message, dict):
                continue
            role, content = message.get("role"), message.get("content")
            if role == "tool":
                yield Event("output", words_of(content))
                continue
            if role not in ("user", "assistant"):
                continue
            words = words_of(content)
            if words:
                yield Event(role, words)
            calls = message.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    yield Event("call", tool=str(call["function"].get("name") or ""),
                                arguments=call["function"].get("arguments"))
