"""POST /headroom/v1/compress: the library's compress() over HTTP, for clients in other languages
(the TypeScript package in npm/). Behind the same boundary as every /headroom/* endpoint.

Request: the provider request body, as it would go upstream, as the HTTP body (JSON, UTF-8), and its
wire format in the query: ``?api=anthropic-messages`` (the default), ``openai-chat`` or
``openai-responses``. An ``anthropic-beta`` header is read as the library reads it.

Answer 200: the body Headroom would send, as the HTTP body: byte for byte ``Compressed.body`` of the
library for the same bytes (``Headroom.prepare``, the same code path; the body unchanged when there is
nothing to compress). Its figures in headers: ``x-headroom-tokens-before``, ``x-headroom-tokens-after``
(cl100k_base, whole body), ``x-headroom-tool-outputs`` (found), ``x-headroom-engines``
(``json=1,log=2``: outputs each compressed) and ``x-headroom-markers`` (CCR IDs of what was left out).
Originals go into the proxy's store and the request into its ledger, as the library records it.

Errors: one JSON error in the proxy's shape (``{"type": "error", "error": {"type", "message"}}``):
405 not POST, 400 unknown api or a body that is not a JSON object, 413 over the body cap, 415 an
encoded body; 500 with a one-line reason for a bug of ours, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from mitmproxy import http

from headroom_cli.library import ANTHROPIC_MESSAGES, PATHS, Compressed, Headroom
from headroom_cli.proxy.boundary import Refusal

log = logging.getLogger("headroom.proxy")

PATH = "/headroom/v1/compress"
APIS = tuple(PATHS)


class _Unfit(Exception):
    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.refusal = Refusal(status, kind, message)


async def serve(flow: http.HTTPFlow, library: Headroom, body_cap: int, owner: str | None = None) -> None:
    """``owner``: whose personal token asked (--require-token): the originals are granted to them."""
    try:
        api, raw = _read(flow.request, body_cap)
        compressed = await asyncio.to_thread(_compress, library, raw, api, flow.request.headers.get("anthropic-beta", ""),
                                             owner)
    except _Unfit as exc:
        _error(flow, exc.refusal)
        return
    except Exception as exc:  # a bug of ours: one line for the client, the details in our log only
        log.error("%s: internal error %s: %s", PATH, type(exc).__name__, exc, exc_info=library.settings.debug)
        _error(flow, Refusal(500, "api_error", f"internal error ({type(exc).__name__}); see the proxy's log"))
        return
    flow.response = http.Response.make(200, compressed.body, {"Content-Type": "application/json", **_figures(compressed)})


def _read(req: http.Request, body_cap: int) -> tuple[str, bytes]:
    if req.method != "POST":
        raise _Unfit(405, "invalid_request_error", f"{PATH} takes POST")
    query = parse_qs(req.path.partition("?")[2])
    api = (query.get("api") or [ANTHROPIC_MESSAGES])[-1]
    if api not in APIS:
        raise _Unfit(400, "invalid_request_error", f"api must be one of {', '.join(APIS)}, not {api[:60]!r}")
    if req.headers.get("content-encoding", "").strip().lower() not in ("", "identity"):
        raise _Unfit(415, "invalid_request_error", "send the body without content-encoding")
    raw = req.raw_content or b""
    if len(raw) > body_cap:
        raise _Unfit(413, "request_too_large", f"body over the {body_cap >> 20} MB cap")
    return api, raw


def _compress(library: Headroom, raw: bytes, api: str, beta: str, owner: str | None) -> Compressed:
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise _Unfit(400, "invalid_request_error", "the body must be a provider request: a JSON object in UTF-8")
    pending = library.prepare(raw, api, beta, owner=owner)
    pending.finish(status=None)  # compressed, not sent: recorded as compress() records it
    return pending.compressed


def _figures(compressed: Compressed) -> dict[str, str]:
    stats = compressed.stats
    return {
        "x-headroom-tokens-before": str(stats.tokens_before),
        "x-headroom-tokens-after": str(stats.tokens_after),
        "x-headroom-tool-outputs": str(stats.tool_outputs),
        "x-headroom-engines": ",".join(f"{name}={n}" for name, n in sorted(stats.engines.items())),
        "x-headroom-markers": ",".join(stats.marker_ids),
    }


def _error(flow: http.HTTPFlow, refusal: Refusal) -> None:
    flow.response = http.Response.make(refusal.status, refusal.body(), {"Content-Type": "application/json"})
