"""Behind a TCP balancer: the PROXY protocol header names the client, and only from the
balancers the admin named; the client it names is the one counted and recorded."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from provd.security.tls import TlsPaths, server_ssl_context
from provd.web.phone import client_ip
from provd.web.proxy_protocol import (
    V2_SIGNATURE,
    ProxyHeaderError,
    client_address,
    header_length,
)
from provd.web.server import start_sites
from tests.conftest import TEST_SETTINGS

BALANCER = "127.0.0.2"
OTHER = "127.0.0.3"


def v1(client: str, version: int = 4) -> bytes:
    return f"PROXY TCP{version} {client} 127.0.0.1 40000 8443\r\n".encode()


def v2(client: str | None) -> bytes:
    if client is None:  # LOCAL: the balancer's own check
        return V2_SIGNATURE + bytes([0x20, 0x00]) + (0).to_bytes(2, "big")
    address = ipaddress.ip_address(client)
    if address.version == 4:
        body = address.packed + bytes(4) + (40000).to_bytes(2, "big") + (8443).to_bytes(2, "big")
        family = 0x11
    else:
        body = address.packed + bytes(16) + (40000).to_bytes(2, "big") + (8443).to_bytes(2, "big")
        family = 0x21
    tlv = b"\x04\x00\x01\x00"  # a NOOP TLV after the addresses: skipped
    return V2_SIGNATURE + bytes([0x21, family]) + len(body + tlv).to_bytes(2, "big") + body + tlv


@pytest.mark.parametrize(
    ("header", "client"),
    [
        (v1("198.51.100.7"), "198.51.100.7"),
        (v1("2001:db8::7", 6), "2001:db8::7"),
        (b"PROXY UNKNOWN\r\n", None),
        (v2("198.51.100.7"), "198.51.100.7"),
        (v2("2001:db8::7"), "2001:db8::7"),
        (v2(None), None),
    ],
)
def test_headers_name_their_client(header: bytes, client: str | None) -> None:
    assert header_length(header + b"\x16\x03\x01") == len(header)
    for cut in range(1, len(header)):
        assert header_length(header[:cut]) is None
    assert client_address(header) == client


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",
        b"PROXY TCP4 198.51.100.7\r\n",
        b"PROXY TCP4 2001:db8::7 127.0.0.1 1 2\r\n",
        b"PROXY TCP4 198.51.100.7 127.0.0.1 1 70000\r\n",
        b"PROXY " + b"9" * 200,
        V2_SIGNATURE + bytes([0x31, 0x11, 0, 12]) + bytes(12),
        V2_SIGNATURE + bytes([0x21, 0x31, 0, 0]),
        V2_SIGNATURE + bytes([0x21, 0x11, 0xFF, 0xFF]),
    ],
)
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        length = header_length(data)
        assert length is not None
        client_address(data[:length])


async def _who(request: web.Request) -> web.Response:
    return web.Response(text=client_ip(request))


@pytest.fixture
async def port(tls: TlsPaths) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get("/who", _who)
    settings = TEST_SETTINGS.with_overrides(
        https_port=0,
        proxy_protocol_from=(f"{BALANCER}/32",),
        max_connections_per_client=2,
        tls_handshake_seconds=1.0,
    )
    runner = await start_sites(app, settings, server_ssl_context(tls))
    try:
        (site,) = runner.sites
        yield int(getattr(site, "port", 0))
    finally:
        await runner.cleanup()


def _context(tls: TlsPaths) -> ssl.SSLContext:
    assert tls.ca is not None
    context = ssl.create_default_context(cafile=str(tls.ca))
    context.check_hostname = False
    return context


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _open(port: int, source: str, header: bytes, tls: TlsPaths) -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(header)
    await writer.drain()
    await writer.start_tls(_context(tls))
    return reader, writer


async def _ask(stream: Stream) -> str:
    reader, writer = stream
    writer.write(b"GET /who HTTP/1.1\r\nHost: provd\r\nConnection: close\r\n\r\n")
    await writer.drain()
    async with asyncio.timeout(10):
        answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n\r\n", 1)[1].decode()


@pytest.mark.parametrize("make", [v1, v2])
async def test_a_balancers_header_names_the_client(port: int, tls: TlsPaths, make: object) -> None:
    assert callable(make)
    stream = await _open(port, BALANCER, make("198.51.100.7"), tls)
    assert await _ask(stream) == "198.51.100.7"
    # The balancer's own health check (LOCAL) is the balancer.
    assert await _ask(await _open(port, BALANCER, v2(None), tls)) == BALANCER


async def _refused(port: int, source: str, header: bytes, tls: TlsPaths) -> bool:
    try:
        stream = await _open(port, source, header, tls)
        await _ask(stream)
    except (OSError, ssl.SSLError, IndexError, asyncio.IncompleteReadError):
        return True
    return False


async def test_only_named_balancers_may_send_a_header(port: int, tls: TlsPaths) -> None:
    # From anyone else the header is no header: the TLS handshake fails on it.
    assert await _refused(port, OTHER, v1("198.51.100.7"), tls)
    # And a named balancer must send one: TLS straight away is refused.
    assert await _refused(port, BALANCER, b"", tls)
    # Other clients are served as before.
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(OTHER, 0), ssl=_context(tls)
    )
    assert await _ask((reader, writer)) == OTHER


async def test_connections_are_counted_per_named_client(port: int, tls: TlsPaths) -> None:
    # Two open connections per client: the balancer's third for one client is refused,
    # while the other clients behind it are not crowded out by it.
    held = [await _open(port, BALANCER, v1("198.51.100.7"), tls) for _ in range(2)]
    assert await _refused(port, BALANCER, v1("198.51.100.7"), tls)
    assert await _ask(await _open(port, BALANCER, v1("198.51.100.8"), tls)) == "198.51.100.8"
    for _, writer in held:
        writer.close()
