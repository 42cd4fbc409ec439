"""OpenAI Chat Completions: tool outputs are ``role: "tool"`` messages, and in aider's requests the
outputs aider pastes into user messages (``providers/aider.py``)."""

from __future__ import annotations

from typing import Any

from headroom_cli.providers import aider
from headroom_cli.focus import Event, Focus, focus_of
from headroom_cli.providers.base import DATA_URL, Slot, ToolCall, text_slots, latest_user_words, tool_call, words_of
from headroom_cli.providers.wire import sse_error
from headroom_cli.providers.openai_responses import OpenAIResponses


class OpenAIChat:
    provider = "openai"
    api = "openai-chat"
    items_key = "messages"
    image_block = "image_url"
    text_block = "text"
    cache_breakpoints = False
    answers_retrieval = True
    usage_only_when_asked = True  # a stream reports usage only with stream_options.include_usage
    system_in_messages = True  # the system prompt is a first message of role "system"
    stream_dialect = "chunks"  # unnamed SSE events, each a chunk of choices[].delta, then [DONE]

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

    # -- the body as a whole --------------------------------------------------------------------

    def shaped(self, body: dict[str, Any]) -> "OpenAIChat | OpenAIResponses":
        """The adapter whose wire format this body has: Cursor posts Responses-shaped bodies here."""
        return self if isinstance(body.get("messages"), list) else OpenAIResponses()

    @staticmethod
    def request_body(body: dict[str, Any], messages: Any, system: Any) -> None:
        """Puts a library call's system prompt (a first system message) and messages into ``body``."""
        body["messages"] = ([{"role": "system", "content": system}] if system is not None else []) + list(messages)

    # -- history: calls and their answers (context_fit) -------------------------------------------

    @staticmethod
    def calls(item: Any) -> tuple[set[str], set[str]]:
        """(call ids issued, call ids answered) by one message."""
        issued, answered = set(), set()
        if not isinstance(item, dict):
            return issued, answered
        for call in item.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id"):
                issued.add(str(call["id"]))
        if item.get("role") == "tool" and item.get("tool_call_id"):
            answered.add(str(item["tool_call_id"]))
        return issued, answered

    def calls_at(self, items: list[Any], i: int) -> tuple[set[str], set[str]]:
        return self.calls(items[i])

    @staticmethod
    def tool_names(item: Any) -> list[str]:
        if not isinstance(item, dict):
            return []
        return [str((c.get("function") or {}).get("name")) for c in item.get("tool_calls") or [] if isinstance(c, dict)]

    @staticmethod
    def is_message(item: dict[str, Any]) -> bool:
        return True

    @staticmethod
    def user_message(text: str) -> dict[str, Any]:
        return {"role": "user", "content": text}

    # -- images ---------------------------------------------------------------------------------

    @staticmethod
    def image_data(block: dict[str, Any]) -> tuple[str, str | None] | None:
        """(base64 text, detail) of an ``image_url`` part holding a data URL; None for other URLs."""
        holder = block.get("image_url")
        url = holder.get("url") if isinstance(holder, dict) else None
        match = DATA_URL.match(url) if isinstance(url, str) else None
        if match is None:
            return None
        detail = holder.get("detail")
        return url[match.end():], detail if isinstance(detail, str) else None

    @staticmethod
    def write_image(block: dict[str, Any], media: str, data: str, detail: str | None) -> None:
        block["image_url"] = {**block["image_url"], "url": f"data:{media};base64,{data}"}
        if detail:
            block["image_url"]["detail"] = detail

    # -- the retrieve tool, and the replies that call it (proxy/retrieval.py, proxy/rounds.py) ---------

    @staticmethod
    def tool_definition(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}

    @staticmethod
    def defined_tool_names(tools: list[Any]) -> list[str]:
        specs = [t.get("function") for t in tools if isinstance(t, dict)]
        return [s["name"] for s in specs if isinstance(s, dict) and isinstance(s.get("name"), str)]

    @staticmethod
    def forces_a_tool(choice: Any) -> bool:
        return choice in ("required", "none") or isinstance(choice, dict)

    @staticmethod
    def reply_calls(reply: dict[str, Any], name: str) -> tuple[list[tuple[str, Any]], bool]:
        """(id, arguments) of each call to the tool ``name`` in a whole reply, and whether it calls others too."""
        ours, theirs = [], False
        choices = reply.get("choices") or []
        if len(choices) != 1 or not isinstance(choices[0], dict):
            return [], False
        for call in (choices[0].get("message") or {}).get("tool_calls") or []:
            function = call.get("function") or {}
            if function.get("name") == name:
                ours.append((str(call.get("id")), function.get("arguments")))
            else:
                theirs = True
        return ours, theirs

    @staticmethod
    def drop_calls(reply: dict[str, Any], name: str) -> None:
        message = reply["choices"][0]["message"]
        message["tool_calls"] = [c for c in message.get("tool_calls") or []
                                 if (c.get("function") or {}).get("name") != name]

    @staticmethod
    def lead_with(reply: dict[str, Any], earlier: list[dict[str, Any]], name: str) -> None:
        message = reply["choices"][0]["message"]
        message["content"] = "".join(m.get("content") or "" for m in earlier) + (message.get("content") or "")

    @staticmethod
    def reply_message(reply: dict[str, Any]) -> dict[str, Any]:
        message = reply["choices"][0]["message"]
        return {"role": "assistant", "content": message.get("content"), "tool_calls": message.get("tool_calls") or []}

    @staticmethod
    def with_answers(body: dict[str, Any], assistant: dict[str, Any], answers: list[tuple[Any, Any]]) -> None:
        """Appends the model's message, a tool message per call and, after them, the images asked for."""
        tool_messages = [{"role": "tool", "tool_call_id": call.id, "content": found.text} for call, found in answers]
        body["messages"] = [*body.get("messages", []), assistant, *tool_messages, *_images(answers)]

    @staticmethod
    def streamed_call(call: dict[str, Any]) -> tuple[str, Any]:
        """(id, arguments) of a tool call rebuilt from a stream."""
        return str(call.get("id")), call["function"]["arguments"]

    @staticmethod
    def streamed_message(blocks: list[dict[str, Any]], text: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
        """The assistant message a streamed round rebuilt: its text and tool calls."""
        return {"role": "assistant", "content": text or None, "tool_calls": calls}

    error_json = staticmethod(OpenAIResponses.error_json)  # one error shape for OpenAI's APIs

    @staticmethod
    def error_event(message: str) -> bytes:
        """An error inside an already started stream."""
        return sse_error(None, {"error": {"message": message, "type": "server_error", "param": None,
                                          "code": "headroom_retrieval"}})


def _images(answers: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Chat Completions tool messages hold text only: the images asked for follow in one user message."""
    parts: list[dict[str, Any]] = []
    for _, found in answers:
        if found.image is not None:
            media, data = found.image
            parts += [{"type": "text", "text": found.text},
                      {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}", "detail": "high"}}]
    return [{"role": "user", "content": parts}] if parts else []
