"""Tenants' numbering and users' caller ID over the API: set with PATCH, shown in every
view, refused naming the field with nothing written, and the platform admin's only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Tenant, User
from provd.services import numbers
from provd.services.access import tokens
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.services.call_handling_state import written
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


@asynccontextmanager
async def _client(served: Served, token: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=served.base,
        connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
        headers={"Authorization": f"Bearer {token}"},
    ) as s:
        yield s


@pytest.fixture
async def api(served: Served, platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
        await users.add_user(platform, TEST_ACTOR, slug, "201", f"{slug} desk")
    await numbers.add_block(platform, TEST_ACTOR, "+31201234500", 10, "acme")
    await numbers.add_block(platform, TEST_ACTOR, "+31201234510", 10, "globex")
    async with _client(served, await tokens.create_token(TEST_ACTOR, "ops")) as s:
        yield s


async def _snapshot() -> tuple[int, list[tuple[str, str, str, str | None]], list[bool]]:
    tenant_rows = await Tenant.all().order_by("slug")
    hidden = await User.all().order_by("id").values_list("hide_caller_id", flat=True)
    return (
        await AuditEntry.all().count(),
        [(t.slug, t.country, t.number_display, t.main_number) for t in tenant_rows],
        [bool(h) for h in hidden],
    )


async def _acme(api: aiohttp.ClientSession) -> dict[str, Any]:
    async with api.get(f"{PREFIX}/tenants") as r:
        assert r.status == 200
        return next(t for t in await r.json() if t["slug"] == "acme")


async def test_tenant_numbering_is_set_shown_and_cleared(api: aiohttp.ClientSession) -> None:
    shown = await _acme(api)
    assert (shown["country"], shown["number_display"], shown["main_number"]) == (
        "NL",
        "national",
        None,
    )
    change = {"country": "nl", "number_display": "e164", "main_number": "020 123 45 07"}
    async with api.patch(f"{PREFIX}/tenants/acme", json=change) as r:
        assert r.status == 200, await r.text()
        view = await r.json()
    assert (view["country"], view["number_display"], view["main_number"]) == (
        "NL",
        "e164",
        "+31201234507",
    )
    assert await _acme(api) == view
    async with api.get(f"{PREFIX}/audit?limit=1") as r:
        [row] = await r.json()
    assert row["action"] == "tenant.set" and row["object_key"] == "acme"

    # The main number's block stays while it is the main number.
    async with api.delete(f"{PREFIX}/number-blocks/+31201234500") as r:
        assert r.status == 400
        error = (await r.json())["error"]
    assert error["field"] == "first" and "+31201234507" in error["message"]
    assert "main number" in error["message"]

    async with api.patch(f"{PREFIX}/tenants/acme", json={"main_number": "none"}) as r:
        assert r.status == 200 and (await r.json())["main_number"] is None
    async with api.delete(f"{PREFIX}/number-blocks/+31201234500") as r:
        assert r.status == 204


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"country": "XX"}, 400, "country"),
        ({"country": 31}, 400, "country"),
        ({"number_display": "international"}, 400, "number_display"),
        ({"main_number": "not a number"}, 400, "main_number"),
        ({"main_number": 201234501}, 400, "main_number"),
        ({"main_number": "+31201234599"}, 400, "main_number"),  # nobody's
        ({"main_number": "+31201234511"}, 400, "main_number"),  # globex's
        ({"number_display": "e164", "main_number": "0201234599"}, 400, "main_number"),
        ({"main_number": "0201234501", "colour": "red"}, 400, "colour"),
        ({}, 400, "settings"),
    ],
)
async def test_bad_tenant_numbering_names_the_field_and_writes_nothing(
    api: aiohttp.ClientSession, body: dict[str, Any], status: int, field: str
) -> None:
    before = await _snapshot()
    async with api.patch(f"{PREFIX}/tenants/acme", json=body) as r:
        assert r.status == status, await r.text()
        error = (await r.json())["error"]
    assert error["field"] == field and error["message"]
    assert "globex" not in error["message"]
    assert await _snapshot() == before


async def test_user_caller_id_is_hidden_and_shown(api: aiohttp.ClientSession) -> None:
    user = f"{PREFIX}/users/acme/201"
    async with api.get(user) as r:
        assert (await r.json())["hide_caller_id"] is False
    async with api.patch(user, json={"hide_caller_id": True}) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["hide_caller_id"] is True
    async with api.get(user) as r:
        assert (await r.json())["hide_caller_id"] is True
    async with api.get(f"{PREFIX}/users", params={"tenant": "acme"}) as r:
        assert [u["hide_caller_id"] for u in await r.json()] == [True]
    # globex's user 201 is another user.
    async with api.get(f"{PREFIX}/users/globex/201") as r:
        assert (await r.json())["hide_caller_id"] is False
    async with api.get(f"{PREFIX}/audit?limit=1") as r:
        [row] = await r.json()
    assert row["action"] == "user.set" and row["object_key"] == "acme/201"
    assert (row["before"]["hide_caller_id"], row["after"]["hide_caller_id"]) == (False, True)

    async with api.patch(user, json={"hide_caller_id": False, "name": "Reception"}) as r:
        view = await r.json()
    assert (view["hide_caller_id"], view["name"]) == (False, "Reception")


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/users/acme/201", {"hide_caller_id": "yes"}, 400, "hide_caller_id"),
        ("/users/acme/201", {"hide_caller_id": 1}, 400, "hide_caller_id"),
        ("/users/acme/201", {"hide_caller_id": True, "colour": "red"}, 400, "colour"),
        ("/users/acme/201", {"hide_caller_id": True, "extension": "2"}, 400, "extension"),
        ("/users/acme/201", {}, 400, "settings"),
        ("/users/acme/299", {"hide_caller_id": True}, 404, "extension"),
        ("/users/nobody/201", {"hide_caller_id": True}, 404, "tenant"),
    ],
)
async def test_bad_user_changes_name_the_field_and_write_nothing(
    api: aiohttp.ClientSession, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    before = await _snapshot()
    async with api.patch(PREFIX + path, json=body) as r:
        assert r.status == status, await r.text()
        assert (await r.json())["error"]["field"] == field
    assert await _snapshot() == before


async def test_tenant_admins_may_not_change_them(
    api: aiohttp.ClientSession, served: Served
) -> None:
    token = await tokens.create_token(TEST_ACTOR, "tara", role="tenant-admin", tenant_slug="acme")
    before = await _snapshot()
    async with _client(served, token) as tara:
        async with tara.patch(f"{PREFIX}/tenants/acme", json={"main_number": "0201234501"}) as r:
            assert r.status == 403
        async with tara.patch(f"{PREFIX}/users/acme/201", json={"hide_caller_id": True}) as r:
            assert r.status == 403
    assert await _snapshot() == before


async def test_forwarding_and_dnd_by_a_tenant_admin_of_their_users_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        path = "/users/acme/201/forwarding"
        view = await call(
            c.acme, "PATCH", path, 200,
            json={"busy": "user:202", "no_answer": "external:0612345678",
                  "no_answer_seconds": 30},
        )  # fmt: skip
        assert view["busy"] == {"kind": "user", "key": "202", "name": "acme back",
                                "text": "user:202"}  # fmt: skip
        assert (view["no_answer"]["key"], view["no_answer_seconds"]) == ("+31612345678", 30)
        assert await call(c.acme, "GET", path, 200) == view
        dnd = await call(c.acme, "PUT", "/users/acme/201/dnd", 200, json={"dnd": True})
        assert dnd == view | {"dnd": True}
        cleared = await call(c.acme, "PATCH", path, 200, json={"clear": ["busy", "no-answer"]})
        assert (cleared["busy"], cleared["no_answer"], cleared["dnd"]) == (None, None, True)

        before = await written()
        await refused(c.acme, "GET", "/users/globex/201/forwarding", 404, "tenant")
        await refused(c.acme, "PATCH", "/users/globex/201/forwarding", 404, "tenant",
                      json={"busy": "none"})  # fmt: skip
        await refused(c.acme, "PUT", "/users/globex/201/dnd", 404, "tenant", json={"dnd": True})
        for body, status, field in [
            ({"always": "user:201"}, 400, "always"),
            ({"busy": "user:299"}, 404, "busy"),
            ({"unreachable": "external:112"}, 400, "unreachable"),
            ({"no_answer_seconds": 200}, 400, "no_answer_seconds"),
            ({"clear": "all"}, 400, "clear"),
            ({"clear": ["often"]}, 400, "clear"),
            ({}, 400, "settings"),
        ]:
            await refused(c.acme, "PATCH", path, status, field, json=body)
        await refused(c.acme, "PUT", "/users/acme/201/dnd", 400, "dnd", json={"dnd": "on"})
        await refused(c.acme, "PUT", "/users/acme/299/dnd", 404, "extension", json={"dnd": True})
        assert await written() == before
