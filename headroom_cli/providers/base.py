"""What an adapter does: find the tool-output strings in a parsed request body."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# A base64 image given as a data URL (OpenAI's image parts); the base64 text follows the match.
DATA_URL = re.compile(r"data:(image/[A-Za-z0-9.+-]+);base64,", re.ASCII)

# The input field that says most about what a tool printed, for the router's hints.
_TELLING_INPUTS = ("command", "cmd", "file_path", "path", "pattern", "url", "query")


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: str | None  # the telling part of its input: a shell command, a file path, a pattern
    id: str = ""


def tool_call(name: Any, arguments: Any, call_id: Any = "") -> ToolCall:
    """A tool call from its name and its input, given as a dict or as a JSON string of one."""
    call_id = str(call_id or "")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return ToolCall(str(name or ""), arguments[:500] or None, call_id)
    described = None
    if isinstance(arguments, dict):
        for key in _TELLING_INPUTS:
            value = arguments.get(key)
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            if isinstance(value, str) and value:
                described = value[:500]
                break
    return ToolCall(str(name or ""), described, call_id)


@dataclass
class Slot:
    """A string inside the parsed body: ``holder[key]`` is the text, writable in place."""

    holder: dict[str, Any]
    key: str
    call: ToolCall | None = None
    sent: str = field(init=False, repr=False)  # the whole string as the client sent it

    def __post_init__(self) -> None:
        self.sent = self.holder[self.key]

    @property
    def tool_name(self) -> str | None:
        return self.call.name if self.call else None

    @property
    def tool_input(self) -> str | None:
        return self.call.input if self.call else None

    @property
    def text(self) -> str:
        return self.holder[self.key]

    def write(self, text: str) -> None:
        self.holder[self.key] = text

    @property
    def string_id(self) -> tuple[int, str]:
        """Which JSON string of the body this slot lives in (several span slots may share one)."""
        return id(self.holder), self.key

    @property
    def edit(self) -> tuple[str, str]:
        """The whole string it lives in: as sent, and as it reads now."""
        return self.sent, self.holder[self.key]


class SharedString:
    """One string of the body that holds several compressible spans among text that must stay as sent
    (aider pastes command output and files into a user message, between words of its own). Each span is
    rewritten on its own; the string is rebuilt from what was sent, so the rest keeps its exact bytes."""

    def __init__(self, holder: dict[str, Any], key: str):
        self.holder, self.key = holder, key
        self.sent: str = holder[key]
        self._written: dict[int, tuple[int, str]] = {}  # start -> (end, new text)

    def span(self, start: int, end: int, call: ToolCall | None = None) -> "SpanSlot":
        if not 0 <= start <= end <= len(self.sent):
            raise ValueError(f"span {start}-{end} is outside a string of {len(self.sent)} characters")
        return SpanSlot(self.holder, self.key, call, start=start, end=end, shared=self)

    def read(self, start: int, end: int) -> str:
        written = self._written.get(start)
        return written[1] if written else self.sent[start:end]

    def write(self, start: int, end: int, text: str) -> None:
        self._written[start] = (end, text)
        pieces, pos = [], 0
        for at in sorted(self._written):
            stop, new = self._written[at]
            pieces += [self.sent[pos:at], new]
            pos = stop
        pieces.append(self.sent[pos:])
        self.holder[self.key] = "".join(pieces)


@dataclass
class SpanSlot(Slot):
    """Part of a string, ``sent[start:end]``: only that part is compressed; the rest stays as sent."""

    start: int = 0
    end: int = 0
    shared: SharedString | None = None

    def __post_init__(self) -> None:
        self.sent = self.shared.sent

    @property
    def text(self) -> str:
        return self.shared.read(self.start, self.end)

    def write(self, text: str) -> None:
        self.shared.write(self.start, self.end, text)


class Adapter(Protocol):
    provider: str  # "anthropic" | "openai"
    api: str  # "anthropic-messages" | "openai-chat" | "openai-responses"
    items_key: str  # the body's member holding the conversation: "messages" | "input"
    image_block: str  # the type of a content block holding an image
    text_block: str  # the type of a text block in user content (a marker written beside an image)
    cache_breakpoints: bool  # whether the client sets prompt-cache breakpoints (cache_control) itself
    answers_retrieval: bool  # whether the proxy offers and answers its retrieve tool on this API
    stream_dialect: str  # how its replies stream: "message-events" | "chunks" | "response-events"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every compressible tool-output string, in document order. Never system prompts, user-typed
        text, assistant text, tool definitions or cache_control."""

    def query(self, body: dict[str, Any]) -> str | None:
        """The user's latest own words: the question the agent has in mind while it reads."""

    def focus(self, body: dict[str, Any]) -> Any:
        """What the whole conversation says the agent is working on (a focus.Focus)."""

    # Each API's module also answers, for the modules that must not branch on the API's name:
    # shaped(body) (the adapter whose shape a body has), request_body(body, messages, system);
    # calls(item) and calls_at(items, i) (call ids issued and answered), tool_names(item),
    # is_message(item), user_message(text) (context_fit); image_data(block), write_image(...) (images);
    # and, where answers_retrieval: tool_definition, defined_tool_names, forces_a_tool, reply_calls,
    # drop_calls, lead_with, reply_message, with_answers, streamed_call, streamed_message, error_event;
    # error_json(status, message, code, kind) (a whole error reply: providers.error_json asks for it).


def item_role(item: Any) -> str:
    """A message's role, or an input item's type (Responses items without a role)."""
    return str(item.get("role") or item.get("type") or "") if isinstance(item, dict) else ""


QUERY_CHARS = 1_000


def user_text(content: Any, text_types: tuple[str, ...] = ("text",)) -> str | None:
    """The user's own words in a message's content, leaving out client-injected reminders."""
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [b["text"] for b in content
                 if isinstance(b, dict) and b.get("type") in text_types and isinstance(b.get("text"), str)]
    else:
        return None
    words = "\n".join(t for t in texts if t.strip() and not t.lstrip().startswith("<system-reminder>"))
    return words[:QUERY_CHARS] or None


def text_slots(content: Any, text_types: tuple[str, ...], call: ToolCall | None) -> list[Slot]:
    """A tool output given as a string lives in its holder; given as a list, in its text blocks."""
    if isinstance(content, list):
        return [
            Slot(block, "text", call)
            for block in content
            if isinstance(block, dict) and block.get("type") in text_types and isinstance(block.get("text"), str)
        ]
    return []


def latest_user_words(messages: Any, text_types: tuple[str, ...] = ("text",)) -> str | None:
    """The newest user message that has words of the user's own (not only tool results)."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            found = user_text(message.get("content"), text_types)
            if found:
                return found
    return None


def words_of(content: Any, text_types: tuple[str, ...] = ("text",)) -> str:
    """Every text a message's content holds, leaving out client-injected reminders (for the focus)."""
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") in text_types]
    else:
        return ""
    return "\n".join(t for t in texts if isinstance(t, str) and not t.lstrip().startswith("<system-reminder>"))
