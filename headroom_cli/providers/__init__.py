"""Wire formats: where each provider's request keeps its tool outputs, and which path is whose."""

from __future__ import annotations

from headroom_cli.providers.base import Adapter, Slot
from headroom_cli.providers.anthropic import AnthropicMessages
from headroom_cli.providers.openai_chat import OpenAIChat
from headroom_cli.providers.openai_responses import OpenAIResponses

ANTHROPIC = "anthropic"
OPENAI = "openai"

_ADAPTERS: dict[str, Adapter] = {
    "/v1/messages": AnthropicMessages(),
    "/v1/chat/completions": OpenAIChat(),
    "/v1/responses": OpenAIResponses(),
}

# Paths only OpenAI serves; anything else with an Anthropic header or key goes to Anthropic.
_OPENAI_PREFIXES = ("/v1/chat/", "/v1/responses", "/v1/completions", "/v1/embeddings", "/v1/audio/",
                    "/v1/images/", "/v1/files", "/v1/uploads", "/v1/batches", "/v1/moderations",
                    "/v1/fine_tuning/", "/v1/vector_stores", "/v1/assistants", "/v1/threads", "/v1/realtime")


_BY_API: dict[str, Adapter] = {adapter.api: adapter for adapter in _ADAPTERS.values()}
# Whose wire a provider's own replies use (its errors): its first API.
_BY_PROVIDER: dict[str, Adapter] = {ANTHROPIC: _ADAPTERS["/v1/messages"], OPENAI: _ADAPTERS["/v1/chat/completions"]}
API_PATHS: dict[str, str] = {adapter.api: path for path, adapter in _ADAPTERS.items()}  # each API's endpoint


def by_api(api: str) -> Adapter | None:
    """The adapter of a wire format by its name ("anthropic-messages", "openai-chat", "openai-responses")."""
    return _BY_API.get(api)


def by_provider(provider: str) -> Adapter:
    """The adapter that speaks for ``provider`` ("anthropic" | "openai") where no API is named (an
    error reply): Anthropic's for a provider it cannot tell."""
    return _BY_PROVIDER.get(provider, _BY_PROVIDER[ANTHROPIC])


def error_json(provider: str, status: int, message: str, code: str | None = None, kind: str | None = None) -> bytes:
    """An error reply in the shape ``provider``'s SDK reads (each API module writes its own)."""
    return by_provider(provider).error_json(status, message, code, kind)


def adapter_for(path: str) -> Adapter | None:
    """The adapter for a compressible endpoint, by path without the query string."""
    return _ADAPTERS.get(path.rstrip("/"))


def provider_for(path: str, headers: dict[str, str]) -> str:
    """Which upstream a request belongs to: by path where only one provider serves it, else by headers."""
    if path.startswith(_OPENAI_PREFIXES):
        return OPENAI
    if path.startswith(("/v1/messages", "/v1/complete")) or "anthropic-version" in headers or "x-api-key" in headers:
        return ANTHROPIC
    if headers.get("authorization", "").lower().startswith("bearer "):
        return OPENAI
    return ANTHROPIC


__all__ = ["Adapter", "Slot", "adapter_for", "by_api", "by_provider", "error_json", "API_PATHS", "provider_for",
           "ANTHROPIC", "OPENAI"]
