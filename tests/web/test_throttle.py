"""Throttling failed Digest attempts on the phone path without locking anyone out:
a client with valid credentials is served whatever other clients, or it, did before.

Addresses other than 127.0.0.1 are other loopback addresses the client binds to, so
the server sees several sources without any traffic leaving the machine.
"""

from __future__ import annotations

import logging
import secrets
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from provd.security.digest import DigestAuthenticator
from provd.security.ratelimit import AuthThrottle
from provd.security.tls import TlsPaths, server_ssl_context
from provd.services import devices
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.web.app import make_app
from provd.web.server import REALM
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

T46G_MAC = "001565aabb01"
T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:aa:bb:01"
T48G_MAC = "001565aabb02"
T48G_UA = "Yealink SIP-T48G 28.83.0.120 00:15:65:aa:bb:02"
WRONG = "Wr0ng-pass!"
# Small limits keep the tests short; the defaults are checked in tests/security.
PAIR, USER, SOURCE = 3, 6, 12


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def small(
    platform: Platform, tls: TlsPaths, aiohttp_server: AiohttpServer
) -> AsyncIterator[Served]:
    """A server whose throttle has small limits and a clock of the test's own."""
    throttle = AuthThrottle(
        clock=FakeClock(), per_source_user=PAIR, per_user=USER, per_source=SOURCE
    )
    provisioner = Provisioner(
        platform, DigestAuthenticator(secrets.token_bytes(32), REALM), throttle
    )
    app = make_app(platform, provisioner)
    server = await aiohttp_server(app, ssl=server_ssl_context(tls), host="127.0.0.1")
    assert isinstance(server, TestServer)
    yield Served(server, tls, platform)


class Clients:
    """One client session per loopback source address."""

    def __init__(self, served: Served) -> None:
        self._served = served
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def _session(self, source: str) -> aiohttp.ClientSession:
        if source not in self._sessions:
            ctx: ssl.SSLContext = self._served.client_ssl()
            connector = aiohttp.TCPConnector(ssl=ctx, local_addr=(source, 0))
            self._sessions[source] = aiohttp.ClientSession(connector=connector)
        return self._sessions[source]

    async def get(
        self, source: str, filename: str, user: str, password: str, ua: str = T46G_UA
    ) -> tuple[int, bytes, dict[str, str]]:
        """One phone fetch: the challenge, then the answer to it."""
        async with self._session(source).get(
            f"{self._served.base}/{filename}",
            headers={"User-Agent": ua},
            middlewares=(DigestAuthMiddleware(user, password),),
        ) as r:
            return r.status, await r.read(), dict(r.headers)

    async def close(self) -> None:
        for s in self._sessions.values():
            await s.close()


@pytest.fixture
async def clients(small: Served) -> AsyncIterator[Clients]:
    c = Clients(small)
    yield c
    await c.close()


async def _two_phones(p: Platform) -> dict[str, str]:
    out = {}
    for mac, model in ((T46G_MAC, "yealink-t46g"), (T48G_MAC, "yealink-t48g")):
        _, cred = await devices.add_device(p, TEST_ACTOR, mac, model)
        out[mac] = cred.password
    return out


async def _until_throttled(
    clients: Clients, source: str, user: str, filename: str = f"{T46G_MAC}.cfg"
) -> list[int]:
    statuses = []
    for _ in range(50):
        status, _, _ = await clients.get(source, filename, user, WRONG)
        statuses.append(status)
        if status != 401:
            break
    return statuses


async def test_a_failing_phone_does_not_lock_out_its_neighbours(
    served: Served, session: aiohttp.ClientSession
) -> None:
    """The probe's case, with the limits provd runs with: behind one NAT address, a
    factory-reset phone keeps retrying its sealed MAC with the bootstrap credential."""
    passwords = await _two_phones(served.platform)
    boot = tenants.bootstrap_credential(served.platform, await tenants.get_tenant("default"))

    async def get(filename: str, user: str, password: str, ua: str) -> int:
        async with session.get(
            f"{served.base}/{filename}",
            headers={"User-Agent": ua},
            middlewares=(DigestAuthMiddleware(user, password),),
        ) as r:
            await r.read()
            return r.status

    # Sealed by fetching with its own credentials, then reset to factory settings.
    assert await get(f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", passwords[T46G_MAC], T46G_UA) == 200
    statuses = [
        await get(f"{T46G_MAC}.cfg", boot.username, boot.password, T46G_UA) for _ in range(30)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    # Its unsealed neighbour still provisions with the same bootstrap credential,
    # from the same address, and the reset phone itself with its own credential.
    assert await get(f"{T48G_MAC}.cfg", boot.username, boot.password, T48G_UA) == 200
    assert await get(f"{T48G_MAC}.cfg", f"dev-{T48G_MAC}", passwords[T48G_MAC], T48G_UA) == 200
    assert await get(f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", passwords[T46G_MAC], T46G_UA) == 200
    # While the failing one is still told to wait.
    assert await get(f"{T46G_MAC}.cfg", boot.username, boot.password, T46G_UA) == 429


async def test_failures_for_a_user_from_an_address_throttle_that_pair(
    small: Served, clients: Clients
) -> None:
    passwords = await _two_phones(small.platform)
    statuses = await _until_throttled(clients, "127.0.0.2", f"dev-{T46G_MAC}")
    assert statuses == [401] * (PAIR - 1) + [429]
    status, body, headers = await clients.get(
        "127.0.0.2", f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", WRONG
    )
    assert status == 429 and int(headers["Retry-After"]) == 60
    assert "WWW-Authenticate" not in headers and passwords[T46G_MAC].encode() not in body
    # Other users from that address, and that user from other addresses, are not.
    assert (await clients.get("127.0.0.2", f"{T48G_MAC}.cfg", f"dev-{T48G_MAC}", WRONG))[0] == 401
    assert (await clients.get("127.0.0.3", f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", WRONG))[0] == 401
    # And the phone behind the same address with its own credentials gets its file.
    status, body, _ = await clients.get(
        "127.0.0.2", f"{T48G_MAC}.cfg", f"dev-{T48G_MAC}", passwords[T48G_MAC], T48G_UA
    )
    assert status == 200 and b"#!version" in body


async def test_right_credentials_pass_a_throttled_pair(small: Served, clients: Clients) -> None:
    passwords = await _two_phones(small.platform)
    assert (await _until_throttled(clients, "127.0.0.2", f"dev-{T46G_MAC}"))[-1] == 429
    status, body, _ = await clients.get(
        "127.0.0.2", f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", passwords[T46G_MAC]
    )
    assert status == 200 and passwords[T46G_MAC].encode() in body
    # One success lifts nothing: the next wrong guess is still throttled.
    assert (await clients.get("127.0.0.2", f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", WRONG))[0] == 429


async def test_failures_for_a_user_across_addresses_throttle_the_user(
    small: Served, clients: Clients
) -> None:
    passwords = await _two_phones(small.platform)
    known, unknown = f"dev-{T46G_MAC}", "dev-001565ffffff"
    seen: dict[str, list[tuple[int, list[str]]]] = {known: [], unknown: []}
    for user in (known, unknown):
        # Fewer failures per address than the pair limit, from USER + 1 addresses.
        for i in range(USER + 1):
            status, _, headers = await clients.get(
                f"127.0.1.{i + 1}", f"{T46G_MAC}.cfg", user, WRONG
            )
            seen[user].append((status, sorted(h for h in headers if h != "Date")))
    # An unknown user name is throttled exactly as a known one.
    assert seen[known] == seen[unknown]
    assert [s for s, _ in seen[known]] == [401] * (USER - 1) + [429, 429]
    # Other users are not throttled, and the right password still passes.
    assert (await clients.get("127.0.2.1", f"{T48G_MAC}.cfg", f"dev-{T48G_MAC}", WRONG))[0] == 401
    status, _, _ = await clients.get("127.0.2.1", f"{T46G_MAC}.cfg", known, passwords[T46G_MAC])
    assert status == 200


async def test_the_address_ceiling_stops_a_spray_of_user_names(
    small: Served, clients: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    passwords = await _two_phones(small.platform)
    caplog.set_level(logging.WARNING, "provd.provisioning")
    statuses = []
    for i in range(SOURCE + 5):
        status, _, _ = await clients.get(
            "127.0.0.2", f"{T46G_MAC}.cfg", f"dev-0015650{i:05x}", WRONG
        )
        statuses.append(status)
    assert statuses == [401] * (SOURCE - 1) + [429] * 6
    # One line per failure until the block, one for the block, then silence.
    failed = [r for r in caplog.records if "auth failed" in r.getMessage()]
    blocks = [r for r in caplog.records if "throttling by address" in r.getMessage()]
    assert len(failed) == SOURCE - 1 and len(blocks) == 1
    assert "127.0.0.2" in blocks[0].getMessage()
    # Another address is unaffected, and valid credentials from the spraying address
    # still fetch.
    assert (await clients.get("127.0.0.3", f"{T46G_MAC}.cfg", "dev-001565fffffe", WRONG))[0] == 401
    status, _, _ = await clients.get(
        "127.0.0.2", f"{T46G_MAC}.cfg", f"dev-{T46G_MAC}", passwords[T46G_MAC]
    )
    assert status == 200
