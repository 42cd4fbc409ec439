"""The relay's upstream client (proxy/upstream_client.py) against small real servers on loopback:
replies streamed piece by piece, kept-alive connections reused (and a stale one replaced), TLS,
timeouts and unreachable upstreams as UpstreamError, a gzip reply undone; and through the proxy, an
unreachable upstream behind the relay answered in the provider's error shape."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import json
import ssl

import pytest

from headroom_cli.proxy.upstream_client import UpstreamClient, UpstreamError

HEADERS = [("content-type", "application/json")]


class Server:
    """An HTTP/1.1 server on loopback answering each request with ``reply(n, writer)`` (n: its number),
    counting connections and keeping the request bodies."""

    def __init__(self, reply, tls: ssl.SSLContext | None = None):
        self.reply, self.tls = reply, tls
        self.connections, self.bodies, self.heads = 0, [], []

    async def __aenter__(self) -> "Server":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                self.heads.append(head.decode("latin-1"))
                self.bodies.append(await reader.readexactly(length))
                if not await self.reply(len(self.bodies), writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _whole(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
            .encode() + body)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def test_a_streamed_reply_reaches_the_caller_piece_by_piece_before_it_ends():
    first_read = asyncio.Event

    async def main():
        got_first = first_read()

        async def reply(n, writer):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            writer.write(_chunk(b"event: one\ndata: {}\n\n"))
            await writer.drain()
            await asyncio.wait_for(got_first.wait(), 10)  # the rest only once the caller has the first event
            writer.write(_chunk(b"event: two\ndata: {}\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return True

        async with Server(reply) as server:
            client = UpstreamClient()
            pieces = []
            async with client.stream(f"http://127.0.0.1:{server.port}/v1/messages", HEADERS, b'{"stream":true}') as r:
                assert r.status_code == 200 and r.header("content-type") == "text/event-stream"
                async for piece in r.iter_bytes():
                    pieces.append(piece)
                    got_first.set()
            await client.aclose()
            return pieces, server

    pieces, server = asyncio.run(asyncio.wait_for(main(), 30))
    assert pieces == [b"event: one\ndata: {}\n\n", b"event: two\ndata: {}\n\n"]
    head = server.heads[0]
    assert head.startswith("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n" % server.port)
    assert "content-length: 15\r\n" in head and server.bodies == [b'{"stream":true}']


def test_chunks_that_arrived_together_come_out_as_one_piece():
    """The relay writes each piece on to the client: a burst of events (a reply's last few, sent at
    once) is one write, not one per chunk; what comes later is still a piece of its own."""
    async def main():
        async def reply(n, writer):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                         + _chunk(b"event: a\ndata: {}\n\n") + _chunk(b"event: b\ndata: {}\n\n"))
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.write(_chunk(b"event: c\ndata: {}\n\n") + _chunk(b"event: d\ndata: {}\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return True

        async with Server(reply) as server:
            client = UpstreamClient()
            async with client.stream(f"http://127.0.0.1:{server.port}/v1/messages", HEADERS, b'{"stream":true}') as r:
                pieces = [piece async for piece in r.iter_bytes()]
            second = await client.post(f"http://127.0.0.1:{server.port}/v1/messages", HEADERS, b'{"stream":true}')
            await client.aclose()
            return pieces, second, server.connections

    pieces, second, connections = asyncio.run(asyncio.wait_for(main(), 30))
    assert pieces == [b"event: a\ndata: {}\n\nevent: b\ndata: {}\n\n", b"event: c\ndata: {}\n\nevent: d\ndata: {}\n\n"]
    assert second[2] == b"".join(pieces) and connections == 1  # the reply ended cleanly: its connection kept


def test_kept_alive_connections_are_reused_and_a_stale_one_replaced():
    async def main():
        async def reply(n, writer):
            writer.write(_whole(b'{"n":%d}' % n))
            await writer.drain()
            return n != 2  # after the second reply the server drops the connection, saying nothing

        async with Server(reply) as server:
            client = UpstreamClient()
            url = f"http://127.0.0.1:{server.port}/v1/messages"
            replies = [await client.post(url, HEADERS, b"{}") for _ in range(2)]
            assert (server.connections, client.connections) == (1, 1)  # one connection for both
            await asyncio.sleep(0.2)  # the server's close reaches the client
            replies.append(await client.post(url, HEADERS, b"{}"))
            await client.aclose()
            return replies, server, client

    replies, server, client = asyncio.run(asyncio.wait_for(main(), 30))
    assert [r[2] for r in replies] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert (server.connections, client.connections) == (2, 2)


def test_a_reused_connection_the_server_closed_unseen_is_retried_once_on_a_new_one():
    async def main():
        async def reply(n, writer):
            if n == 2:  # read the request, then close without a word (the keep-alive race)
                return False
            writer.write(_whole(b'{"n":%d}' % n))
            await writer.drain()
            return True

        async with Server(reply) as server:
            client = UpstreamClient()
            url = f"http://127.0.0.1:{server.port}/x"
            got = [(await client.post(url, HEADERS, b"{}"))[2] for _ in range(2)]
            await client.aclose()
            return got, server

    got, server = asyncio.run(asyncio.wait_for(main(), 30))
    assert got == [b'{"n":1}', b'{"n":3}'] and server.connections == 2


def test_unreachable_and_silent_upstreams_are_upstream_errors():
    async def main():
        with pytest.raises(UpstreamError, match="could not connect to 127.0.0.1:9"):
            await UpstreamClient().post("http://127.0.0.1:9/v1/messages", HEADERS, b"{}")

        async def silent(n, writer):
            await asyncio.sleep(30)
            return False

        async with Server(silent) as server:
            client = UpstreamClient(read_s=0.3)
            with pytest.raises(UpstreamError, match="no reply from the upstream within 0.3 s"):
                await client.post(f"http://127.0.0.1:{server.port}/", HEADERS, b"{}")
            assert server.connections == 1  # a timeout is not a stale connection: not sent twice

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_gzip_reply_is_undone():
    body = json.dumps({"usage": {"input_tokens": 3}}).encode()

    async def main():
        async def reply(n, writer):
            writer.write(_whole(gzip.compress(body), "content-encoding: gzip\r\n"))
            await writer.drain()
            return True

        async with Server(reply) as server:
            return await UpstreamClient().post(f"http://127.0.0.1:{server.port}/", HEADERS, b"{}")

    status, headers, content = asyncio.run(asyncio.wait_for(main(), 30))
    assert status == 200 and content == body and ("content-encoding", "gzip") in headers


def _self_signed(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_an_https_upstream_is_verified(tmp_path):
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    async def main():
        async def reply(n, writer):
            writer.write(_whole(b'{"ok":true}'))
            await writer.drain()
            return True

        async with Server(reply, tls) as server:
            url = f"https://localhost:{server.port}/v1/messages"
            trusting = UpstreamClient(ssl_context=ssl.create_default_context(cafile=cert))
            got = await trusting.post(url, HEADERS, b"{}")
            await trusting.aclose()
            with pytest.raises(UpstreamError, match="could not connect to localhost"):
                await UpstreamClient().post(url, HEADERS, b"{}")  # certifi's CAs: not this one
            return got, server

    (status, _, content), server = asyncio.run(asyncio.wait_for(main(), 30))
    assert (status, content) == (200, b'{"ok":true}')
    assert f"host: localhost:{server.port}\r\n" in server.heads[0]


def test_a_streamed_request_whose_upstream_is_down_gets_the_providers_error_from_the_relay(headroom_home):
    """Offered our tool, a streamed request goes through the relay: there an unreachable upstream is a
    502 in Anthropic's error shape, as on the direct path."""
    import http.client

    from headroom_cli.config import Settings
    from headroom_cli.proxy.server import ProxyServer

    from samples import pytest_verbose_log

    server = ProxyServer(Settings(host="127.0.0.1", port=0, anthropic_upstream="http://127.0.0.1:9",
                                  openai_upstream="http://127.0.0.1:9", compress=True, home=headroom_home)).start()
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": True, "messages": [
        {"role": "user", "content": "Run the tests."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest -v"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": pytest_verbose_log(1999)}]},
    ]}).encode()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/v1/messages", body, {"content-type": "application/json", "x-api-key": "sk-ant-test",
                                                    "anthropic-version": "2023-06-01"})
        reply = conn.getresponse()
        status, content = reply.status, reply.read()
        served = server.addon.relay.served
    finally:
        server.stop()
    error = json.loads(content)
    assert status == 502 and served == 1
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "could not be reached" in error["error"]["message"] and "127.0.0.1:9" in error["error"]["message"]
