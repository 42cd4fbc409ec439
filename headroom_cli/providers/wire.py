"""Small pieces of wire format the providers share."""

from __future__ import annotations

import json
from typing import Any


def sse_error(event: str | None, data: dict[str, Any]) -> bytes:
    """A server-sent error event (json.dumps' default spacing: the bytes clients have always got)."""
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + json.dumps(data).encode() + b"\n\n"

