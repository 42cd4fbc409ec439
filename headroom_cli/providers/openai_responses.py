"""OpenAI Responses: tool outputs are ``function_call_output`` input items."""

from __future__ import annotations

import json
from typing import Any

from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import (DATA_URL, Slot, ToolCall, item_role, text_slots, latest_user_words, tool_call,
                                         user_text, words_of)


class OpenAIResponses:
    provider = "openai"
    api = "openai-responses"
    items_key = "input"
    image_block = "input_image"
    text_block = "input_text"
    cache_breakpoints = False
    answers_retrieval = False  # the relay speaks Messages and Chat Completions only
    usage_only_when_asked = False
    system_in_messages = False  # the system prompt is ``instructions``
    stream_dialect = "response-events"  # typed SSE events: response.created, response.output_item.*

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

    # -- the body as a whole --------------------------------------------------------------------

    def shaped(self, body: dict[str, Any]) -> "OpenAIResponses":
        return self

    @staticmethod
    def request_body(body: dict[str, Any], messages: Any, system: Any) -> None:
        """Puts a library call's system prompt (``instructions``) and messages (``input``) into ``body``."""
        if system is not None:
            body["instructions"] = system
        body["input"] = messages

    # -- history: calls and their answers (context_fit) -------------------------------------------

    @staticmethod
    def calls(item: Any) -> tuple[set[str], set[str]]:
        """(call ids issued, call ids answered) by one input item."""
        issued, answered = set(), set()
        if isinstance(item, dict) and item.get("call_id"):
            (answered if str(item.get("type", "")).endswith("_output") else issued).add(str(item["call_id"]))
        return issued, answered

    def calls_at(self, items: list[Any], i: int) -> tuple[set[str], set[str]]:
        """A reasoning item must stay with the item after it: the pair is tied like a call and its answer."""
        issued, answered = self.calls(items[i])
        if item_role(items[i]) == "reasoning":
            issued = issued | {f"reasoning@{i}"}
        if i > 0 and item_role(items[i - 1]) == "reasoning":
            answered = answered | {f"reasoning@{i - 1}"}
        return issued, answered

    @staticmethod
    def tool_names(item: Any) -> list[str]:
        if not isinstance(item, dict):
            return []
        return [str(item.get("name"))] if item.get("call_id") and not str(item.get("type", "")).endswith("_output") else []

    @staticmethod
    def is_message(item: dict[str, Any]) -> bool:
        return item.get("type", "message") == "message"

    @staticmethod
    def user_message(text: str) -> dict[str, Any]:
        return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}

    # -- images ---------------------------------------------------------------------------------

    @staticmethod
    def image_data(block: dict[str, Any]) -> tuple[str, str | None] | None:
        """(base64 text, detail) of an ``input_image`` part holding a data URL; None for other URLs."""
        url = block.get("image_url")
        match = DATA_URL.match(url) if isinstance(url, str) else None
        if match is None:
            return None
        detail = block.get("detail")
        return url[match.end():], detail if isinstance(detail, str) else None

    @staticmethod
    def write_image(block: dict[str, Any], media: str, data: str, detail: str | None) -> None:
        block["image_url"] = f"data:{media};base64,{data}"
        if detail:
            block["detail"] = detail

    @staticmethod
    def error_json(status: int, message: str, code: str | None = None, kind: str | None = None) -> bytes:
        """A whole error reply as OpenAI's SDKs read it (Responses and Chat Completions alike): ``kind``
        its error type (by default from the status), ``code`` the machine-readable one."""
        kind = kind or ("invalid_request_error" if status == 401 else "server_error")
        return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
