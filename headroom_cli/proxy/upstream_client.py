"""The relay's HTTP/1.1 client to the upstream API: asyncio streams and h11, a few kept-alive connections.

Why not httpx (the relay used it before): the relay only POSTs a body and streams the reply back, and
httpx's general machinery (httpcore's pool, anyio, its request and response models) cost about 5% of a
busy worker's CPU for that. h11 is already here (mitmproxy's HTTP/1 and the relay's server side), so
this is the protocol done by h11 plus what the relay needs around it: connect/read/write timeouts,
TLS with certifi's CAs (the ones mitmproxy checks the same upstream against on the direct path), a
replies' gzip/deflate undone, and idle connections kept per origin for the next request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from contextlib import asynccontextmanager
from typing import AsyncIterator
from urllib.parse import urlsplit

import h11

CONNECT_S, READ_S, WRITE_S = 30.0, 600.0, 60.0  # read: between two pieces of a reply (a model may think)
KEEP_IDLE = 20  # idle connections kept per origin
IDLE_S = 5.0  # one idle for longer is not reused: servers drop idle keep-alive connections
_CHUNK = 65536


class UpstreamError(Exception):
    """The upstream could not be reached, or broke off; the message says which, for the client's error."""


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0
        self.received = 0  # bytes of the current reply: none yet on a reused one means it went stale

    def usable(self) -> bool:
        return (not self.reader.at_eof() and not self.writer.is_closing()
                and time.monotonic() - self.idle_since < IDLE_S)

    def close(self) -> None:
        self.writer.close()


class _Broken(UpstreamError):
    """The connection ended or broke (not a timeout)."""


class _Stale(Exception):
    """A kept-alive connection the server had closed before answering: the request is sent again."""


class Reply:
    """A reply's status and headers (names lower-case), its body read as it comes."""

    def __init__(self, client: "UpstreamClient", origin: tuple, conn: _Conn, response: h11.Response):
        self._client, self._origin, self._conn = client, origin, conn
        self.status_code = response.status_code
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers]
        self._decode = _decoder(self.header("content-encoding"))
        self._done = False

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it comes: each piece is what had arrived (all of its chunks) when it was read,
        so a burst of SSE events (a reply's last few come together) is passed on in one write."""
        pending = None  # an event read past the Data before it, handled next
        while not self._done:
            event, pending = pending or await self._client._next(self._conn), None
            if isinstance(event, h11.Data):
                data, pending = self._arrived(event)
                data = self._decode(data)
                if data:
                    yield data
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                tail = self._decode(None)
                self._client._release(self._origin, self._conn)  # before the last yield: it may be the end
                if tail:
                    yield tail
            else:
                raise UpstreamError("the upstream closed the connection in the middle of its reply")

    def _arrived(self, first: h11.Data) -> tuple[bytes, object]:
        """``first``'s data and that of the Data events right after it in what was received already
        (no read: nothing waits), and the event that ended the run (None when it is all read)."""
        pieces = [first.data]
        while True:
            try:
                event = self._conn.h11.next_event()
            except h11.RemoteProtocolError:  # told by the next read (_next), as any broken reply is
                return b"".join(pieces), None
            if not isinstance(event, h11.Data):
                return b"".join(pieces), (None if event is h11.NEED_DATA else event)
            pieces.append(event.data)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])

    def close(self) -> None:
        if not self._done:  # a reply not read to its end: its connection cannot carry another
            self._done = True
            self._conn.close()


class UpstreamClient:
    def __init__(self, connect_s: float = CONNECT_S, read_s: float = READ_S, write_s: float = WRITE_S,
                 ssl_context: ssl.SSLContext | None = None):
        self.connect_s, self.read_s, self.write_s = connect_s, read_s, write_s
        self._ssl = ssl_context
        self._idle: dict[tuple, list[_Conn]] = {}
        self.connections = 0  # opened so far (the tests check that kept-alive ones are reused)

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """A whole reply: status, headers, body."""
        async with self.stream(url, headers, body) as reply:
            return reply.status_code, reply.headers, await reply.read()

    @asynccontextmanager
    async def stream(self, url: str, headers: list[tuple[str, str]], body: bytes) -> AsyncIterator[Reply]:
        origin, target, host = _split(url)
        reply = await self._send(origin, target, [("host", host), *headers, ("content-length", str(len(body)))], body)
        try:
            yield reply
        finally:
            reply.close()

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    async def _send(self, origin: tuple, target: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
        while True:
            conn, reused = self._take(origin), True
            if conn is None:
                conn, reused = await self._connect(origin), False
            try:
                return Reply(self, origin, conn, await self._exchange(conn, target, headers, body, reused))
            except _Stale:
                conn.close()  # and again, on another connection
            except BaseException:
                conn.close()
                raise

    async def _exchange(self, conn: _Conn, target: str, headers, body: bytes, reused: bool) -> h11.Response:
        try:
            data = conn.h11.send(h11.Request(method="POST", target=target, headers=headers))
            conn.writer.write(data + conn.h11.send(h11.Data(data=body)) + conn.h11.send(h11.EndOfMessage()))
            async with asyncio.timeout(self.write_s):
                await conn.writer.drain()
            while True:
                event = await self._next(conn)
                if isinstance(event, h11.Response):
                    return event
                if not isinstance(event, h11.InformationalResponse):
                    raise _Broken("the upstream closed the connection without answering")
        except TimeoutError:  # before OSError, which it is a kind of
            raise UpstreamError(f"sending the request timed out after {self.write_s:g} s") from None
        except (_Broken, OSError) as exc:
            if reused and conn.received == 0:
                raise _Stale() from exc
            if isinstance(exc, _Broken):
                raise
            raise UpstreamError(f"sending the request failed: {_why(exc)}") from None
        except h11.ProtocolError as exc:
            raise UpstreamError(f"the request could not be sent: {exc}") from None

    async def _next(self, conn: _Conn):
        """The reply's next h11 event, reading as needed (each read within the read timeout)."""
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Broken(f"the upstream's reply is cut short or not HTTP/1.1: {exc}") from None
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(self.read_s):
                    data = await conn.reader.read(_CHUNK)
            except TimeoutError:
                raise UpstreamError(f"no reply from the upstream within {self.read_s:g} s") from None
            except OSError as exc:
                raise _Broken(f"reading the reply failed: {_why(exc)}") from None
            conn.received += len(data)
            conn.h11.receive_data(data)

    async def _connect(self, origin: tuple) -> _Conn:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or _ssl_context()
        try:
            async with asyncio.timeout(self.connect_s):
                reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=_CHUNK * 4,
                                                               server_hostname=host if context else None)
        except TimeoutError:
            raise UpstreamError(f"connecting to {host}:{port} timed out after {self.connect_s:g} s") from None
        except OSError as exc:
            raise UpstreamError(f"could not connect to {host}:{port}: {_why(exc)}") from None
        self.connections += 1
        return _Conn(reader, writer)

    def _take(self, origin: tuple) -> _Conn | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                conn.received = 0
                return conn
            conn.close()
        return None

    def _release(self, origin: tuple, conn: _Conn) -> None:
        """A reply read to its end: its connection kept for the next request when both sides allow."""
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < KEEP_IDLE:
                conn.h11.start_next_cycle()
                conn.idle_since = time.monotonic()
                idle.append(conn)
                return
        conn.close()


def _split(url: str) -> tuple[tuple, str, str]:
    """(origin, request target, Host header) of an http(s) URL; the Host without a default port."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError(f"not an http(s) URL: {url!r}")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    host = name if port == default else f"{name}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), target, host


def _decoder(encoding: str):
    """Undoes a reply's gzip or deflate (the relay asks for none; a server may still send it)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda data: data or b""
    if encoding not in ("gzip", "deflate"):
        raise UpstreamError(f"the upstream's reply is encoded as {encoding!r}, which the relay cannot read")
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib framing, told apart by the header

    def decode(data: bytes | None) -> bytes:
        try:
            return inflate.decompress(data) if data is not None else inflate.flush()
        except zlib.error as exc:
            raise UpstreamError(f"the upstream's {encoding} reply could not be read: {exc}") from None
    return decode


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
