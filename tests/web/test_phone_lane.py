"""The phone lane (web/phone_lane) answers as aiohttp's application does, byte for byte.

One application, two sites on it: the one ``provd serve`` starts (phones' files answered
by the lane) and the same site without the lane (everything through aiohttp). Every
exchange is made on both, and the answers compared with the nonce and the date masked.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from provd.security.digest import DigestAuthenticator
from provd.security.tls import TlsPaths, server_ssl_context
from provd.services import devices
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.provisioning import PhoneRequest, PhoneResponse, Provisioner
from provd.web.app import make_app
from provd.web.app_keys import WORKER_INDEX
from provd.web.connections import ConnectionGuard, GuardedSite
from provd.web.phone_lane import phone_front
from provd.web.server import REALM, build_provisioner, connection_limits
from provd.web.workers import WORKER_HEADER
from tests.conftest import TEST_ACTOR, TEST_SETTINGS
from tests.digest_client import authorization, parse_challenge

MAC = "001565aabb01"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
CFG = f"/{MAC}.cfg"
_NONCE = re.compile(rb'nonce="[^"]*"')
_DATE = re.compile(rb"Date: [^\r]*")


@dataclass
class Sites:
    lane: int
    plain: int
    tls: TlsPaths
    password: str
    reached_aiohttp: list[str]
    """The paths whose responses aiohttp's application prepared."""

    def client_ssl(self) -> ssl.SSLContext:
        assert self.tls.ca is not None
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        context.check_hostname = False
        return context


async def _sites(platform: Platform, tls: TlsPaths, app: web.Application) -> AsyncIterator[Sites]:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(
        platform, TEST_ACTOR, MAC, "yealink-t46g", users=["201"]
    )
    reached: list[str] = []

    async def note(request: web.Request, response: web.StreamResponse) -> None:
        reached.append(request.path)

    app.on_response_prepare.append(note)
    settings = TEST_SETTINGS.with_overrides(https_port=0, keepalive_seconds=1.0)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.keepalive_seconds)
    await runner.setup()
    guard = ConnectionGuard(connection_limits(settings))
    context = server_ssl_context(tls)
    front = phone_front(app, settings.keepalive_seconds)
    assert front is not None
    lane = GuardedSite(runner, "127.0.0.1", 0, guard, ssl_context=context, front=front)
    plain = GuardedSite(runner, "127.0.0.1", 0, guard, ssl_context=context)
    await lane.start()
    await plain.start()
    try:
        yield Sites(lane.port, plain.port, tls, credential.password, reached)
    finally:
        await runner.cleanup()


@pytest.fixture
async def sites(platform: Platform, tls: TlsPaths) -> AsyncIterator[Sites]:
    async for s in _sites(platform, tls, make_app(platform, build_provisioner(platform))):
        yield s


class _Client:
    """One TLS connection, read by whole responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, sites: Sites, port: int) -> _Client:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=sites.client_ssl(), server_hostname=None
        )
        return cls(reader, writer)

    async def response(self) -> bytes:
        async with asyncio.timeout(10):
            head = await self.reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"Content-Length: (\d+)", head)
            body = await self.reader.readexactly(int(length[1])) if length else b""
        return head + body

    async def closed(self) -> bool:
        try:
            async with asyncio.timeout(10):
                return await self.reader.read() == b""
        except (OSError, ssl.SSLError):
            return True

    def close(self) -> None:
        self.writer.transport.abort()


def _get(path: str, *lines: str, version: str = "1.1", method: str = "GET") -> bytes:
    head = [f"{method} {path} HTTP/{version}", "Host: provd.test", f"User-Agent: {UA}", *lines]
    return ("\r\n".join(head) + "\r\n\r\n").encode()


def _masked(response: bytes) -> bytes:
    return _DATE.sub(b"Date: -", _NONCE.sub(b'nonce="-"', response))


def _signed(challenge: bytes, password: str, path: str = CFG, nc: int = 1) -> str:
    header = re.search(rb"WWW-Authenticate: (Digest [^\r]*algorithm=MD5[^\r]*)", challenge)
    assert header is not None
    return authorization(
        parse_challenge(header[1].decode()), f"dev-{MAC}", password, "GET", path, nc=nc
    )


async def _boot(sites: Sites, port: int, *extra: str) -> list[bytes]:
    """A phone's boot on one connection: challenged, then its file twice, the second
    time with its nonce count replayed."""
    client = await _Client.open(sites, port)
    try:
        client.writer.write(_get(CFG))
        challenge = await client.response()
        signed = _signed(challenge, sites.password)
        client.writer.write(_get(CFG, f"Authorization: {signed}", *extra))
        first = await client.response()
        replayed = b""
        if not extra:
            client.writer.write(_get(CFG, f"Authorization: {signed}"))
            replayed = await client.response()
        return [challenge, first, replayed]
    finally:
        client.close()


async def _one(sites: Sites, port: int, request: bytes) -> bytes:
    """The response, and whether the server then closed the connection when it said so."""
    client = await _Client.open(sites, port)
    client.writer.write(request)
    try:
        async with asyncio.timeout(10):
            head = await client.reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"Content-Length: (\d+)", head)
            body = b""
            if length and not request.startswith(b"HEAD "):
                body = await client.reader.readexactly(int(length[1]))
        closing = b"Connection: close" in head or (
            head.startswith(b"HTTP/1.0 ") and b"Connection: keep-alive" not in head
        )
        state = (b"<closed>" if await client.closed() else b"<open>") if closing else b""
        return head + body + state
    finally:
        client.close()


async def test_a_boot_is_answered_by_the_lane_as_by_aiohttp(sites: Sites) -> None:
    lane = await _boot(sites, sites.lane)
    assert sites.reached_aiohttp == []  # the lane answered every request itself
    plain = await _boot(sites, sites.plain)
    assert sites.reached_aiohttp == [CFG] * 3
    assert [_masked(r) for r in lane] == [_masked(r) for r in plain]
    challenge, first, replayed = lane
    assert challenge.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"account.1.user_name = 201" in first
    assert replayed.startswith(b"HTTP/1.1 401 ")  # a replayed count is refused


# Refused, handed to aiohttp, or answered by the lane with what aiohttp would send.
_OTHERS = [
    _get(CFG),
    _get(CFG, "Connection: close"),
    _get(CFG, method="HEAD"),
    _get(CFG, method="POST"),
    _get(CFG, version="1.0"),
    _get(CFG, "Connection: keep-alive", version="1.0"),
    _get(f"{CFG}?x=1"),
    _get("/%30%30.cfg"),
    _get("/nothing-here"),
    _get("/healthz"),
    _get("/metrics"),
    _get("/.."),
    _get(CFG, 'Authorization: Digest username="nobody"'),
    _get(CFG, "Authorization: Basic Zm9vOmJhcg=="),
    _get(CFG, "Bad Header: x"),
    _get(CFG, "Content-Length: 2") + b"ab",
    _get(CFG, "Expect: 100-continue"),
    b"GET " + CFG.encode() + b" HTTP/1.1\n\n",
]


async def test_other_requests_are_answered_alike(sites: Sites) -> None:
    for request in _OTHERS:
        lane = await _one(sites, sites.lane, request)
        plain = await _one(sites, sites.plain, request)
        assert _masked(lane) == _masked(plain), request


async def test_a_request_the_lane_does_not_take_hands_the_connection_to_aiohttp(
    sites: Sites,
) -> None:
    """Pipelined on one connection: a phone's file, a health check, a phone's file."""
    answers = []
    for port in (sites.lane, sites.plain):
        client = await _Client.open(sites, port)
        client.writer.write(_get(CFG) + _get("/healthz") + _get(CFG, "Connection: close"))
        answers.append([_masked(await client.response()) for _ in range(3)])
        assert await client.closed()
        client.close()
    assert answers[0] == answers[1]
    assert [a.split(b"\r\n")[0] for a in answers[0]] == [
        b"HTTP/1.1 401 Unauthorized",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 401 Unauthorized",
    ]
    # The lane answered the first; aiohttp the rest, once the connection was its.
    assert sites.reached_aiohttp == ["/healthz", CFG, CFG, "/healthz", CFG]


async def test_an_idle_keep_alive_connection_is_closed(sites: Sites) -> None:
    client = await _Client.open(sites, sites.lane)
    client.writer.write(_get(CFG))
    assert (await client.response()).startswith(b"HTTP/1.1 401")
    assert await client.closed()  # keepalive_seconds is 1 here
    client.close()


async def test_the_workers_header_is_sent_as_aiohttp_sends_it(
    platform: Platform, tls: TlsPaths
) -> None:
    app = make_app(platform, build_provisioner(platform))
    app[WORKER_INDEX] = "3"

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = request.app[WORKER_INDEX]

    app.on_response_prepare.append(stamp)
    async for sites in _sites(platform, tls, app):
        lane = await _boot(sites, sites.lane, "Connection: close")
        plain = await _boot(sites, sites.plain, "Connection: close")
        assert [_masked(r) for r in lane] == [_masked(r) for r in plain]
        assert b"\r\nConnection: close\r\nProvd-Worker: 3\r\n\r\n" in lane[1]


class _Failing(Provisioner):
    async def serve(self, req: PhoneRequest) -> PhoneResponse:
        raise RuntimeError("the database went away")


async def test_a_failing_handler_is_answered_as_aiohttp_answers_it(
    platform: Platform, tls: TlsPaths, caplog: pytest.LogCaptureFixture
) -> None:
    failing = _Failing(platform, DigestAuthenticator(bytes(32), REALM))
    async for sites in _sites(platform, tls, make_app(platform, failing)):
        lane = await _one(sites, sites.lane, _get(CFG))
        plain = await _one(sites, sites.plain, _get(CFG))
        assert _masked(lane) == _masked(plain)
        assert lane.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        failures = [r for r in caplog.records if r.name == "aiohttp.server"]
        assert len(failures) == 2
        assert failures[0].getMessage() == failures[1].getMessage()


class _Slow(Provisioner):
    """Answers once let go, and notes when its fetch notes are written."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform, DigestAuthenticator(bytes(32), REALM))
        self.asked = asyncio.Event()
        self.go = asyncio.Event()
        self.events: list[str] = []

    async def serve(self, req: PhoneRequest) -> PhoneResponse:
        self.asked.set()
        await self.go.wait()
        self.events.append("answered")
        return await super().serve(req)

    async def close(self) -> None:
        self.events.append("notes written")
        await super().close()


async def test_a_stopping_server_finishes_the_answer_being_made(
    platform: Platform, tls: TlsPaths
) -> None:
    slow = _Slow(platform)
    app = make_app(platform, slow)
    settings = TEST_SETTINGS.with_overrides(https_port=0)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    front = phone_front(app, settings.keepalive_seconds)
    guard = ConnectionGuard(connection_limits(settings))
    site = GuardedSite(
        runner, "127.0.0.1", 0, guard, ssl_context=server_ssl_context(tls), front=front
    )
    await site.start()
    sites = Sites(site.port, 0, tls, "", [])
    client = await _Client.open(sites, sites.lane)
    client.writer.write(_get(CFG))
    await slow.asked.wait()
    stopping = asyncio.create_task(runner.cleanup())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waiting for the answer
    slow.go.set()
    assert (await client.response()).startswith(b"HTTP/1.1 401 ")
    await stopping
    assert slow.events == ["answered", "notes written"]
    assert await client.closed()
    client.close()
