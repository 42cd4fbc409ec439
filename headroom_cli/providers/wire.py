"""Small pieces of wire format the providers share."""

from __future__ import annotations

import json
from typing import Any


def sse_error(event: str | None, data: dict[str, Any]) -> bytes:
    """A server-sent error event (json.dumps' default spacing: the bytes clients have always got)."""
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + json.dumps(data).encode() + b"\n\n"


def error_json(provider: str, status: int, message: str, code: str | None) -> bytes:
    """An error body in the shape the provider's SDK reads (OpenAI's for "openai", else Anthropic's)."""
    if provider == "openai":
        kind = "invalid_request_error" if status == 401 else "server_error"
        error: dict[str, Any] = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        kind = {401: "authentication_error", 529: "overloaded_error"}.get(status, "api_error")
        error = {"type": "error", "error": {"type": kind, "message": message}}
    return json.dumps(error).encode()
