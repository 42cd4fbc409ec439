"""OpenAI Responses: tool outputs are ``function_call_output`` input items."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers.base import Slot, text_slots


class OpenAIResponses:
    provider = "openai"
    api = "openai-responses"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        items = body.get("input")
        if not isinstance(items, list):
            return []  # a plain string input is the user's own text
        tool_names: dict[str, str] = {}
        found: list[Slot] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                tool_names[str(item.get("call_id"))] = str(item.get("name") or "")
            elif item.get("type") == "function_call_output":
                name = tool_names.get(str(item.get("call_id")))
                if isinstance(item.get("output"), str):
                    found.append(Slot(item, "output", name))
                else:
                    found.extend(text_slots(item.get("output"), ("input_text", "output_text", "text"), name))
        return found
