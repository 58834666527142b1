"""Numbers and carriers over the API: tenant admins see and assign their own tenant's
numbers only, blocks and carriers are the platform admin's, refusals write nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from provd.db.models import AuditEntry, Carrier, PhoneNumber
from provd.services import numbers
from provd.services.access import tokens
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served


@asynccontextmanager
async def _client(served: Served, token: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=served.base,
        connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
        headers={"Authorization": f"Bearer {token}"},
    ) as s:
        yield s


async def _world(platform: Platform) -> None:
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
        await users.add_user(platform, TEST_ACTOR, slug, "201", f"{slug} desk")
    await numbers.add_block(platform, TEST_ACTOR, "+31201234500", 10, "acme")
    await numbers.add_block(platform, TEST_ACTOR, "+31201234510", 10, "globex")


async def _snapshot() -> tuple[int, int, int]:
    assigned = await PhoneNumber.filter(assigned_user_id__isnull=False).count()
    return await AuditEntry.all().count(), await PhoneNumber.all().count(), assigned


async def test_a_tenant_admin_sees_and_assigns_only_their_numbers(
    served: Served, platform: Platform
) -> None:
    await _world(platform)
    token = await tokens.create_token(TEST_ACTOR, "tara", role="tenant-admin", tenant_slug="acme")
    async with _client(served, token) as api:
        async with api.get(f"{PREFIX}/numbers") as r:
            assert r.status == 200
            listed = await r.json()
        assert {n["tenant"] for n in listed} == {"acme"} and len(listed) == 10
        async with api.get(f"{PREFIX}/numbers?tenant=globex") as r:
            assert r.status == 404 and (await r.json())["error"]["field"] == "tenant"

        async with api.post(f"{PREFIX}/numbers/0201234503/assign", json={"user": "201"}) as r:
            assert r.status == 200, await r.text()
            view = await r.json()
        assert view["number"] == "+31201234503"
        assert view["use"] == {"kind": "user", "key": "201", "name": "acme desk"}
        assert view["status"] == "in use by user 201 (acme desk)"

        before = await _snapshot()
        # globex's number looks exactly like one that does not exist.
        for path in ("+31201234513", "+31201234599"):
            async with api.post(f"{PREFIX}/numbers/{path}/assign", json={"user": "201"}) as r:
                assert r.status == 404, path
                body = await r.json()
            assert body["error"]["field"] == "number" and "globex" not in str(body)
            async with api.post(f"{PREFIX}/numbers/{path}/release") as r:
                assert r.status == 404
        # Blocks and carriers are the platform's.
        async with api.post(f"{PREFIX}/number-blocks", json={"first": "+31201234600"}) as r:
            assert r.status == 403
        async with api.delete(f"{PREFIX}/number-blocks/+31201234500") as r:
            assert r.status == 403
        async with api.get(f"{PREFIX}/carriers") as r:
            assert r.status == 403
        assert await _snapshot() == before

        async with api.post(f"{PREFIX}/numbers/+31201234503/release") as r:
            assert r.status == 200 and (await r.json())["use"] is None
        async with api.get(f"{PREFIX}/numbers?unused=true") as r:
            assert len(await r.json()) == 10


async def test_admin_blocks_refused_with_the_field_and_nothing_written(
    served: Served, platform: Platform
) -> None:
    await _world(platform)
    token = await tokens.create_token(TEST_ACTOR, "ops")
    async with _client(served, token) as api:
        before = await _snapshot()
        cases = [
            ({"first": "+31201234505", "count": 10}, 400, "first"),
            ({"first": "+31201234600", "count": 50}, 400, "count"),
            ({"first": "+31201234600", "count": "10"}, 400, "count"),
            ({"first": "+31201234515", "tenant": "acme"}, 409, "first"),
            ({"first": "+31201234600", "tenant": "nobody"}, 404, "tenant"),
            ({"first": 31201234600}, 400, "first"),
            ({"first": "+31201234600", "colour": "red"}, 400, "colour"),
        ]
        for body, status, field in cases:
            async with api.post(f"{PREFIX}/number-blocks", json=body) as r:
                assert r.status == status, (body, await r.text())
                assert (await r.json())["error"]["field"] == field
        assert await _snapshot() == before
        async with api.post(f"{PREFIX}/number-blocks", json={"first": "0201234600"}) as r:
            assert r.status == 201
            assert await r.json() == {
                "tenant": "default",
                "first": "+31201234600",
                "last": "+31201234600",
                "count": 1,
            }
        async with api.get(f"{PREFIX}/numbers") as r:
            assert {n["tenant"] for n in await r.json()} == {"acme", "globex", "default"}


async def test_carriers_never_return_the_password(served: Served, platform: Platform) -> None:
    token = await tokens.create_token(TEST_ACTOR, "ops")
    body = {
        "name": "upstream",
        "host": "localhost",
        "transport": "tls",
        "username": "acct",
        "password": "Top-s3cret",
        "inbound_from": ["127.0.0.1", "::1"],
        "priority": 1,
    }
    async with _client(served, token) as api:
        async with api.post(f"{PREFIX}/carriers", json=body) as r:
            assert r.status == 201
            text = await r.text()
        assert "Top-s3cret" not in text
        async with api.get(f"{PREFIX}/carriers") as r:
            [listed] = await r.json()
        assert listed["port"] == 5061 and listed["registers"] is True
        assert listed["inbound_from"] == ["127.0.0.1/32", "::1/128"]
        assert "Top-s3cret" not in str(listed)
        for bad, field in (
            ({**body, "name": "other", "host": "bad host"}, "host"),
            ({**body, "name": "other", "inbound_from": ["10.1.2.3/8"]}, "inbound_from"),
            ({**body, "name": "other", "priority": 1001}, "priority"),
            ({**body, "name": "other", "transport": "sctp"}, "transport"),
        ):
            async with api.post(f"{PREFIX}/carriers", json=bad) as r:
                assert r.status == 400 and (await r.json())["error"]["field"] == field
        assert await Carrier.all().count() == 1
        async with api.delete(f"{PREFIX}/carriers/upstream") as r:
            assert r.status == 204
        async with api.delete(f"{PREFIX}/carriers/upstream") as r:
            assert r.status == 404
