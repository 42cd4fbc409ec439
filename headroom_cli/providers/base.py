"""What an adapter does: find the tool-output strings in a parsed request body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class Slot:
    """A string inside the parsed body: ``holder[key]`` is the text, writable in place."""

    holder: dict[str, Any]
    key: str
    tool_name: str | None = None

    @property
    def text(self) -> str:
        return self.holder[self.key]

    def write(self, text: str) -> None:
        self.holder[self.key] = text


class Adapter(Protocol):
    provider: str  # "anthropic" | "openai"
    api: str  # "anthropic-messages" | "openai-chat" | "openai-responses"

    def slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every compressible tool-output string, in document order. Never system prompts, user-typed
        text, assistant text, tool definitions or cache_control."""


def text_slots(content: Any, text_types: tuple[str, ...], tool_name: str | None) -> list[Slot]:
    """A tool output given as a string lives in its holder; given as a list, in its text blocks."""
    if isinstance(content, list):
        return [
            Slot(block, "text", tool_name)
            for block in content
            if isinstance(block, dict) and block.get("type") in text_types and isinstance(block.get("text"), str)
        ]
    return []
