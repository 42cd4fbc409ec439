"""A local mock of the Anthropic and OpenAI APIs, on the standard library (no third-party packages).

Used by ``headroom demo``, by the proxy's integration tests, by end-to-end tests in which a real client
(Claude Code, aider, Codex) runs against it, and by the latency benchmark. So it answers fast (no delay
unless asked), keeps connections alive (HTTP/1.1, exact ``Content-Length``, chunked SSE), sets
``TCP_NODELAY`` and records every request it receives.

Routes:

* ``POST /v1/messages`` (any query, e.g. ``?beta=true``): Anthropic Messages, JSON or SSE. A scripted agent
  loop: with k ``tool_result`` blocks in the request and k < len(script), the reply asks for tool call
  ``script[k]`` (id ``toolu_mock_%06d`` % (k+1)); otherwise the reply is a final text whose first line starts
  ``MOCK-FINAL:`` and summarises every tool_result of the request.
* ``POST /v1/messages/count_tokens``: ``{"input_tokens": len(body)//4}``.
* ``POST /v1/chat/completions``: OpenAI Chat Completions, JSON or SSE, a ``MOCK-FINAL:`` text summarising
  ``role: "tool"`` messages and user messages over 1,000 characters.
* ``POST /v1/responses``: OpenAI Responses, JSON or SSE, a ``MOCK-FINAL:`` text summarising
  ``function_call_output`` items; with tools in the request and k such items, k < len(script), a
  ``function_call`` item for ``script[k]`` instead (call id ``call_mock_%06d`` % (k+1)), as for Anthropic.
* ``GET /v1/models``: a small model list. Anything else: 404 with an Anthropic-shaped error.

Per-request overrides by header: ``x-mock-sse-delay: SECONDS`` (pause between SSE events) and
``x-mock-fail-status: CODE`` (answer with that error status).

CLI: ``python -m headroom_cli.mock_upstream [--port 0] [--port-file F] [--sse-delay S]`` serves until killed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from headroom_cli.cache_aligner import has_cache_control

__all__ = ["FINAL_PREFIX", "MockUpstream", "RecordedRequest", "ToolStep", "main"]

FINAL_PREFIX = "MOCK-FINAL:"
MARKER_TAG = "[headroom:"
LONG_USER_MESSAGE = 1000  # chat: user messages longer than this are summarised like tool outputs
_MAX_LINE_SHOWN = 300

ANTHROPIC_MESSAGES = "/v1/messages"
ANTHROPIC_COUNT_TOKENS = "/v1/messages/count_tokens"
OPENAI_CHAT = "/v1/chat/completions"
OPENAI_RESPONSES = "/v1/responses"
MODELS = "/v1/models"
_OPENAI_PATHS = (OPENAI_CHAT, OPENAI_RESPONSES)


# --------------------------------------------------------------------------------------------- records


@dataclass
class ToolStep:
    """One scripted tool call the mock asks the agent to make."""

    name: str  # "Bash", "Read", an MCP tool such as "mcp__headroom__headroom_retrieve", …
    # {"command": "...", "description": "..."} or {"file_path": "/abs/path"}. String values may hold
    # {marker.id}, {marker.lines} ("A-B", or "" without a range), {marker.first} and {marker.last}: filled
    # from the first [headroom: …] marker in the request's latest tool_result (left as is when none).
    input: dict[str, Any]


_MARKER_RE = re.compile(r"\[headroom: [^\]\n]*? · retrieve (hr_[0-9a-f]{16})(?: --lines (\d+)-(\d+))?\]")


def _fill_markers(value: Any, latest_result: str) -> Any:
    """A step's input with {marker.*} placeholders filled from the latest tool_result's first marker."""
    if isinstance(value, dict):
        return {k: _fill_markers(v, latest_result) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_markers(v, latest_result) for v in value]
    if not isinstance(value, str) or "{marker." not in value:
        return value
    found = _MARKER_RE.search(latest_result)
    if not found:
        return value
    part_id, first, last = found.groups()
    for key, filled in (("id", part_id), ("lines", f"{first}-{last}" if first else ""),
                        ("first", first or ""), ("last", last or "")):
        value = value.replace("{marker.%s}" % key, filled)
    return value


class _Headers(dict):
    """A plain dict of the request headers as sent, with case-insensitive lookups."""

    def _key(self, key: Any) -> Any:
        if isinstance(key, str) and not dict.__contains__(self, key):
            low = key.lower()
            for k in self:
                if k.lower() == low:
                    return k
        return key

    def __getitem__(self, key: Any) -> str:
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(key), default)


@dataclass
class RecordedRequest:
    """One request as the mock received it; ``body`` holds the raw bytes (still compressed if they were)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def decoded_body(self) -> bytes | None:
        """The body with any gzip/deflate ``Content-Encoding`` undone; None if it cannot be decoded."""
        return _decode_content(self.body, _header(self.headers, "content-encoding"))

    def json(self) -> Any | None:
        """The parsed JSON body (after undoing gzip/deflate), or None when there is none or it is not JSON."""
        data = self.decoded_body()
        if not data:
            return None
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None


def _header(headers: dict[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        low = name.lower()
        for k, v in headers.items():
            if k.lower() == low:
                return v
    return value


def _decode_content(body: bytes, encoding: str | None) -> bytes | None:
    if not encoding:
        return body
    data = body
    for enc in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        try:
            if enc in ("gzip", "x-gzip"):
                data = gzip.decompress(data)
            elif enc == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    data = zlib.decompress(data, -zlib.MAX_WBITS)
            elif enc != "identity":
                return None  # br, zstd: not in the stdlib
        except (OSError, EOFError, zlib.error):
            return None
    return data


# ------------------------------------------------------------------------------- reading tool outputs


def _text_of(content: Any) -> str:
    """A string content as is; a list of blocks/parts as their text joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for block in content:
            if isinstance(block, str):
                texts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                if block.get("type") in (None, "text", "input_text", "output_text"):
                    texts.append(block["text"])
        return "\n".join(texts)
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        return content["text"]
    return ""


def _anthropic_tool_results(messages: Any) -> list[dict]:
    out: list[dict] = []
    if not isinstance(messages, list):
        return out
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            continue
        for block in message["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append({"tool_use_id": str(block.get("tool_use_id", "")), "text": _text_of(block.get("content"))})
    return out


def _chat_tool_results(messages: Any) -> list[dict]:
    out: list[dict] = []
    if not isinstance(messages, list):
        return out
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "tool":
            out.append({"tool_use_id": str(message.get("tool_call_id", "")), "text": _text_of(message.get("content"))})
    return out


def _responses_tool_results(items: Any) -> list[dict]:
    out: list[dict] = []
    if not isinstance(items, list):
        return out
    for item in items:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            out.append({"tool_use_id": str(item.get("call_id", "")), "text": _text_of(item.get("output"))})
    return out


def _all_tool_results(body: Any) -> list[dict]:
    if not isinstance(body, dict):
        return []
    messages = body.get("messages")
    out = _anthropic_tool_results(messages) + _chat_tool_results(messages)
    return out + _responses_tool_results(body.get("input"))


def _summary(label: str, text: str) -> str:
    failed = "<none>"
    for line in text.splitlines():
        if "FAILED" in line or "FATAL" in line:
            failed = line.strip()
            if len(failed) > _MAX_LINE_SHOWN:
                failed = failed[:_MAX_LINE_SHOWN] + "..."
            break
    marker = "yes" if MARKER_TAG in text else "no"
    return (
        f"{label}: {len(text)} chars / {len(text.splitlines())} lines, headroom marker: {marker}, "
        f"first FAILED/FATAL line: {failed}"
    )


def final_text(items: list[tuple[str, str]], what: str = "tool_results") -> str:
    """The one-line ``MOCK-FINAL:`` answer for (label, text) pairs."""
    if not items:
        return f"{FINAL_PREFIX} no {what} in this request"
    return f"{FINAL_PREFIX} {len(items)} {what} in this request -> " + "; ".join(_summary(k, t) for k, t in items)


# --------------------------------------------------------------------------------------- small helpers


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def _split(text: str, parts: int = 3) -> list[str]:
    """``text`` in at most ``parts`` non-empty, roughly equal pieces (at least one piece)."""
    if len(text) <= 1:
        return [text]
    n = min(parts, len(text))
    size = math.ceil(len(text) / n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _schema_stub(schema: Any) -> Any:
    """A minimal value matching a JSON schema (used for structured-output requests such as titles)."""
    if not isinstance(schema, dict):
        return "Mock session"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        keys = schema.get("required") or list(props)
        return {k: _schema_stub(props.get(k)) for k in keys}
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(kind, "Mock session")


def _error_type(status: int, openai: bool) -> str:
    if openai:
        return {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
            529: "overloaded_error"}.get(status, "api_error")


def _error_body(status: int, message: str, openai: bool, code: str | None = None) -> dict:
    if openai:
        return {"error": {"message": message, "type": _error_type(status, True), "param": None,
                          "code": code or _error_type(status, True)}}
    return {"type": "error", "error": {"type": _error_type(status, False), "message": message}}


def _is_openai_path(path: str) -> bool:
    return path in _OPENAI_PATHS or path.startswith(OPENAI_RESPONSES + "/")


class _BadRequest(Exception):
    pass


# -------------------------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    mock: MockUpstream

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup that can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-request is routine (tests, benchmarks); keep it off stderr.
        self.mock._errors.append(traceback.format_exc())


class _SSE:
    """Writes one event at a time and flushes it; chunked on HTTP/1.1 so the connection stays usable."""

    def __init__(self, handler: _Handler, delay: float, extra_headers: Iterable[tuple[str, str]] = ()) -> None:
        self.h = handler
        self.delay = delay
        self.first = True
        self.chunked = handler.request_version != "HTTP/1.0"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        for k, v in extra_headers:
            handler.send_header(k, v)
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()  # buffered: goes out together with the first event
        handler.started = True

    def send(self, data: bytes) -> None:
        if not self.first and self.delay > 0:
            time.sleep(self.delay)
        self.first = False
        w = self.h.wfile
        if self.chunked:
            w.write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            w.write(data)
        w.flush()

    def event(self, name: str, payload: dict) -> None:
        self.send(b"event: " + name.encode() + b"\ndata: " + _dumps(payload) + b"\n\n")

    def data(self, payload: dict | str) -> None:
        raw = payload.encode() if isinstance(payload, str) else _dumps(payload)
        self.send(b"data: " + raw + b"\n\n")

    def close(self) -> None:
        if self.chunked:
            self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HeadroomMockUpstream/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    wbufsize = 64 * 1024  # status line, headers and a small body leave in one send()
    server: _Server
    started = False

    # -- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def setup(self) -> None:
        super().setup()
        self.server.mock._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.mock._track(self.connection, add=False)

    def handle_expect_100(self) -> bool:
        ok = super().handle_expect_100()
        self.wfile.flush()  # the write buffer would otherwise hold "100 Continue" back
        return ok

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise _BadRequest("connection closed inside a chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("bad chunk size line") from None
                if size == 0:
                    while True:  # trailers up to the blank line
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(parts)
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise _BadRequest("connection closed inside a chunk")
                parts.append(chunk)
                self.rfile.readline(65537)  # the CRLF after the chunk
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise _BadRequest("connection closed before the whole body arrived")
        return data

    def _send_bytes(self, status: int, data: bytes, content_type: str = "application/json",
                    extra_headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.started = True
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj: Any, extra_headers: Iterable[tuple[str, str]] = ()) -> None:
        self._send_bytes(status, _dumps(obj), extra_headers=extra_headers)

    def _send_error_json(self, status: int, message: str, openai: bool, code: str | None = None) -> None:
        self._send_json(status, _error_body(status, message, openai, code), self._id_headers(openai))

    def _id_headers(self, openai: bool) -> list[tuple[str, str]]:
        rid = f"req_mock_{self.server.mock._next_id():06d}"
        return [("x-request-id", rid)] if openai else [("request-id", rid)]

    # -- dispatch

    def _dispatch(self) -> None:
        mock = self.server.mock
        self.started = False
        target = self.path
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        openai = _is_openai_path(path)
        try:
            try:
                body = self._read_body()
            except _BadRequest as exc:
                self.close_connection = True
                mock._record(RecordedRequest(self.command, path, query, self._headers_dict(), b""))
                self._send_error_json(400, f"mock upstream: {exc}", openai)
                return
            rec = RecordedRequest(self.command, path, query, self._headers_dict(), body)
            mock._record(rec)
            self._route(mock, rec, openai)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # a bug here must not hang the client
            mock._errors.append(traceback.format_exc())
            if self.started:
                self.close_connection = True
            else:
                try:
                    self._send_error_json(500, f"mock upstream internal error: {exc!r}", openai)
                except OSError:
                    self.close_connection = True

    def _headers_dict(self) -> _Headers:
        out = _Headers()
        for k, v in self.headers.items():
            out[k] = f"{out[k]}, {v}" if k in out else v
        return out

    def _route(self, mock: MockUpstream, rec: RecordedRequest, openai: bool) -> None:
        fail = mock.fail_status
        override = rec.headers.get("x-mock-fail-status")
        if override:
            try:
                fail = int(override)
            except ValueError:
                pass
        if fail:
            self._send_error_json(fail, f"mock upstream configured to fail with status {fail}", openai)
            return

        method, path = rec.method, rec.path
        if method == "GET" and path == MODELS:
            self._send_json(200, _models_list())
            return
        handlers: dict[str, Callable[[MockUpstream, RecordedRequest, dict], None]] = {
            ANTHROPIC_MESSAGES: self._anthropic_messages,
            ANTHROPIC_COUNT_TOKENS: self._anthropic_count_tokens,
            OPENAI_CHAT: self._chat_completions,
            OPENAI_RESPONSES: self._responses,
        }
        handler = handlers.get(path) if method == "POST" else None
        if handler is None:
            self._send_error_json(404, f"mock upstream: no route for {method} {path}", False)
            return
        body = rec.json()
        if not isinstance(body, dict):
            self._send_error_json(400, "mock upstream: the request body is not a JSON object", openai, "invalid_json")
            return
        if mock.stream_fail_status and body.get("stream") is True:
            status = mock.stream_fail_status
            self._send_error_json(status, f"mock upstream refuses streamed requests (status {status})", openai)
            return
        handler(mock, rec, body)

    def _sse_delay(self, mock: MockUpstream, rec: RecordedRequest) -> float:
        raw = rec.headers.get("x-mock-sse-delay")
        if raw is not None:
            try:
                value = float(raw)
                if math.isfinite(value):
                    return max(0.0, value)
            except ValueError:
                pass
        return max(0.0, float(mock.sse_delay or 0.0))

    # -- Anthropic

    def _anthropic_count_tokens(self, mock: MockUpstream, rec: RecordedRequest, body: dict) -> None:
        self._send_json(200, {"input_tokens": len(rec.body) // 4}, self._id_headers(False))

    def _anthropic_messages(self, mock: MockUpstream, rec: RecordedRequest, body: dict) -> None:
        model = body.get("model") if isinstance(body.get("model"), str) else "claude-mock"
        charged = mock.prompt_cache.anthropic(body) if mock.prompt_cache is not None else None
        if charged is not None and charged.error:
            self._send_error_json(400, charged.error, False)
            return
        results = _anthropic_tool_results(body.get("messages"))
        k = len(results)
        script = list(mock.script)
        tools = body.get("tools")
        output_config = body.get("output_config")
        fmt = output_config.get("format") if isinstance(output_config, dict) else None
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            # structured output (Claude Code's session-title request): a JSON answer, never a tool call
            content: list[dict] = [{"type": "text", "text": json.dumps(_schema_stub(fmt.get("schema")))}]
            stop_reason = "end_turn"
        elif k < len(script) and not (isinstance(tools, list) and not tools):
            step = script[k]
            content = [
                {"type": "text", "text": f"Next step: {step.name.lower()}."},
                {"type": "tool_use", "id": "toolu_mock_%06d" % (k + 1), "name": step.name,
                 "input": _fill_markers(step.input, results[-1]["text"] if results else "")},
            ]
            stop_reason = "tool_use"
        else:
            content = [{"type": "text", "text": final_text([(r["tool_use_id"], r["text"]) for r in results])}]
            stop_reason = "end_turn"

        total = len(rec.body) // 4
        cache_read = cache_creation = 0
        if has_cache_control(body):
            cache_read, cache_creation = total // 2, total // 4
        usage_in = {
            "input_tokens": total - cache_read - cache_creation,
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read,
        }
        if charged is not None:  # simulated faithfully (mock_cache.py)
            usage_in = charged.anthropic_usage()
        output_tokens = max(1, len(_dumps(content)) // 4)
        msg_id = f"msg_mock_{mock._next_id():06d}"
        ids = [("request-id", f"req_mock_{mock._next_id():06d}")]

        if body.get("stream") is not True:
            self._send_json(200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason, "stop_sequence": None,
                "usage": {**usage_in, "output_tokens": output_tokens},
            }, ids)
            return

        sse = _SSE(self, self._sse_delay(mock, rec), ids)
        sse.event("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {**usage_in, "output_tokens": 1},
        }})
        sse.event("ping", {"type": "ping"})
        for index, block in enumerate(content):
            if block["type"] == "text":
                sse.event("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "text", "text": ""}})
                for piece in _split(block["text"]):
                    sse.event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "text_delta", "text": piece}})
            else:
                sse.event("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
                for piece in _split(json.dumps(block["input"], ensure_ascii=False), 2):
                    sse.event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "input_json_delta", "partial_json": piece}})
            sse.event("content_block_stop", {"type": "content_block_stop", "index": index})
        sse.event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                    "usage": {"output_tokens": output_tokens}})
        sse.event("message_stop", {"type": "message_stop"})
        sse.close()

    # -- OpenAI Chat Completions

    def _chat_completions(self, mock: MockUpstream, rec: RecordedRequest, body: dict) -> None:
        model = body.get("model") if isinstance(body.get("model"), str) else "gpt-mock"
        items: list[tuple[str, str]] = []
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            if message.get("role") == "tool":
                items.append((f"tool {message.get('tool_call_id', '')}", _text_of(message.get("content"))))
            elif message.get("role") == "user":
                text = _text_of(message.get("content"))
                if len(text) > LONG_USER_MESSAGE:
                    items.append((f"user message #{i}", text))
        text = final_text(items, "tool messages / long user messages")
        # A scripted tool call, as for Anthropic: step k once the request carries k tool messages.
        results = [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]
        k, call = len(results), None
        if k < len(mock.script) and isinstance(body.get("tools"), list) and body["tools"]:
            step = mock.script[k]
            latest = _text_of(results[-1].get("content")) if results else ""
            call = {"id": "call_mock_%06d" % (k + 1), "type": "function", "function": {
                "name": step.name, "arguments": json.dumps(_fill_markers(step.input, latest))}}
            text = f"Next step: {step.name.lower()}."
        finish = "tool_calls" if call else "stop"
        prompt_tokens = len(rec.body) // 4
        completion_tokens = max(1, len(text) // 4)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens,
                 "prompt_tokens_details": {"cached_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0}}
        cid = f"chatcmpl-mock-{mock._next_id():06d}"
        created = int(time.time())
        ids = self._id_headers(True)

        if body.get("stream") is not True:
            message = {"role": "assistant", "content": text, "refusal": None}
            if call:
                message["tool_calls"] = [call]
            self._send_json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }, ids)
            return

        opts = body.get("stream_options")
        include_usage = isinstance(opts, dict) and opts.get("include_usage") is True
        sse = _SSE(self, self._sse_delay(mock, rec), ids)

        def chunk(delta: dict, finish: str | None) -> dict:
            out = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                   "system_fingerprint": None,
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                out["usage"] = None
            return out

        sse.data(chunk({"role": "assistant", "content": ""}, None))
        for piece in _split(text):
            sse.data(chunk({"content": piece}, None))
        if call:
            sse.data(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                            "function": {"name": call["function"]["name"], "arguments": ""}}]}, None))
            for piece in _split(call["function"]["arguments"], 2):
                sse.data(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, None))
        sse.data(chunk({}, finish))
        if include_usage:
            sse.data({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                      "system_fingerprint": None, "choices": [], "usage": usage})
        sse.data("[DONE]")
        sse.close()

    # -- OpenAI Responses

    def _responses(self, mock: MockUpstream, rec: RecordedRequest, body: dict) -> None:
        model = body.get("model") if isinstance(body.get("model"), str) else "gpt-mock"
        results = _responses_tool_results(body.get("input"))
        text = final_text([(r["tool_use_id"], r["text"]) for r in results], "function_call_outputs")
        input_tokens = len(rec.body) // 4
        output_tokens = max(1, len(text) // 4)
        usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": input_tokens + output_tokens}
        n = mock._next_id()
        rid, item_id = f"resp_mock_{n:06d}", f"msg_mock_{n:06d}"
        part_done = {"type": "output_text", "text": text, "annotations": []}
        item_done = {"id": item_id, "type": "message", "status": "completed", "role": "assistant",
                     "content": [part_done]}
        k = len(results)
        if k < len(mock.script) and isinstance(body.get("tools"), list) and body["tools"]:
            step = mock.script[k]  # a scripted tool call (Codex's exec_command, …)
            item_done = {"id": f"fc_mock_{n:06d}", "type": "function_call", "status": "completed",
                         "name": step.name, "call_id": "call_mock_%06d" % (k + 1),
                         "arguments": json.dumps(_fill_markers(step.input, results[-1]["text"] if results else ""))}

        def response(status: str, output: list, use: dict | None) -> dict:
            return {"id": rid, "object": "response", "created_at": int(time.time()), "status": status,
                    "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
                    "model": model, "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
                    "previous_response_id": body.get("previous_response_id"), "store": body.get("store", False),
                    "tools": [], "usage": use, "metadata": {}}

        ids = self._id_headers(True)
        if body.get("stream") is not True:
            said = text if item_done["type"] == "message" else ""
            self._send_json(200, {**response("completed", [item_done], usage), "output_text": said}, ids)
            return

        sse = _SSE(self, self._sse_delay(mock, rec), ids)
        seq = iter(range(1_000_000))

        def event(name: str, payload: dict) -> None:
            sse.event(name, {"type": name, "sequence_number": next(seq), **payload})

        event("response.created", {"response": response("in_progress", [], None)})
        event("response.in_progress", {"response": response("in_progress", [], None)})
        if item_done["type"] == "function_call":
            event("response.output_item.added", {"output_index": 0, "item": {
                **item_done, "status": "in_progress", "arguments": ""}})
            where = {"item_id": item_done["id"], "output_index": 0}
            for piece in _split(item_done["arguments"], 2):
                event("response.function_call_arguments.delta", {**where, "delta": piece})
            event("response.function_call_arguments.done", {**where, "arguments": item_done["arguments"]})
            event("response.output_item.done", {"output_index": 0, "item": item_done})
            event("response.completed", {"response": response("completed", [item_done], usage)})
            sse.close()
            return
        event("response.output_item.added", {"output_index": 0, "item": {
            "id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}})
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        event("response.content_part.added", {**where, "part": {"type": "output_text", "text": "", "annotations": []}})
        for piece in _split(text):
            event("response.output_text.delta", {**where, "delta": piece, "logprobs": []})
        event("response.output_text.done", {**where, "text": text, "logprobs": []})
        event("response.content_part.done", {**where, "part": part_done})
        event("response.output_item.done", {"output_index": 0, "item": item_done})
        event("response.completed", {"response": response("completed", [item_done], usage)})
        sse.close()


def _models_list() -> dict:
    models = [("claude-mock", "Claude (mock)"), ("claude-opus-4-8", "Claude Opus (mock)"),
              ("gpt-mock", "GPT (mock)"), ("gpt-4o", "GPT-4o (mock)")]
    data = [{"id": mid, "object": "model", "type": "model", "display_name": name, "created": 0,
             "created_at": "2025-01-01T00:00:00Z", "owned_by": "mock"} for mid, name in models]
    return {"object": "list", "data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


# ------------------------------------------------------------------------------------------ lifecycle


class MockUpstream:
    """A thread-served mock of the Anthropic and OpenAI APIs; see the module docstring.

    ``script``, ``sse_delay``, ``fail_status`` and ``stream_fail_status`` are plain attributes and may be
    changed while it runs. ``stream_fail_status = 404`` makes Claude Code fall back to non-streamed calls.
    """

    def __init__(self, script: list[ToolStep] | None = None, *, sse_delay: float = 0.0,
                 fail_status: int | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.script: list[ToolStep] = [s if isinstance(s, ToolStep) else ToolStep(**s) for s in (script or [])]
        self.sse_delay = sse_delay
        self.fail_status = fail_status
        # Answer every streamed request with this error status, so a client falls back to plain JSON
        # replies (Claude Code retries a failed streamed call without "stream").
        self.stream_fail_status: int | None = None
        # A mock_cache.PromptCache: Anthropic usage with prompt caching simulated faithfully, and
        # prompts over the model's context window refused (None: the fixed split below).
        self.prompt_cache = None
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._errors: list[str] = []  # tracebacks of handler bugs (answered with a 500)
        self._lock = threading.Lock()
        self._seq = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- public

    def start(self) -> MockUpstream:
        if self._server is not None:
            return self
        server_cls = _Server
        if ":" in self.host:
            server_cls = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        server = server_cls((self.host, self.port), _Handler)
        server.mock = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"mock-upstream-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:  # end kept-alive connections so their threads exit
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def errors(self) -> list[str]:
        """Tracebacks of any exceptions inside the mock's handlers (each was answered with a 500)."""
        return list(self._errors)

    def tool_results(self, request: RecordedRequest) -> list[dict]:
        """The tool outputs in a request, in order, each ``{"tool_use_id", "text"}``.

        Anthropic ``tool_result`` blocks (text = string content, or its text blocks joined by newlines),
        OpenAI chat ``role: "tool"`` messages (id = ``tool_call_id``) and Responses ``function_call_output``
        items (id = ``call_id``).
        """
        return _all_tool_results(request.json())

    def __enter__(self) -> MockUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internal

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_id(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


# ------------------------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headroom_cli.mock_upstream",
                                     description="A local mock of the Anthropic and OpenAI APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    parser.add_argument("--sse-delay", type=float, default=0.0, help="seconds between SSE events")
    parser.add_argument("--fail-status", type=int, default=None, help="answer every request with this status")
    parser.add_argument("--script", help='a JSON file: [{"name": "Bash", "input": {...}}, ...]')
    args = parser.parse_args(argv)

    script = None
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            script = [ToolStep(name=s["name"], input=s.get("input") or {}) for s in json.load(fh)]
    mock = MockUpstream(script, sse_delay=args.sse_delay, fail_status=args.fail_status,
                        host=args.host, port=args.port).start()

    def _terminate(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.port_file:
            tmp = f"{args.port_file}.tmp{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(str(mock.port))
            os.replace(tmp, args.port_file)  # readers never see a half-written file
        print(f"mock upstream listening on {mock.url}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
