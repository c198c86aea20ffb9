"""`KeepAliveTransport` (resources/intercom/wire.py) over real sockets, against small asyncio servers
scripted to misbehave the ways a server or network can: keep-alive reuse, closes while idle, silence,
drops mid-body, resets, garbage, TLS with a self-signed certificate, a peer that never reads."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from resources.intercom.wire import KeepAliveTransport

OK_BODY = '{"ok": true}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n" + OK_BODY.encode()
# A reply to request number n (1-based, over all connections); True keeps the connection open.
Reply = Callable[[asyncio.StreamWriter, int], Awaitable[bool]]


async def answer_ok(writer: asyncio.StreamWriter, n: int) -> bool:
    writer.write(OK)
    await writer.drain()
    return True


class Server:
    """An HTTP/1.1 server on loopback that reads whole requests and answers with `reply`."""

    def __init__(self, reply: Reply = answer_ok, ssl_context: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.ssl_context = ssl_context
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
                    body = await read_chunks(reader)
                else:
                    body = await reader.readexactly(int(length.group(1))) if length else b""
                self.requests.append(head + body)
                if not await self.reply(writer, len(self.requests)):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def read_chunks(reader: asyncio.StreamReader) -> bytes:
    """A chunked request body, decoded (no trailers)."""
    body = b""
    while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
        body += await reader.readexactly(size)
        assert await reader.readexactly(2) == b"\r\n"
    assert await reader.readexactly(2) == b"\r\n"
    return body


def client(**options: object) -> httpx.AsyncClient:
    timeout = options.pop("timeout", httpx.Timeout(2.0))
    return httpx.AsyncClient(transport=KeepAliveTransport(**options), timeout=timeout)  # type: ignore[arg-type]


def bodies_and_connections(
    reply: Reply = answer_ok, pauses: tuple[float, ...] = (0.0, 0.0), **options: object
) -> tuple[list[str], int]:
    """The bodies of GETs one after another against `reply`, each after its pause (while the last
    connection is idle), and how many connections they took."""

    async def main() -> tuple[list[str], int]:
        async with Server(reply) as server, client(**options) as http:
            bodies = []
            for pause in pauses:
                await asyncio.sleep(pause)
                bodies.append((await http.get(f"{server.url}/x")).text)
            return bodies, server.connections

    return asyncio.run(main())


def test_calls_one_after_another_share_one_kept_alive_connection():
    async def main() -> None:
        async with Server() as server, client() as http:
            for _ in range(5):
                response = await http.post(f"{server.url}/contacts", json={"name": "Ann"})
                assert (response.status_code, response.json()) == (200, {"ok": True})
            assert server.connections == 1 and len(server.requests) == 5
            assert server.requests[0].startswith(b"POST /contacts HTTP/1.1\r\n")
            assert server.requests[0].endswith(b'\r\n\r\n{"name":"Ann"}')
            assert b"\r\nHost: 127.0.0.1:" in server.requests[0]

    asyncio.run(main())


def test_calls_in_flight_get_a_connection_each_and_later_calls_reuse_them():
    async def slow_ok(writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(0.05)
        return await answer_ok(writer, n)

    async def main() -> None:
        async with Server(slow_ok) as server, client() as http:
            for _ in range(3):
                await asyncio.gather(*(http.get(f"{server.url}/x") for _ in range(4)))
            assert server.connections == 4 and len(server.requests) == 12

    asyncio.run(main())


def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def ok_then_close(writer: asyncio.StreamWriter, n: int) -> bool:
        await answer_ok(writer, n)
        return False  # closes without saying so (no `Connection: close`), as an idle timeout does

    # Each pause lets the FIN arrive while the connection is idle.
    assert bodies_and_connections(ok_then_close, pauses=(0.0, 0.05, 0.05)) == ([OK_BODY] * 3, 3)


def test_a_connection_idle_past_the_keepalive_expiry_is_not_reused():
    # Only the pause past 0.2 s opens a new connection.
    assert bodies_and_connections(pauses=(0.0, 0.05, 0.3, 0.05), keepalive_expiry=0.2) == ([OK_BODY] * 4, 2)


def test_connection_close_in_the_response_is_obeyed():
    async def ok_close(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.2)  # still open when the client's next call starts: it must not use it
        return False

    assert bodies_and_connections(ok_close) == (["ok", "ok"], 2)


def test_chunked_and_close_delimited_bodies_are_read_whole():
    async def chunked_then_eof(writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(b"2\r\nde\r\n0\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")  # no length: the body ends with the connection
        await writer.drain()
        return False

    assert bodies_and_connections(chunked_then_eof) == (["abcde", "until the end"], 1)


def test_silence_past_the_read_timeout_is_a_read_timeout_and_the_connection_is_dropped():
    async def never(writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            await asyncio.sleep(5)
        return await answer_ok(writer, n)

    async def main() -> None:
        async with Server(never) as server, client(timeout=httpx.Timeout(2.0, read=0.2)) as http:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"{server.url}/x")
            assert 0.15 < time.monotonic() - started < 1.0
            assert (await http.get(f"{server.url}/x")).status_code == 200  # on a new connection
            assert server.connections == 2

    asyncio.run(main())


def test_the_read_timeout_bounds_silence_not_the_whole_response():
    async def trickle(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"steady":
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))
        return True

    async def main() -> None:
        async with Server(trickle) as server, client(timeout=httpx.Timeout(2.0, read=0.3)) as http:
            assert (await http.get(f"{server.url}/x")).text == "steady"  # 0.6 s in all, 0.1 s gaps

    asyncio.run(main())


@pytest.mark.parametrize(
    "sent, error",
    [
        (b"", httpx.RemoteProtocolError),  # closed before answering
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"half":', httpx.RemoteProtocolError),  # mid-body
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", httpx.RemoteProtocolError),
        (b"SMTP ready\r\n\r\n", httpx.RemoteProtocolError),  # not HTTP
    ],
    ids=["before-response", "mid-body", "mid-chunks", "garbage"],
)
def test_a_dropped_or_broken_response_raises_and_is_never_returned_half_read(sent, error):
    async def drop(writer: asyncio.StreamWriter, n: int) -> bool:
        if n > 1:
            return await answer_ok(writer, n)
        writer.write(sent)
        await writer.drain()
        return False

    async def main() -> None:
        async with Server(drop) as server, client() as http:
            with pytest.raises(error):
                await http.get(f"{server.url}/x")
            assert (await http.get(f"{server.url}/x")).json() == {"ok": True}
            assert server.connections == 2

    asyncio.run(main())


def test_a_reset_connection_is_a_read_error():
    async def reset(writer: asyncio.StreamWriter, n: int) -> bool:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
        return False

    async def main() -> None:
        async with Server(reset) as server, client() as http:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                await http.get(f"{server.url}/x")

    asyncio.run(main())


def test_a_refused_connection_is_a_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once it is closed

    async def main() -> None:
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/x")

    asyncio.run(main())


def test_a_header_with_a_line_break_is_refused_before_sending():
    async def main() -> None:
        async with Server() as server, client() as http:
            with pytest.raises(httpx.LocalProtocolError):
                await http.get(f"{server.url}/x", headers={"X-Evil": "a\r\nInjected: yes"})
            assert server.requests == []

    asyncio.run(main())


def test_a_peer_that_stops_reading_is_a_write_timeout():
    async def main() -> None:
        hung: list[asyncio.StreamWriter] = []

        async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            hung.append(writer)

        server = await asyncio.start_server(never_read, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with client(timeout=httpx.Timeout(2.0, write=0.3)) as http:
                with pytest.raises(httpx.WriteTimeout):  # far more than the socket buffers hold
                    await http.post(f"http://127.0.0.1:{port}/x", content=b"x" * 64_000_000)
        finally:
            server.close()

    asyncio.run(main())


# -- TLS -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it): a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "revsync test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    trusting = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return server, trusting


def test_https_goes_through_the_given_ssl_context_and_keeps_the_connection(tls):
    server_context, client_context = tls

    async def main() -> None:
        async with Server(ssl_context=server_context) as server, client(ssl_context=client_context) as http:
            for _ in range(3):
                assert (await http.get(f"{server.url}/x")).json() == {"ok": True}
            assert server.connections == 1

    asyncio.run(main())


def test_https_refuses_a_certificate_it_does_not_trust(tls):
    server_context, _ = tls

    async def main() -> None:
        async with Server(ssl_context=server_context) as server, client() as http:  # system CAs only
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{server.url}/x")

    asyncio.run(main())


def test_a_tls_handshake_that_never_ends_is_a_connect_timeout(tls):
    _, client_context = tls

    async def main() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)  # plain TCP: never answers the hello
        port = server.sockets[0].getsockname()[1]
        try:
            timeout = httpx.Timeout(2.0, connect=0.2)
            async with client(ssl_context=client_context, timeout=timeout) as http:
                started = time.monotonic()
                with pytest.raises(httpx.ConnectTimeout):
                    await http.get(f"https://127.0.0.1:{port}/x")
                assert time.monotonic() - started < 1.0
        finally:
            server.close()

    asyncio.run(main())


def test_bytes_after_a_complete_response_make_the_connection_unusable():
    async def ok_and_junk(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(OK + b"HTTP/1.1 200 OK\r\n")  # a second answer nobody asked for
        await writer.drain()
        return True

    assert bodies_and_connections(ok_and_junk, pauses=(0.0, 0.02)) == ([OK_BODY] * 2, 2)


def test_an_interim_1xx_answer_is_skipped_and_the_reason_phrase_kept():
    async def early_hints(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
        await writer.drain()
        writer.write(b"HTTP/1.1 409 Already There\r\nContent-Length: 2\r\n\r\n{}")
        return True

    async def main() -> None:
        async with Server(early_hints) as server, client() as http:
            response = await http.get(f"{server.url}/x")
            assert (response.status_code, response.reason_phrase, response.json()) == (409, "Already There", {})
            assert "link" not in response.headers

    asyncio.run(main())


def test_an_answer_before_the_whole_request_was_sent_is_returned_but_its_connection_not_reused():
    async def main() -> None:
        connections = []

        async def answer_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer)
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")  # and reads no more
            await asyncio.sleep(2)

        server = await asyncio.start_server(answer_early, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
        try:
            async with client() as http:
                assert (await http.post(url, content=b"x" * 64_000_000)).status_code == 413
                assert (await http.get(url)).status_code == 413
                assert len(connections) == 2
        finally:
            server.close()

    asyncio.run(main())


def test_a_second_response_in_the_same_read_does_not_touch_the_one_returned():
    async def ok_and_another(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(OK + b"HTTP/1.1 500 Internal Server Error\r\nX-Extra: 1\r\nContent-Length: 5\r\n\r\noops!")
        await writer.drain()
        return True

    async def main() -> None:
        async with Server(ok_and_another) as server, client() as http:
            for _ in range(2):
                response = await http.get(f"{server.url}/x")
                assert (response.status_code, response.reason_phrase) == (200, "OK")
                assert (response.content, "x-extra" in response.headers) == (b'{"ok": true}', False)
            assert server.connections == 2  # and the connection that carried the stray answer is dropped

    asyncio.run(main())


def test_an_idle_connection_whose_close_the_loop_has_seen_is_not_handed_out():
    """Between the event loop reading the server's FIN (the transport is closing) and the
    connection's `connection_lost` (one loop iteration later), a request must not take it: it
    would fail as if the server had dropped it, without having been sent."""

    async def ok_then_close(writer: asyncio.StreamWriter, n: int) -> bool:
        await answer_ok(writer, n)
        return n > 1  # the first connection is closed right after its answer

    async def main() -> None:
        transport = KeepAliveTransport()
        async with Server(ok_then_close) as server, httpx.AsyncClient(transport=transport) as http:
            assert (await http.get(f"{server.url}/x")).status_code == 200
            (idle,) = [connection for stack in transport._idle.values() for connection in stack]
            assert idle._transport is not None
            while not idle._transport.is_closing():  # each step runs before the next iteration's callbacks
                await asyncio.sleep(0)
            assert (await http.get(f"{server.url}/x")).status_code == 200  # on a new connection
            assert server.connections == 2 and len(server.requests) == 2

    asyncio.run(main())


def test_a_streamed_request_body_is_framed_as_its_headers_say():
    async def body():  # no length known up front: httpx sets Transfer-Encoding: chunked
        yield b'{"name":'
        yield b'"Ann"}'

    async def main() -> None:
        async with Server() as server, client(timeout=httpx.Timeout(2.0, read=0.5)) as http:
            for _ in range(2):
                assert (await http.post(f"{server.url}/contacts", content=body())).json() == {"ok": True}
            assert server.connections == 1 and len(server.requests) == 2
            assert b"\r\nTransfer-Encoding: chunked\r\n" in server.requests[0]
            assert server.requests[0].endswith(b'\r\n\r\n{"name":"Ann"}')

    asyncio.run(main())


def test_a_body_that_does_not_match_its_content_length_is_refused_before_sending():
    async def main() -> None:
        async with Server() as server, client(timeout=httpx.Timeout(2.0, read=0.5)) as http:
            with pytest.raises(httpx.LocalProtocolError):
                await http.post(f"{server.url}/x", content=b"abc", headers={"Content-Length": "5"})
            assert server.requests == []

    asyncio.run(main())


def test_a_request_that_timed_out_writing_is_not_sent_on_in_the_background():
    """After a WriteTimeout (or a cancellation) the client retries the call: the abandoned
    connection must not go on sending the rest of the request, or a server that resumes reading
    gets it whole and acts on it, as httpcore's closed socket never let it."""

    async def main() -> None:
        reading = asyncio.Event()
        received: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def read_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reading.wait()
            total = 0
            try:
                while chunk := await reader.read(1 << 20):
                    total += len(chunk)
            except ConnectionError:
                pass
            received.set_result(total)
            writer.close()

        server = await asyncio.start_server(read_later, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        body = b"x" * 64_000_000
        try:
            async with client(timeout=httpx.Timeout(2.0, write=0.3)) as http:
                with pytest.raises(httpx.WriteTimeout):
                    await http.post(f"http://127.0.0.1:{port}/contacts", content=body)
                reading.set()
                assert await asyncio.wait_for(received, 5) < len(body)  # cut short, never whole
        finally:
            server.close()

    asyncio.run(main())


def test_an_address_that_never_answers_does_not_hold_up_the_next_one():
    """Happy eyeballs, as httpcore's `anyio.connect_tcp` does: when a host name's first address
    drops the connection attempt (typically an IPv6 address without a working route), the next
    one is tried after 250 ms rather than after the whole connect timeout, which would fail it."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    queued = socket.create_connection(blackhole.getsockname())  # the backlog is full: further SYNs are dropped

    async def main() -> None:
        async with Server() as server:
            port = int(server.url.rsplit(":", 1)[1])
            addresses = [blackhole.getsockname(), ("127.0.0.1", port)]

            async def getaddrinfo(host: str, port: int, **kwargs: object) -> list[tuple]:
                return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address) for address in addresses]

            asyncio.get_running_loop().getaddrinfo = getaddrinfo  # type: ignore[method-assign]
            async with client(timeout=httpx.Timeout(2.0, connect=1.5)) as http:
                started = time.monotonic()
                assert (await http.get(f"http://intercom.test:{port}/x")).json() == {"ok": True}
                assert time.monotonic() - started < 1.0

    try:
        asyncio.run(main())
    finally:
        queued.close()
        blackhole.close()
