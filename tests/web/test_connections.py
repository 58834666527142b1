"""Idle, half-sent and crowding connections do not keep phones out (issue 21, finding 1).

The server runs in this process on 127.0.0.1 with the sites ``provd serve`` starts;
the clients spread over other loopback addresses (127.0.0.2…) as separate sources.
"""

from __future__ import annotations

import asyncio
import resource
import ssl
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware

from provd.security.tls import TlsPaths, server_ssl_context
from provd.services import devices
from provd.services.directory import users
from provd.services.platform import Platform
from provd.settings import Settings
from provd.web.app import make_app
from provd.web.server import build_provisioner, raise_file_limit, start_sites
from provd.web.workers import LISTEN_BACKLOG
from tests.conftest import TEST_ACTOR, TEST_SETTINGS

MAC = "001565aabb01"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
# "Closed by the server" must happen within this; the bounds under test are ~1 s.
DEADLINE = 30.0

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Running:
    port: int
    tls: TlsPaths
    password: str

    def client_ssl(self) -> ssl.SSLContext:
        assert self.tls.ca is not None
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        context.check_hostname = False
        return context

    async def phone_fetch(self) -> tuple[int, bytes]:
        connector = aiohttp.TCPConnector(ssl=self.client_ssl(), force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as s,
            s.get(
                f"https://127.0.0.1:{self.port}/{MAC}.cfg",
                headers={"User-Agent": UA},
                middlewares=(DigestAuthMiddleware(f"dev-{MAC}", self.password),),
            ) as r,
        ):
            return r.status, await r.read()


async def _serve(platform: Platform, tls: TlsPaths, **bounds: float) -> AsyncIterator[Running]:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(
        platform, TEST_ACTOR, MAC, "yealink-t46g", users=["201"]
    )
    settings: Settings = TEST_SETTINGS.with_overrides(https_port=0, **bounds)
    app = make_app(platform, build_provisioner(platform))
    runner = await start_sites(app, settings, server_ssl_context(tls))
    try:
        (site,) = runner.sites
        port = getattr(site, "port", 0)
        assert isinstance(port, int) and port
        yield Running(port, tls, credential.password)
    finally:
        await runner.cleanup()


@pytest.fixture
async def running(platform: Platform, tls: TlsPaths) -> AsyncIterator[Running]:
    raise_file_limit()  # a few hundred connections, two descriptors each, in one process
    async for r in _serve(
        platform,
        tls,
        tls_handshake_seconds=1.0,
        request_head_seconds=1.0,
        keepalive_seconds=1.0,
        max_connections_per_client=20,
    ):
        yield r


def _source(i: int) -> str:
    """Ten connections per loopback source: well under the per-source cap."""
    return f"127.0.{1 + i // 2500}.{2 + (i // 10) % 250}"


async def _connect(port: int, source: str, context: ssl.SSLContext | None = None) -> Stream:
    return await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0), ssl=context, server_hostname=None
    )


async def _closed_by_server(stream: Stream) -> bool:
    """Whether the server ends the connection within the deadline (EOF or reset)."""
    reader, writer = stream
    try:
        async with asyncio.timeout(DEADLINE):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except (OSError, ssl.SSLError):
        pass  # a reset, or TLS torn down without close_notify: closed all the same
    finally:
        writer.transport.abort()
    return True


async def _bounded(jobs: Iterable[Awaitable[Stream]], parallel: int = 32) -> list[Stream]:
    gate = asyncio.Semaphore(parallel)

    async def one(job: Awaitable[Stream]) -> Stream:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def test_idle_and_half_sent_connections_are_closed_while_a_phone_fetches(
    running: Running,
) -> None:
    port, tls_client = running.port, running.client_ssl()
    n = iter(range(10_000))
    # TCP connected to the TLS port, never a byte of handshake.
    idle_tcp = await _bounded(_connect(port, _source(next(n))) for _ in range(150))
    # A handshake begun and left hanging (the first bytes of a ClientHello).
    half_hello = await _bounded(_connect(port, _source(next(n))) for _ in range(100))
    for _, writer in half_hello:
        writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    # TLS done, then nothing; TLS done, then part of a request head.
    idle_tls = await _bounded(_connect(port, _source(next(n)), tls_client) for _ in range(60))
    half_head = await _bounded(_connect(port, _source(next(n)), tls_client) for _ in range(60))
    for _, writer in half_head:
        writer.write(b"GET /" + MAC.encode() + b".cfg HTTP/1.1\r\nHost: provd.test\r\n")
    # One full request on a keep-alive connection, then idle.
    kept = await _bounded(_connect(port, _source(next(n)), tls_client) for _ in range(30))
    for _, writer in kept:
        writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: provd.test\r\n\r\n")

    status, body = await running.phone_fetch()
    assert status == 200
    assert body.startswith(b"#!version:1.0.0.1\n")

    everything = idle_tcp + half_hello + idle_tls + half_head + kept
    assert len(everything) >= 400
    closed = await asyncio.gather(*(_closed_by_server(s) for s in everything))
    assert closed.count(False) == 0, f"{closed.count(False)} connections were left open"

    status, _ = await running.phone_fetch()
    assert status == 200


async def test_keep_alive_connection_answers_then_closes_when_idle(running: Running) -> None:
    reader, writer = await _connect(running.port, "127.0.0.2", running.client_ssl())
    writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: provd.test\r\n\r\n")
    first = await reader.readuntil(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 404")
    assert b"keep-alive" in first.lower() or b"connection: close" not in first.lower()
    assert await _closed_by_server((reader, writer))


async def test_one_source_is_capped_and_others_still_get_in(
    platform: Platform, tls: TlsPaths
) -> None:
    # Long handshake bound: here only the cap may close anything.
    async for running in _serve(
        platform, tls, tls_handshake_seconds=600.0, max_connections_per_client=5
    ):
        held = [await _connect(running.port, "127.0.0.9") for _ in range(5)]
        extra = await _connect(running.port, "127.0.0.9")
        assert await _closed_by_server(extra)
        # Another source, and the phone on 127.0.0.1, are not affected.
        other = await _connect(running.port, "127.0.0.10", running.client_ssl())
        status, _ = await running.phone_fetch()
        assert status == 200
        other[1].transport.abort()
        # Giving one back makes room for one more from the crowded source.
        _, given_back = held.pop()
        given_back.transport.abort()
        for _ in range(100):
            await asyncio.sleep(0.05)
            try:
                again = await asyncio.wait_for(
                    _connect(running.port, "127.0.0.9", running.client_ssl()), DEADLINE
                )
            except (OSError, ssl.SSLError):
                continue  # the release had not been seen yet
            again[1].transport.abort()
            break
        else:
            pytest.fail("the source stayed refused after a connection closed")
        for _, writer in held:
            writer.transport.abort()


def test_raise_file_limit_lifts_the_soft_limit_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(soft, 256)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))
    try:
        raised = raise_file_limit()
        now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert now == raised
        assert now == hard or (hard == resource.RLIM_INFINITY and now > lower)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, lower), hard))


async def test_the_port_queues_a_boot_storm_of_connections(running: Running) -> None:
    # ss shows a listening socket's backlog as its Send-Q.
    done = await asyncio.create_subprocess_exec(
        "ss", "-Hltn", f"sport = :{running.port}", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await done.communicate()
    [line] = out.decode().splitlines()
    assert int(line.split()[2]) == min(LISTEN_BACKLOG, _somaxconn()) >= 1024


def _somaxconn() -> int:
    with open("/proc/sys/net/core/somaxconn") as f:
        return int(f.read())
