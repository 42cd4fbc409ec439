"""The mitmproxy addon: route, compress LLM request bodies, stream replies, serve /headroom/*."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import urlsplit

from mitmproxy import http

from headroom_cli import __version__
from headroom_cli.config import Settings
from headroom_cli.db import DataError
from headroom_cli.ledger import Ledger
from headroom_cli.library import Headroom
from headroom_cli.pipeline import Pipeline
from headroom_cli.providers import ANTHROPIC, OPENAI, adapter_for, provider_for
from headroom_cli.proxy import compress_api, errors, offload, retrieval
from headroom_cli.proxy.boundary import TOKEN_HEADER, Boundary
from headroom_cli.proxy.recorder import Exchange, Recorder
from headroom_cli.proxy.relay import TICKET_HEADER, Relay, Ticket, forwarded_headers
from headroom_cli.proxy.usage import UsageTap, usage_from_body
from headroom_cli.rewrite import NotRewritable, Rewrite
from headroom_cli.runtime import prepare_request
from headroom_cli.shaping import RequestShaper
from headroom_cli.store import Store
from headroom_cli.tokens_auth import TokenBook, TokenGate, grant_outcomes

log = logging.getLogger("headroom.proxy")

BODY_CAP = 32 * 1024 * 1024  # larger request bodies go upstream untouched
_EXCHANGE = "headroom.exchange"
_TAP = "headroom.tap"
_OWNER = "headroom.owner"
_ROUNDS = "headroom.rounds"  # a whole reply to a request offered our tool: its calls answered in response()


@dataclass(frozen=True)
class Upstream:
    scheme: str
    host: str
    port: int
    prefix: str  # a path prefix kept from the upstream URL, e.g. "/proxy/anthropic"

    @classmethod
    def parse(cls, url: str) -> "Upstream":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class HeadroomAddon:
    def __init__(self, settings: Settings, pipeline: Pipeline, recorder: Recorder, ledger: Ledger, store: Store | None,
                 session: str):
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.recorder = recorder
        self.ledger = ledger
        self.session = session
        self.upstreams = {
            ANTHROPIC: Upstream.parse(settings.anthropic_upstream),
            OPENAI: Upstream.parse(settings.openai_upstream),
        }
        self.started = time.time()
        self.boundary = Boundary(settings.host, settings.token, settings.port)
        # Set by the server when the model may redeem markers through the proxy (a store is needed).
        self.relay: Relay | None = None
        # Set by the server: the pool a request is checked and compressed on, waited for a while (offload.py).
        self.pool: Executor | None = None
        self.shaper = RequestShaper(settings, store)  # context fit and prompt-cache alignment
        self.library = Headroom.sharing(settings, session, store, pipeline, self.shaper, ledger, recorder)
        # --require-token: personal tokens (tokens_auth.py); the owner is recorded and scopes retrieval.
        self.gate = TokenGate(TokenBook(settings.store_target)) if settings.require_token else None

    # -- requests -------------------------------------------------------------------------
    async def request(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        path = req.path.partition("?")[0]
        refused = self.boundary.refusal(req.headers)
        if refused is not None:
            log.warning("refused %s %s from %s: %s", req.method, path[:200], flow.client_conn.peername, refused.message)
            flow.response = http.Response.make(refused.status, refused.body(), {"Content-Type": "application/json"})
            return
        if self.gate is not None and path != "/headroom/health":  # health stays open for load balancers
            provider = provider_for(path, {k.lower(): v for k, v in req.headers.items()})
            owner, denied = await offload.run_waiting(self.pool, self.gate.check, req.headers.get(TOKEN_HEADER),
                                                      provider)
            if denied is not None:
                flow.response = http.Response.make(denied.status, denied.body, {"Content-Type": "application/json"})
                return
            flow.metadata[_OWNER] = owner
        req.headers.pop(TOKEN_HEADER, None)  # the token is ours: never sent upstream
        if path.startswith("/headroom/"):
            await self._serve_own(flow, path)
            return
        provider = provider_for(path, {k.lower(): v for k, v in req.headers.items()})
        self._route(flow, self.upstreams[provider])
        adapter = adapter_for(path)
        if req.method != "POST" or adapter is None:
            log.debug("passthrough %s %s", req.method, path)
            return
        exchange = Exchange(ts=time.time(), session=self.session, provider=provider, path=path, body_text="",
                            owner=flow.metadata.get(_OWNER))
        flow.metadata[_EXCHANGE] = exchange
        raw = req.raw_content or b""
        encoding = req.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            log.warning("forwarded unchanged: %s %s has content-encoding %s", req.method, path, encoding)
            return
        if len(raw) > BODY_CAP:
            log.warning("forwarded unchanged: %s %s body is %d MB, over the %d MB cap", req.method, path,
                        len(raw) >> 20, BODY_CAP >> 20)
            return
        exchange.body_text = raw.decode("utf-8", "replace")
        if not self.settings.compress:
            return
        try:
            rewrite, offered = await offload.run_here_first(self.pool, self._quick, self._prepare, raw, adapter,
                                                            req.headers.get("anthropic-beta", ""), exchange.owner)
        except NotRewritable as exc:
            log.warning("forwarded unchanged: %s %s: %s", req.method, path, exc)
            return
        except Exception as exc:  # a bug of ours must never cost the user a request
            log.error("forwarded unchanged: %s %s: internal error %s: %s", req.method, path, type(exc).__name__, exc,
                      exc_info=self.settings.debug)
            return
        exchange.model = rewrite.model
        exchange.outcomes = rewrite.outcomes
        exchange.cache = rewrite.note
        if offered is not None:
            # Offered means relayed: only the relay answers the tool, so a call to it never reaches the
            # client as an unknown tool (even before any marker, when the answer is a clear tool error).
            req.content = offered
            exchange.sent_text = offered.decode("utf-8", "replace")
            if rewrite.parsed.get("stream") is True:
                self._to_relay(flow, exchange, provider, adapter.api)
            else:
                exchange.ticket = Ticket(upstream=f"{req.scheme}://{req.host}:{req.port}", api=adapter.api,
                                         provider=provider, owner=exchange.owner)
                flow.metadata[_ROUNDS] = exchange.ticket
        elif rewrite.changed:
            req.content = rewrite.body  # also fixes Content-Length; originals are in the store already
            exchange.sent_text = rewrite.body.decode("utf-8", "replace")

    @functools.cached_property
    def _quick(self) -> bool:
        """Whether the event loop may compress a request itself (proxy/offload.py)."""
        return offload.may_compress_here(self.store)

    def _prepare(self, raw: bytes, adapter, beta: str = "", owner: str | None = None) -> tuple[Rewrite, bytes | None]:
        """The compressed body, and the same with our retrieve tool offered (None if not offered)."""
        rewrite = prepare_request(raw, adapter, self.pipeline, self.store, self.settings, self.shaper, beta)
        grant_outcomes(self.store, owner, rewrite.outcomes)  # before it is sent: its markers are then theirs
        offered = None
        if self.relay is not None and rewrite.parsed is not None:
            offered = retrieval.offer(rewrite.body, rewrite.parsed, adapter.api, rewrite.root_in)
        note = rewrite.note
        if note is not None and rewrite.parsed is not None:  # the recorder counts them without reading them again
            note.read_as(raw, rewrite.client.parsed() if rewrite.client is not None else None)
            if offered is not None:  # what is sent: with our tool, or as shaped
                note.read_as(offered, retrieval.offered_body(rewrite.parsed, adapter.api))
            else:
                note.read_as(note.sent, rewrite.parsed)
            note.sent_root = rewrite.root_in(note.sent) if note.sent else None
        return rewrite, offered

    def _to_relay(self, flow: http.HTTPFlow, exchange: Exchange, provider: str, api: str) -> None:
        """The relay calls the upstream and answers the model's retrieve calls (see proxy/relay.py)."""
        assert self.relay is not None and self.relay.port is not None
        req = flow.request
        ticket = Ticket(upstream=f"{req.scheme}://{req.host}:{req.port}", api=api, provider=provider,
                        owner=exchange.owner, body=req.content)
        req.content = b""  # handed over in the ticket: not copied through the loopback again
        exchange.ticket = ticket
        req.headers[TICKET_HEADER] = self.relay.issue(ticket)
        req.scheme, req.host, req.port = "http", "127.0.0.1", self.relay.port

    def _route(self, flow: http.HTTPFlow, upstream: Upstream) -> None:
        req = flow.request
        req.scheme, req.host, req.port = upstream.scheme, upstream.host, upstream.port
        req.host_header = upstream.host_header
        if upstream.prefix:
            req.path = upstream.prefix + req.path

    # -- replies --------------------------------------------------------------------------
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # Stream every reply: SSE must reach the client event by event, and nothing is gained by
        # buffering. LLM replies are watched for usage on the way through.
        assert flow.response is not None
        if _EXCHANGE in flow.metadata and "text/event-stream" in flow.response.headers.get("content-type", ""):
            tap = UsageTap(flow.response.headers.get("content-encoding", ""))
            flow.metadata[_TAP] = tap
            flow.response.stream = tap
        elif _EXCHANGE not in flow.metadata:
            flow.response.stream = True

    async def response(self, flow: http.HTTPFlow) -> None:
        exchange: Exchange | None = flow.metadata.get(_EXCHANGE)
        if exchange is None or flow.response is None:
            return
        if _ROUNDS in flow.metadata and flow.response.status_code == 200:
            await self._answer_rounds(flow, flow.metadata[_ROUNDS])
        exchange.status = flow.response.status_code
        tap: UsageTap | None = flow.metadata.get(_TAP)
        if exchange.ticket is not None and exchange.ticket.usage is not None:
            exchange.usage = exchange.ticket.usage  # summed over the retrieval rounds the client did not see
        elif tap is not None:
            exchange.usage = tap.usage
        elif flow.response.status_code < 400:
            exchange.usage = usage_from_body(flow.response.get_content(strict=False) or b"")
        self._finish(exchange)

    async def _answer_rounds(self, flow: http.HTTPFlow, ticket: Ticket) -> None:
        """A whole reply that calls our tool: its calls answered and the turn continued upstream (as the
        relay does); the client gets the final reply. Any other reply is left exactly as it came."""
        assert flow.response is not None and self.relay is not None
        content = flow.response.get_content(strict=False) or b""
        if retrieval.TOOL_NAME.encode() not in content:
            return  # the common case: no JSON parse, no second hop
        try:
            body = json.loads(flow.request.get_content(strict=False) or b"")
        except ValueError:
            return
        req = flow.request
        url = f"{req.scheme}://{req.host}:{req.port}{req.path}"
        headers = forwarded_headers([(k.lower(), v) for k, v in req.headers.items(multi=True)])
        try:
            status, reply_headers, final = await self.relay.whole_rounds(
                ticket, url, headers, body, 200, list(flow.response.headers.items(multi=True)), content)
        except Exception as exc:  # the upstream failed during a round, or a bug of ours: a clear error
            log.error("retrieval round failed: %s: %s", type(exc).__name__, exc, exc_info=self.settings.debug)
            status, reply_headers = 502, [("content-type", "application/json")]
            final = errors.error_body(ticket.provider, 502, "headroom: the upstream API could not be reached "
                                      f"while answering headroom_retrieve ({type(exc).__name__})")
        if final is content and status == 200:
            return
        drop = {"content-length", "transfer-encoding", "content-encoding"}
        flow.response = http.Response.make(status, final, [(k.encode(), v.encode("latin-1")) for k, v in reply_headers
                                                           if k.lower() not in drop])

    def error(self, flow: http.HTTPFlow) -> None:
        message = flow.error.msg if flow.error else "unknown error"
        exchange: Exchange | None = flow.metadata.get(_EXCHANGE)
        provider = exchange.provider if exchange else provider_for(
            flow.request.path, {k.lower(): v for k, v in flow.request.headers.items()})
        if flow.response is None:
            errors.note_failure(message, provider)
            log.error("upstream %s unreachable for %s %s: %s", self.upstreams[provider].origin,
                      flow.request.method, flow.request.path.partition("?")[0], message)
        if exchange is not None:
            exchange.status = flow.response.status_code if flow.response else 502
            self._finish(exchange)

    def _finish(self, exchange: Exchange) -> None:
        if exchange.ticket is not None:
            exchange.ticket.body = None  # a request that never reached the relay: its body not kept
        exchange.duration_ms = (time.time() - exchange.ts) * 1000
        self.recorder.record(exchange, offload.WAIT_S)

    # -- our own endpoints ------------------------------------------------------------------
    async def _serve_own(self, flow: http.HTTPFlow, path: str) -> None:
        if path == compress_api.PATH:
            await compress_api.serve(flow, self.library, BODY_CAP, flow.metadata.get(_OWNER))
        elif flow.request.method != "GET":
            self._json(flow, 405, {"error": "method not allowed"})
        elif path == "/headroom/health":
            self._json(flow, 200, {
                "status": "ok", "version": __version__, "session": self.session, "pid": os.getpid(), "compress": self.settings.compress,
                "uptime_s": round(time.time() - self.started, 3),
                "upstreams": {name: up.origin + up.prefix for name, up in self.upstreams.items()},
                "database": self.store.database_state() if self.store else {"kind": None, "reachable": False},
            })
        elif path == "/headroom/stats":
            await self._stats(flow)
        else:
            self._json(flow, 404, {"error": f"no such endpoint: {path}",
                                   "endpoints": ["/headroom/health", "/headroom/stats", compress_api.PATH]})

    async def _stats(self, flow: http.HTTPFlow) -> None:
        """From the recorder's running totals: never a wait on the ledger or on a backlog of requests
        (under load the numbers trail by `pending_records`); idle, a moment for the latest request."""
        for _ in range(5):
            if not self.recorder.backlog or self.recorder.backlog > 2:
                break
            await asyncio.sleep(0.01)
        owner = flow.metadata.get(_OWNER)
        if owner is not None:  # a user's token: their own savings only
            try:
                totals = await asyncio.to_thread(self.ledger.totals, None, owner)
                engines = await asyncio.to_thread(self.ledger.engines_json, None, owner)
            except DataError as exc:  # the shared database is down: nothing to read them from
                self._json(flow, 503, {"error": f"your savings cannot be read now: {exc}"})
                return
            self._json(flow, 200, {"user": owner, "tokenizer": "cl100k_base", "all_time": totals.to_json(),
                                   "engines": engines})
            return
        session, total, engines = self.recorder.totals.snapshot(self.session)
        self._json(flow, 200, {
            "session": self.session,
            "tokenizer": "cl100k_base",
            "this_session": session.to_json(),
            "all_time": total.to_json(),
            "engines": engines,
            "pending_records": self.recorder.backlog,
            "estimated_records": self.recorder.estimated,  # token counts estimated: the recorder was behind
            "unrecorded": self.recorder.dropped,
        })

    @staticmethod
    def _json(flow: http.HTTPFlow, status: int, payload: dict) -> None:
        flow.response = http.Response.make(status, json.dumps(payload, indent=2).encode(), {"Content-Type": "application/json"})

