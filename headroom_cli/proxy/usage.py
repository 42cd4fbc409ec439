"""Read the upstream's reported usage from its reply, streamed (SSE) or whole, without changing it."""

from __future__ import annotations

import json
import zlib
from typing import Any

from headroom_cli.ledger import Usage


def _usage_of(event: Any) -> dict[str, Any] | None:
    if not isinstance(event, dict):
        return None
    for holder in (event, event.get("message"), event.get("response")):
        if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
            return holder["usage"]
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def absorb(usage: Usage, event: Any) -> None:
    """Fold one event's usage into ``usage``: Anthropic, OpenAI chat and Responses field names."""
    found = _usage_of(event)
    if found is None:
        return
    details = found.get("prompt_tokens_details") or found.get("input_tokens_details") or {}
    pairs = (
        ("input", _int(found.get("input_tokens", found.get("prompt_tokens")))),
        ("output", _int(found.get("output_tokens", found.get("completion_tokens")))),
        ("cache_read", _int(found.get("cache_read_input_tokens", details.get("cached_tokens") if isinstance(details, dict) else None))),
        ("cache_write", _int(found.get("cache_creation_input_tokens"))),
    )
    for name, value in pairs:
        if value is not None:  # later events (message_delta) refine earlier ones
            setattr(usage, name, value)


class UsageTap:
    """A mitmproxy stream callable: returns every chunk unchanged and watches SSE data lines for usage."""

    MAX_LINE = 1 << 20  # a line longer than this is no usage event; stop buffering it

    def __init__(self, content_encoding: str = ""):
        self.usage = Usage()
        self._pending = b""
        encoding = content_encoding.strip().lower()
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "deflate") else None
        self._readable = encoding in ("", "identity", "gzip", "deflate")

    def __call__(self, chunk: bytes) -> bytes:
        # Watching must never cost the client its stream: whatever the reply holds, the chunk goes on.
        if self._readable and chunk:
            try:
                self._inflated(chunk) if self._inflate else self._watch(chunk)
            except Exception:  # zlib.error, or a hostile event we could not read: stop watching
                self._readable = False
        return chunk

    def _inflated(self, chunk: bytes) -> None:
        assert self._inflate is not None
        data = self._inflate.decompress(chunk, self.MAX_LINE)  # bounded pieces: a gzip bomb stays small
        while data:
            self._watch(data)
            data = self._inflate.decompress(self._inflate.unconsumed_tail, self.MAX_LINE)

    def _watch(self, data: bytes) -> None:
        data = self._pending + data
        lines = data.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self.MAX_LINE:
            self._pending = b""
        for line in lines:
            if line.startswith(b"data:") and b'"usage"' in line:
                absorb_json(self.usage, line[5:])


def absorb_json(usage: Usage, data: bytes) -> None:
    """``absorb`` for JSON text from the upstream: not JSON, or nested too deep to read (RecursionError),
    is no usage."""
    try:
        absorb(usage, json.loads(data))
    except (ValueError, RecursionError):
        pass


def usage_from_body(body: bytes) -> Usage:
    usage = Usage()
    absorb_json(usage, body)
    return usage
