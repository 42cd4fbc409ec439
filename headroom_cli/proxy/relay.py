"""The retrieval relay: where the proxy sends streamed requests it offered `headroom_retrieve` to.

mitmproxy streams a reply through a synchronous callable, so it cannot hold a stream while it asks
the upstream to go on. The addon therefore routes streamed requests to this small local HTTP server
in the same event loop; it calls the upstream itself, streams the reply through as it comes, answers
our tool's calls from the store, and continues the turn upstream, at most MAX_ROUNDS times.
A request for a whole (unstreamed) reply goes straight upstream: mitmproxy hands the addon the whole
reply, and only one that calls our tool goes through ``whole_rounds`` (a second HTTP hop and a
second JSON parse of the body saved on every other request).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import h11

from headroom_cli.ledger import Ledger, Usage
from headroom_cli.proxy import errors
from headroom_cli.proxy.retrieval import answer
from headroom_cli.proxy.upstream_client import UpstreamClient, UpstreamError
from headroom_cli.tokens_auth import scoped
from headroom_cli.proxy.rounds import (Event, SseParser, StreamRound, add_usage, assistant_message, calls_in,
                                       continuation, error_event, usage_of_reply, with_earlier,
                                       without_ours)
from headroom_cli.store import Store

log = logging.getLogger("headroom.relay")

MAX_ROUNDS = 3  # retrieval rounds in one turn; a further call ends the turn with a clear error
TICKET_HEADER = "x-headroom-relay"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-authorization",
               "proxy-authenticate", "trailer", "host", "content-length", "accept-encoding", TICKET_HEADER}


@dataclass
class Ticket:
    """What the addon hands over with a request, and what the relay reports back for the ledger."""

    upstream: str  # origin, e.g. https://api.anthropic.com
    api: str
    provider: str
    rounds: int = 0  # retrieval rounds answered
    rebuilt: bool = False  # the client's stream was held and continued
    usage: Usage | None = None  # summed over rounds, when there was more than one
    continuations: list[str] = field(default_factory=list)  # the extra request bodies, for the token count
    owner: str | None = None  # a personal token's owner: only their originals are redeemed
    # The streamed request's body, handed over here rather than sent again over the loopback (mitmproxy
    # forwards an empty body to the relay): one copy of ~100 KB and one HTTP parse fewer per request.
    body: bytes | None = None


TOO_MANY_ROUNDS = (f"headroom: the model asked for headroom_retrieve more than {MAX_ROUNDS} times in one turn; "
                   "the turn was stopped. Ask again, or run `headroom retrieve ID` yourself.")


class Relay:
    def __init__(self, store: Store, ledger: Ledger | None, session: str):
        self.store = store
        self.ledger = ledger
        self.session = session
        self.port: int | None = None
        self._tickets: dict[str, Ticket] = {}
        self._server: asyncio.AbstractServer | None = None
        self._client: UpstreamClient | None = None
        self.served = 0  # requests relayed: streamed ones the model was offered our tool in

    async def start(self) -> "Relay":
        self._client = UpstreamClient()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            await self._client.aclose()

    def issue(self, ticket: Ticket) -> str:
        token = secrets.token_hex(16)
        self._tickets[token] = ticket
        while len(self._tickets) > 1024:  # one whose request never arrived (a client gone first)
            self._tickets.pop(next(iter(self._tickets)))
        return token

    # -- HTTP/1.1 server side -------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await _read_request(conn, reader)
                if request is None:
                    return
                await self._handle(conn, writer, request, body)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
            log.debug("relay connection ended: %s", exc)
        finally:
            writer.close()

    async def _handle(self, conn: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request,
                      body: bytes) -> None:
        headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in request.headers]
        token = next((v for k, v in headers if k == TICKET_HEADER), "")
        ticket = self._tickets.pop(token, None)
        self.served += 1
        if ticket is None:
            await _send(conn, writer, 400, [("content-type", "application/json")],
                        errors.error_body("anthropic", 400, "headroom relay: unknown request"))
            return
        forward = forwarded_headers(headers)
        url = ticket.upstream + request.target.decode("latin-1")
        parsed = None  # a handed-over body is a streamed request's: parsed only if the turn goes on
        if ticket.body is not None:
            body, ticket.body, streamed = ticket.body, None, True
        else:
            parsed = _json_object(body)
            streamed = parsed is not None and parsed.get("stream") is True
        try:
            if streamed:
                await self._streamed(conn, writer, ticket, url, forward, parsed, body)
            else:
                await self._whole(conn, writer, ticket, url, forward, parsed, body)
        except (ConnectionError, h11.LocalProtocolError):
            raise  # the client went away: nothing to tell it
        except Exception as exc:  # the upstream failed, or a bug of ours: the client gets a clear error
            if isinstance(exc, UpstreamError):
                log.error("upstream %s unreachable: %s", ticket.upstream, exc)
                message = f"headroom: the upstream API could not be reached ({exc})"
            else:
                log.error("retrieval relay failed: %s: %s", type(exc).__name__, exc, exc_info=True)
                message = f"headroom: internal error while answering headroom_retrieve ({type(exc).__name__})"
            if conn.our_state is h11.SEND_RESPONSE:
                await _send(conn, writer, 502, [("content-type", "application/json")],
                            errors.error_body(ticket.provider, 502, message))
            elif conn.our_state is h11.SEND_BODY:
                await _write(conn, writer, h11.Data(data=error_event(ticket.api, message)))
                await _write(conn, writer, h11.EndOfMessage())

    # -- whole replies ----------------------------------------------------------------------------
    async def _whole(self, conn, writer, ticket: Ticket, url: str, headers, body: dict | None, raw: bytes) -> None:
        assert self._client is not None
        status, reply_headers, content = await self._client.post(url, headers, raw)
        status, reply_headers, content = await self.whole_rounds(
            ticket, url, headers, body, status, _reply_headers(reply_headers), content)
        await _send(conn, writer, status, reply_headers, content)

    async def whole_rounds(self, ticket: Ticket, url: str, headers, body: dict | None, status: int,
                           reply_headers: list[tuple[str, str]], content: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Given the first whole reply, answer our tool's calls and continue upstream until the model is
        done; the reply the client gets. The addon calls it too, for a reply that came straight from the
        upstream (only replies that call our tool need any of this)."""
        assert self._client is not None
        total = Usage()
        earlier: list[dict] = []  # the model's messages in the rounds answered here
        while True:
            reply = _json_object(content) if status == 200 else None
            if reply is None or body is None:
                break
            add_usage(total, usage_of_reply(reply))
            ours, theirs = calls_in(ticket.api, reply)
            if theirs:
                reply = without_ours(ticket.api, reply)
            if not ours or theirs:
                if earlier or theirs:
                    content = json.dumps(with_earlier(ticket.api, reply, earlier), ensure_ascii=False).encode()
                break
            if ticket.rounds >= MAX_ROUNDS:
                return 502, [("content-type", "application/json")], errors.error_body(ticket.provider, 502,
                                                                                      TOO_MANY_ROUNDS)
            earlier.append(assistant_message(ticket.api, reply))
            body = await self._continue(ticket, body, earlier[-1], ours)
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            status, reply_headers, content = await self._client.post(url, headers, raw)
            reply_headers = _reply_headers(reply_headers)
        if ticket.rounds:
            ticket.usage = total
        return status, reply_headers, content

    async def _continue(self, ticket: Ticket, body: dict, assistant: dict, calls) -> dict:
        store = scoped(self.store, ticket.owner)
        answers = [(call, await asyncio.to_thread(answer, store, self.ledger, self.session, call.arguments, ticket.owner))
                   for call in calls]
        ticket.rounds += 1
        for call, found in answers:
            log.info("answered headroom_retrieve %s%s (round %d)", found.part_id or "?",
                     " with an error" if found.is_error else "", ticket.rounds)
        body = continuation(ticket.api, body, assistant, answers)
        ticket.continuations.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")))  # as sent
        return body

    # -- streamed replies ---------------------------------------------------------------------------
    async def _streamed(self, conn, writer, ticket: Ticket, url: str, headers, body: dict | None, raw: bytes) -> None:
        assert self._client is not None
        total = Usage()
        offset, first = 0, True
        while True:
            round_ = StreamRound(ticket.api, first, offset)
            async with self._client.stream(url, headers, raw) as response:
                if first:
                    if response.status_code != 200 or "text/event-stream" not in response.header("content-type"):
                        content = await response.read()
                        await _send(conn, writer, response.status_code, _reply_headers(response.headers), content)
                        return
                    await _write(conn, writer, h11.Response(status_code=200, headers=_reply_headers(response.headers)))
                elif response.status_code != 200:
                    content = (await response.read()).decode("utf-8", "replace")[:500]
                    await _write(conn, writer, h11.Data(data=error_event(
                        ticket.api, f"headroom: the upstream refused the retrieval continuation ({response.status_code}): {content}")))
                    break
                parser = SseParser()
                async for chunk in response.iter_bytes():  # what arrived together goes on in one write
                    await _write_all(conn, writer, [out for event in parser.feed(chunk) for out in round_.feed(event)])
                tail = parser.rest()
                if tail.strip():
                    await _write_all(conn, writer, round_.feed(Event(tail, None, "")))
            add_usage(total, round_.usage)
            calls = round_.calls()
            if not calls or round_.theirs or round_.ended_in_error:
                await _write_all(conn, writer, round_.held(ending=True))
                break
            if ticket.rounds >= MAX_ROUNDS:
                await _write(conn, writer, h11.Data(data=error_event(ticket.api, TOO_MANY_ROUNDS)))
                break
            await _write_all(conn, writer, round_.held(ending=False))
            ticket.rebuilt = True
            body = await self._continue(ticket, body if body is not None else json.loads(raw),
                                        round_.assistant_message(), calls)
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            offset, first = offset + round_.visible, False
        if ticket.rounds:
            ticket.usage = total
        await _write(conn, writer, h11.EndOfMessage())


def forwarded_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A request's headers as sent upstream for its rounds: hop-by-hop ones dropped, replies unencoded."""
    return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP] + [("accept-encoding", "identity")]


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reply_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    drop = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
    return [(k, v) for k, v in headers if k.lower() not in drop]


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[h11.Request | None, bytes]:
    request, body = None, bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            if not data and request is None:
                return None, b""
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None, b""


async def _write(conn: h11.Connection, writer: asyncio.StreamWriter, event) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        await writer.drain()


async def _write_all(conn: h11.Connection, writer: asyncio.StreamWriter, pieces: list[bytes]) -> None:
    """The pieces as one chunk of the reply (nothing when there are none)."""
    if pieces:
        await _write(conn, writer, h11.Data(data=b"".join(pieces)))


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]],
                content: bytes) -> None:
    headers = [*headers, ("content-length", str(len(content)))]
    await _write(conn, writer, h11.Response(status_code=status, headers=headers))
    await _write(conn, writer, h11.Data(data=content))
    await _write(conn, writer, h11.EndOfMessage())
