"""OpenAI Responses: tool outputs are ``function_call_output`` input items."""

from __future__ import annotations

from typing import Any

from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call, user_text, words_of


class OpenAIResponses:
    provider = "openai"
    api = "openai-responses"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        items = body.get("input")
        if not isinstance(items, list):
            return []  # a plain string input is the user's own text
        calls: dict[str, ToolCall] = {}
        found: list[Slot] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                calls[str(item.get("call_id"))] = tool_call(item.get("name"), item.get("arguments"), item.get("call_id"))
            elif item.get("type") == "function_call_output":
                call = calls.get(str(item.get("call_id")))
                if isinstance(item.get("output"), str):
                    found.append(Slot(item, "output", call))
                else:
                    found.extend(text_slots(item.get("output"), ("input_text", "output_text", "text"), call))
        return found

    def query(self, body: dict[str, Any]) -> str | None:
        items = body.get("input")
        if isinstance(items, str):
            return user_text(items)
        return latest_user_words(items, ("input_text", "text"))

    def focus(self, body: dict[str, Any]) -> Focus:
        """What the whole conversation says the agent is working on (focus.py)."""
        items = body.get("input")
        if isinstance(items, str):
            return focus_of([Event("user", items)])
        return focus_of(self._events(items if isinstance(items, list) else []))

    @staticmethod
    def _events(items: list):
        texts = ("input_text", "output_text", "text")
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "function_call":
                yield Event("call", tool=str(item.get("name") or ""), arguments=item.get("arguments"))
            elif kind == "function_call_output":
                yield Event("output", words_of(item.get("output"), texts))
            elif item.get("role") in ("user", "assistant") and kind in (None, "message"):
                words = words_of(item.get("content"), texts)
                if words:
                    yield Event(item["role"], words)
