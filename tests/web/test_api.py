"""The REST API: bearer tokens, JSON errors naming the field, nothing written on bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Device, User
from provd.services.access import tokens
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

OPERATIONS = ("/healthz", "/readyz", "/metrics")
"""Documented with the API, outside its prefix."""


@pytest.fixture
async def api(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    token = await tokens.create_token(TEST_ACTOR, "tests")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        yield s


async def _json(r: aiohttp.ClientResponse) -> Any:
    return await r.json()


async def test_requests_without_a_valid_token_are_refused(served: Served) -> None:
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(base_url=served.base, connector=connector) as s:
        for headers in (
            {},
            {"Authorization": "Bearer provd_nope"},
            {"Authorization": "Basic eDp5"},
        ):
            async with s.get(f"{PREFIX}/devices", headers=headers) as r:
                assert r.status == 401
                assert (await r.json())["error"]["message"]
            async with s.post(
                f"{PREFIX}/users", json={"extension": "201", "name": "X"}, headers=headers
            ) as r:
                assert r.status == 401
    assert await User.all().count() == 0


async def test_expired_token_is_refused(served: Served) -> None:
    token = await tokens.create_token(TEST_ACTOR, "old", days=1)
    row = await tokens.authenticate(token)
    assert row is not None
    row.expires_at = row.created_at
    await row.save()
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(base_url=served.base, connector=connector) as s,
        s.get(f"{PREFIX}/devices", headers=headers) as r,
    ):
        assert r.status == 401


async def test_user_and_device_round_trip(api: aiohttp.ClientSession) -> None:
    async with api.post(f"{PREFIX}/users", json={"extension": "201", "name": "Front Desk"}) as r:
        assert r.status == 201
        user = await r.json()
    assert user["sip_username"] == "201" and len(user["sip_password"]) >= 16
    async with api.post(
        f"{PREFIX}/devices",
        json={"mac": "00:15:65:4A:A9:37", "model": "yealink-t46g", "users": ["201"]},
    ) as r:
        assert r.status == 201
        device = await r.json()
        device_request_id = r.headers["X-Request-Id"]
    assert device["mac"] == "0015654aa937"
    assert device["provisioning"]["username"] == "dev-0015654aa937"

    async with api.get(f"{PREFIX}/devices/0015654AA937") as r:
        shown = await r.json()
    assert shown["lines"] == [{"slot": 1, "extension": "201", "name": "Front Desk"}]
    assert "provisioning" not in shown and "password" not in str(shown)

    async with api.get(f"{PREFIX}/audit") as r:
        rows = await r.json()
    assert [row["action"] for row in rows[:2]] == ["device.add", "user.add"]
    assert rows[0]["actor"] == "api:tests"
    assert rows[0]["request_id"] == device_request_id
    assert device["provisioning"]["password"] not in str(rows)

    async with api.delete(f"{PREFIX}/users/default/201") as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "extension"
    async with api.delete(f"{PREFIX}/devices/0015654aa937") as r:
        assert r.status == 204
    async with api.delete(f"{PREFIX}/users/default/201") as r:
        assert r.status == 204


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/devices", {"mac": "00:15:65", "model": "yealink-t46g"}, 400, "mac"),
        ("/devices", {"mac": "0015654aa937", "model": "nokia-3310"}, 400, "model"),
        (
            "/devices",
            {"mac": "0015654aa937", "model": "yealink-t46g", "users": ["999"]},
            404,
            "user",
        ),
        (
            "/devices",
            {"mac": "0015654aa937", "model": "yealink-t46g", "users": "201"},
            400,
            "users",
        ),
        (
            "/devices",
            {"mac": "0015654aa937", "model": "yealink-t46g", "password": "short"},
            400,
            "password",
        ),
        ("/devices", {"mac": "0015654aa937"}, 400, "model"),
        (
            "/devices",
            {"mac": "0015654aa937", "model": "yealink-t46g", "colour": "red"},
            400,
            "colour",
        ),
        ("/devices", {"mac": 15, "model": "yealink-t46g"}, 400, "mac"),
        ("/users", {"extension": "2", "name": "X"}, 400, "extension"),
        ("/users", {"extension": "202", "name": "X\r\nY"}, 400, "name"),
        ("/users", {"extension": "202", "name": "X", "tenant": "ghost"}, 404, "tenant"),
        ("/tenants", {"slug": "-bad-"}, 400, "tenant"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    api: aiohttp.ClientSession, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    audit_before = await AuditEntry.all().count()
    async with api.post(PREFIX + path, json=body) as r:
        assert r.status == status, await r.text()
        error = (await r.json())["error"]
    assert error["field"] == field
    assert error["message"]
    assert await Device.all().count() == 0
    assert await AuditEntry.all().count() == audit_before


async def test_malformed_json_body(api: aiohttp.ClientSession) -> None:
    async with api.post(f"{PREFIX}/users", data=b"{not json") as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "body"
    async with api.post(f"{PREFIX}/users", json=["a"]) as r:
        assert r.status == 400


async def test_duplicate_mac_is_409_without_naming_the_owner(api: aiohttp.ClientSession) -> None:
    async with api.post(f"{PREFIX}/tenants", json={"slug": "acme"}) as r:
        assert r.status == 201
        assert (await r.json())["bootstrap_password"]
    async with api.post(
        f"{PREFIX}/devices", json={"mac": "0015654aa937", "model": "yealink-t46g", "tenant": "acme"}
    ) as r:
        assert r.status == 201
    async with api.post(
        f"{PREFIX}/devices", json={"mac": "0015654aa937", "model": "snom-d785"}
    ) as r:
        assert r.status == 409
        error = (await r.json())["error"]
    assert error["field"] == "mac" and "acme" not in error["message"]


async def test_openapi_documents_every_route(served: Served, api: aiohttp.ClientSession) -> None:
    async with api.get(f"{PREFIX}/openapi.json") as r:
        doc = await r.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    app = served.server.app
    assert app is not None
    routes = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None
        and (route.resource.canonical.startswith(PREFIX) or route.resource.canonical in OPERATIONS)
        and route.method != "HEAD"
        and not route.resource.canonical.endswith("openapi.json")
    }
    assert routes == documented
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for ref in _refs(op):
                assert ref.split("/")[-1] in doc["components"]["schemas"], (path, ref)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if "$ref" in node else []
        for v in node.values():
            out += _refs(v)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
