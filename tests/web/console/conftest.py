"""Console pages over the real application on a TLS socket: tenants acme and globex,
each with users and a block of numbers; a platform admin alice and acme's tenant
admin tara, each signed in through the login form like a browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from provd.db.models import AuditEntry, Carrier, PhoneNumber, Tenant, User
from provd.services import numbers
from provd.services.access import accounts
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR, starting_from
from tests.web.conftest import Served

PASSWORD = "Corr3ct-horse"
ACME_BLOCK, GLOBEX_BLOCK = "+31201234500", "+31201234510"


@dataclass
class Console:
    """A signed-in browser session: ``get`` and ``post`` (with the CSRF token)."""

    session: aiohttp.ClientSession
    csrf: str

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(path, allow_redirects=False) as r:
            return r.status, await r.text()

    async def post(
        self, path: str, form: dict[str, str] | None = None, *, follow: bool = True
    ) -> tuple[int, str]:
        data = {"csrf_token": self.csrf, **(form or {})}
        async with self.session.post(path, data=data, allow_redirects=follow) as r:
            return r.status, await r.text()


SignIn = Callable[[str], Awaitable[Console]]


async def _world(platform: Platform) -> None:
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
    await users.add_user(platform, TEST_ACTOR, "acme", "201", "Front Desk")
    await users.add_user(platform, TEST_ACTOR, "acme", "202", "Back Office")
    await users.add_user(platform, TEST_ACTOR, "globex", "301", "Globex Reception")
    await numbers.add_block(platform, TEST_ACTOR, ACME_BLOCK, 10, "acme")
    await numbers.add_block(platform, TEST_ACTOR, GLOBEX_BLOCK, 10, "globex")
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD)
    await accounts.add_account(
        TEST_ACTOR, "tara", PASSWORD, role="tenant-admin", tenant_slug="acme"
    )


platform_start = starting_from(_world)  # every test here starts from the world


@pytest.fixture
def world(platform: Platform) -> None:
    """The platform with the world in it (platform_start)."""


@pytest.fixture
async def sign_in(served: Served, world: None) -> AsyncIterator[SignIn]:
    opened: list[aiohttp.ClientSession] = []

    async def open_as(username: str) -> Console:
        s = aiohttp.ClientSession(
            base_url=served.base,
            connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        opened.append(s)
        async with s.get("/login") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
        assert token
        form = {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
        async with s.post("/login", data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        async with s.get("/console/users") as r:
            meta = re.search(r'name="csrf-token" content="([^"]+)"', await r.text())
        assert meta
        return Console(s, meta.group(1))

    yield open_as
    for s in opened:
        await s.close()


@pytest.fixture
async def alice(sign_in: SignIn) -> Console:
    return await sign_in("alice")


@pytest.fixture
async def tara(sign_in: SignIn) -> Console:
    return await sign_in("tara")


async def snapshot() -> list[object]:
    """What a numbers or carriers form could change, and the audit log's length."""
    out: list[object] = [await AuditEntry.all().count()]
    for model in (PhoneNumber, Carrier, Tenant, User):
        out.append(await model.all().order_by("id").values())
    return out
