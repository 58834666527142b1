"""CSV import and export over the REST API: errors as JSON by row and column,
installers confined to their tenant, export → import round-trips."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Device
from provd.services import devices, tenants, tokens, users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

HEADER = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name"
Client = Callable[[str], AbstractAsyncContextManager[aiohttp.ClientSession]]


@pytest.fixture
async def people(platform: Platform) -> Platform:
    await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    for tenant in ("default", "acme"):
        for ext, name in (("201", "Anna"), ("202", "Bram")):
            await users.add_user(platform, TEST_ACTOR, tenant, ext, name)
    await devices.add_device(platform, TEST_ACTOR, "0015654aa937", "yealink-t46g", users=["201"])
    await devices.add_device(
        platform, TEST_ACTOR, "000413922d24", "snom-d785", tenant_slug="acme", users=["202"]
    )
    return platform


@pytest.fixture
async def client(served: Served, people: Platform) -> Client:
    """Sessions as the admin or as an installer of acme, by bearer token."""
    by_who = {
        "admin": await tokens.create_token(TEST_ACTOR, "admin"),
        "installer": await tokens.create_token(
            TEST_ACTOR, "ian", role="installer", tenant_slug="acme"
        ),
    }

    @asynccontextmanager
    async def open_as(who: str) -> AsyncIterator[aiohttp.ClientSession]:
        async with aiohttp.ClientSession(
            base_url=served.base,
            connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
            headers={"Authorization": f"Bearer {by_who[who]}"},
        ) as s:
            yield s

    return open_as


async def _post_csv(s: aiohttp.ClientSession, text: str, query: str = "") -> tuple[int, Any]:
    async with s.post(
        f"{PREFIX}/devices/import{query}",
        data=text.encode(),
        headers={"Content-Type": "text/csv"},
    ) as r:
        return r.status, await r.json()


async def test_export_is_csv_that_reimports_as_a_no_op(client: Client) -> None:
    async with client("admin") as s, s.get(f"{PREFIX}/devices/export") as r:
        assert r.status == 200
        assert r.content_type == "text/csv"
        assert r.headers["Content-Disposition"] == 'attachment; filename="devices-all.csv"'
        text = await r.text()
    assert text.splitlines() == [
        HEADER,
        "000413922d24,snom-d785,acme,202,,,,0,",
        "0015654aa937,yealink-t46g,default,201,,,,0,",
    ]
    audit_before = await AuditEntry.all().count()
    async with client("admin") as s:
        status, body = await _post_csv(s, text)
    assert status == 200
    assert (body["added"], body["updated"], body["unchanged"]) == (0, 0, 2)
    assert await AuditEntry.all().count() == audit_before


async def test_export_route_is_not_taken_for_a_mac(client: Client) -> None:
    # /devices/{mac} was registered first; "export" must still reach the CSV export.
    async with client("admin") as s:
        async with s.get(f"{PREFIX}/devices/export?tenant=acme") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert 'filename="devices-acme.csv"' in r.headers["Content-Disposition"]
        async with s.get(f"{PREFIX}/devices/0015654aa937") as r:
            assert r.status == 200 and (await r.json())["mac"] == "0015654aa937"


async def test_errors_are_json_by_row_and_column_and_nothing_is_written(client: Client) -> None:
    text = "\n".join(
        [
            HEADER,
            "0015654aa938,yealink-t46g,default,201,,,,,",
            "00:15:65,yealink-t46g,default,,,,,,",
            "0015654aa939,yealink-t46g,default,299,,,,,",
        ]
    )
    async with client("admin") as s:
        status, body = await _post_csv(s, text)
    assert status == 400
    assert body["error"] == {
        "row": 3,
        "field": "mac",
        "message": "'00:15:65' is not a MAC address: it must be 12 hexadecimal digits",
    }
    assert body["errors"] == [
        {"row": 3, "column": "mac", "message": body["error"]["message"]},
        {"row": 4, "column": "extension", "message": "user 299 not found in tenant default"},
    ]
    assert await Device.filter(mac="0015654aa938").count() == 0


async def test_dry_run_and_a_good_import(client: Client) -> None:
    text = f"{HEADER}\n0015654aa938,yealink-t46g,default,202,,,,,Hall\n"
    async with client("admin") as s:
        status, body = await _post_csv(s, text, "?dry_run=1")
        assert (status, body["added"], body["dry_run"]) == (200, 1, True)
        assert await Device.filter(mac="0015654aa938").count() == 0
        status, body = await _post_csv(s, text)
    assert (status, body["added"]) == (200, 1)
    assert body["changes"] == [{"row": 2, "mac": "0015654aa938", "action": "add"}]
    # A form upload (curl -F file=@devices.csv) works as well.
    form = aiohttp.FormData()
    form.add_field("file", text.encode(), filename="devices.csv", content_type="text/csv")
    async with client("admin") as s, s.post(f"{PREFIX}/devices/import", data=form) as r:
        assert r.status == 200 and (await r.json())["unchanged"] == 1
    assert (await devices.get_device("0015654aa938")).name == "Hall"


async def test_installers_import_and_export_their_own_tenant_only(client: Client) -> None:
    async with client("installer") as s:
        async with s.get(f"{PREFIX}/devices/export") as r:
            assert r.status == 200
            lines = (await r.text()).splitlines()
        assert lines == [HEADER, "000413922d24,snom-d785,acme,202,,,,0,"]
        for other in ("default", "nowhere"):
            async with s.get(f"{PREFIX}/devices/export?tenant={other}") as r:
                assert r.status == 404
                assert (await r.json())["error"]["field"] == "tenant"
        # A row naming another tenant, and a MAC another tenant holds.
        status, body = await _post_csv(
            s,
            f"{HEADER}\n0015654aa938,yealink-t46g,default,,,,,,\n"
            "0015654aa937,yealink-t46g,,201,,,,,\n",
        )
        assert status == 400
        assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "tenant"), (3, "mac")]
        assert "default" not in body["errors"][1]["message"]
        status, body = await _post_csv(s, f"{HEADER}\n0015654aa938,yealink-t46g,,201,,,,,\n")
        assert (status, body["added"]) == (200, 1)
        async with s.post(f"{PREFIX}/devices/import?tenant=default", data=b"mac,model\n") as r:
            assert r.status == 404
    added = await devices.device_view(await devices.get_device("0015654aa938"))
    assert added["tenant"] == "acme" and added["lines"][0]["extension"] == "201"
    entry = await AuditEntry.filter(object_key="0015654aa938").get()
    assert entry.actor == "api:ian"


async def test_the_routes_are_documented(client: Client) -> None:
    async with client("admin") as s, s.get(f"{PREFIX}/openapi.json") as r:
        doc = await r.json()
    post = doc["paths"][f"{PREFIX}/devices/import"]["post"]
    assert "text/csv" in post["requestBody"]["content"]
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CsvErrors"
    )
    assert "get" in doc["paths"][f"{PREFIX}/devices/export"]
