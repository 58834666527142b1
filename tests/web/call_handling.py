"""What the call-handling API tests share: two tenants, a platform admin's client and a
tenant admin's (acme's), and a check that a refused request named its field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from provd.services.access import tokens
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served


@dataclass
class Clients:
    admin: aiohttp.ClientSession
    acme: aiohttp.ClientSession
    """A tenant admin of acme."""


@asynccontextmanager
async def clients(served: Served, platform: Platform) -> AsyncIterator[Clients]:
    """Tenants acme and globex with users 201 and 202 each, and the two clients."""
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
        await users.add_user(platform, TEST_ACTOR, slug, "201", f"{slug} desk")
        await users.add_user(platform, TEST_ACTOR, slug, "202", f"{slug} back")
    admin = await tokens.create_token(TEST_ACTOR, "ops")
    tara = await tokens.create_token(TEST_ACTOR, "tara", role="tenant-admin", tenant_slug="acme")
    sessions = [
        aiohttp.ClientSession(
            base_url=served.base,
            connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
            headers={"Authorization": f"Bearer {token}"},
        )
        for token in (admin, tara)
    ]
    try:
        yield Clients(*sessions)
    finally:
        for s in sessions:
            await s.close()


async def call(api: aiohttp.ClientSession, method: str, path: str, status: int, **kw: Any) -> Any:
    """The answer's JSON (None for 204), after checking its status."""
    async with api.request(method, PREFIX + path, **kw) as r:
        assert r.status == status, (method, path, r.status, await r.text())
        return None if r.status == 204 else await r.json()


async def refused(
    api: aiohttp.ClientSession, method: str, path: str, status: int, field: str, **kw: Any
) -> str:
    """The request is refused with ``status``, naming ``field``; returns the message."""
    body = await call(api, method, path, status, **kw)
    assert body["error"].get("field") == field, (method, path, body)
    return str(body["error"]["message"])
