"""Anthropic Messages: tool outputs are ``tool_result`` blocks inside user messages, and in aider's
requests the outputs aider pastes into user messages (``providers/aider.py``)."""

from __future__ import annotations

import json
from typing import Any

from headroom_cli.providers import aider
from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import Slot, ToolCall, text_slots, latest_user_words, tool_call, words_of
from headroom_cli.providers.wire import sse_error


class AnthropicMessages:
    provider = "anthropic"
    api = "anthropic-messages"
    items_key = "messages"
    image_block = "image"
    text_block = "text"
    cache_breakpoints = True
    answers_retrieval = True
    usage_only_when_asked = False  # a stream always reports its usage
    system_in_messages = False  # the system prompt is a member of its own
    stream_dialect = "message-events"  # typed SSE events: message_start, content_block_*, message_delta

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

    # -- the body as a whole --------------------------------------------------------------------

    def shaped(self, body: dict[str, Any]) -> "AnthropicMessages":
        """The adapter whose wire format this body has (another only where a path takes two shapes)."""
        return self

    @staticmethod
    def request_body(body: dict[str, Any], messages: Any, system: Any) -> None:
        """Puts a library call's system prompt and messages into ``body``."""
        if system is not None:
            body["system"] = system
        body["messages"] = messages

    # -- history: calls and their answers (context_fit) -------------------------------------------

    @staticmethod
    def calls(item: Any) -> tuple[set[str], set[str]]:
        """(call ids issued, call ids answered) by one message."""
        issued, answered = set(), set()
        if not isinstance(item, dict):
            return issued, answered
        for block in item.get("content") if isinstance(item.get("content"), list) else []:
            if isinstance(block, dict):
                if str(block.get("type", "")).endswith("tool_use") and block.get("id"):
                    issued.add(str(block["id"]))
                if block.get("tool_use_id"):
                    answered.add(str(block["tool_use_id"]))
        return issued, answered

    def calls_at(self, items: list[Any], i: int) -> tuple[set[str], set[str]]:
        """What ``items[i]`` issues and answers, including what ties it to its neighbours."""
        return self.calls(items[i])

    @staticmethod
    def tool_names(item: Any) -> list[str]:
        """The names of the tools one message calls."""
        if not isinstance(item, dict) or not isinstance(item.get("content"), list):
            return []
        return [str(b.get("name")) for b in item.get("content") if isinstance(b, dict)
                and str(b.get("type", "")).endswith("tool_use")]

    @staticmethod
    def is_message(item: dict[str, Any]) -> bool:
        """Whether a history item is a message (not a call, an output or reasoning)."""
        return True

    @staticmethod
    def user_message(text: str) -> dict[str, Any]:
        """A user message holding ``text`` (a marker standing for moved turns)."""
        return {"role": "user", "content": [{"type": "text", "text": text}]}

    # -- images ---------------------------------------------------------------------------------

    @staticmethod
    def image_data(block: dict[str, Any]) -> tuple[str, str | None] | None:
        """(base64 text, detail) of an image block holding base64 data; None for URL-sourced images."""
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
            return source["data"], None
        return None

    @staticmethod
    def write_image(block: dict[str, Any], media: str, data: str, detail: str | None) -> None:
        block["source"] = {**block["source"], "media_type": media, "data": data}

    # -- the retrieve tool, and the replies that call it (proxy/retrieval.py, proxy/rounds.py) ---------

    @staticmethod
    def tool_definition(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "description": description, "input_schema": schema}

    @staticmethod
    def defined_tool_names(tools: list[Any]) -> list[str]:
        return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]

    @staticmethod
    def forces_a_tool(choice: Any) -> bool:
        return isinstance(choice, dict) and choice.get("type") in ("any", "tool", "none")

    @staticmethod
    def reply_calls(reply: dict[str, Any], name: str) -> tuple[list[tuple[str, Any]], bool]:
        """(id, input) of each call to the tool ``name`` in a whole reply, and whether it calls others too."""
        ours, theirs = [], False
        for block in reply.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                if block.get("name") == name:
                    ours.append((str(block.get("id")), block.get("input")))
                else:
                    theirs = True
        return ours, theirs

    @staticmethod
    def drop_calls(reply: dict[str, Any], name: str) -> None:
        """Takes the calls to ``name`` out of a whole reply (a copy of it), in place."""
        reply["content"] = [b for b in reply.get("content") or []
                            if not (isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name") == name)]

    @staticmethod
    def lead_with(reply: dict[str, Any], earlier: list[dict[str, Any]], name: str) -> None:
        """Puts what the model said in earlier rounds (their messages) before a reply (a copy), in place."""
        shown = [b for m in earlier for b in m["content"] if not (b.get("type") == "tool_use" and b.get("name") == name)]
        reply["content"] = shown + (reply.get("content") or [])

    @staticmethod
    def reply_message(reply: dict[str, Any]) -> dict[str, Any]:
        """A whole reply as the assistant message that carries the conversation on."""
        return {"role": "assistant", "content": reply.get("content") or []}

    @staticmethod
    def with_answers(body: dict[str, Any], assistant: dict[str, Any], answers: list[tuple[Any, Any]]) -> None:
        """Appends the model's message and the tool results answering its calls (a copy of the body), in place."""
        results = []
        for call, found in answers:
            result = {"type": "tool_result", "tool_use_id": call.id, "content": _result_content(found)}
            if found.is_error:
                result["is_error"] = True
            results.append(result)
        body["messages"] = [*body.get("messages", []), assistant, {"role": "user", "content": results}]

    @staticmethod
    def streamed_call(block: dict[str, Any]) -> tuple[str, Any]:
        """(id, input) of a tool_use block rebuilt from a stream."""
        return str(block.get("id")), block.get("input")

    @staticmethod
    def streamed_message(blocks: list[dict[str, Any]], text: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
        """The assistant message a streamed round rebuilt: its content blocks."""
        return {"role": "assistant", "content": blocks}

    @staticmethod
    def error_event(message: str) -> bytes:
        """An error inside an already started stream."""
        return sse_error("error", {"type": "error", "error": {"type": "api_error", "message": message}})

    @staticmethod
    def error_json(status: int, message: str, code: str | None = None, kind: str | None = None) -> bytes:
        """A whole error reply as Anthropic's SDK reads it: ``kind`` its error type (by default from the
        status); ``code`` (OpenAI's machine-readable code) has no place in this shape."""
        kind = kind or {401: "authentication_error", 529: "overloaded_error"}.get(status, "api_error")
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def _result_content(found: Any) -> str | list[dict[str, Any]]:
    """A tool_result's content: the text, or the text and the original image (tool results hold images)."""
    if found.image is None:
        return found.text
    media, data = found.image
    return [{"type": "text", "text": found.text},
            {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}]
