"""Provider-shaped error bodies, for when the upstream cannot be reached.

mitmproxy answers a failed upstream connection with its own HTML 502 page, built by
``make_error_response`` in its HTTP/1 server layer after the ``error`` hook has run. Clients of the
LLM APIs expect JSON in their provider's error shape, so that one function is replaced: the
``error`` hook notes which provider a failure message belongs to, and the replacement answers in
that provider's shape (Anthropic's when it cannot tell).
"""

from __future__ import annotations

import threading

from mitmproxy import http
from mitmproxy.proxy.layers.http import _http1
from mitmproxy.net.http import http1

from headroom_cli.providers import ANTHROPIC, error_json

_providers_by_message: dict[str, str] = {}
_lock = threading.Lock()


def error_body(provider: str, status: int, message: str) -> bytes:
    return error_json(provider, status, message, code="upstream_unreachable")


def note_failure(message: str, provider: str) -> None:
    with _lock:
        _providers_by_message[message] = provider
        while len(_providers_by_message) > 64:
            _providers_by_message.pop(next(iter(_providers_by_message)))


def _provider_error_response(status_code: int, message: str = "") -> bytes:
    with _lock:
        provider = _providers_by_message.pop(message, ANTHROPIC)
    text = f"headroom: the upstream API could not be reached ({message})" if status_code == 502 else f"headroom: {message}"
    response = http.Response.make(
        status_code,
        error_body(provider, status_code, text),
        {"Content-Type": "application/json", "Connection": "close"},
    )
    return http1.assemble_response(response)


def install() -> None:
    _http1.make_error_response = _provider_error_response
