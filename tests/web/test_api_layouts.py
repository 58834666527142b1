"""Layouts, tenant defaults and device settings over the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from provd.db.models import KeySetting
from provd.services import devices
from provd.services.access import tokens
from provd.services.directory import users
from provd.services.provisioning import rendering
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

MAC = "0015654aa937"


@pytest.fixture
async def api(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    p = served.platform
    for ext, name in (("201", "Anna"), ("202", "Bram")):
        await users.add_user(p, TEST_ACTOR, "default", ext, name)
    await devices.add_device(p, TEST_ACTOR, MAC, "yealink-t46g", users=["201"])
    token = await tokens.create_token(TEST_ACTOR, "layouts")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        yield s


async def test_set_keys_modules_vlan_and_see_them_in_the_config(
    served: Served, api: aiohttp.ClientSession
) -> None:
    async with api.patch(
        f"{PREFIX}/devices/{MAC}", json={"expansion_modules": 2, "vlan_lan": "300:6"}
    ) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["expansion_modules"] == 2
    tenant = {"tenant": "default", "model": "yealink-t46g"}
    body = {"key": "exp:2:21", "function": "blf", "target": "202", "label": "Bram"}
    async with api.post(f"{PREFIX}/layouts/keys", params=tenant, json=body) as r:
        assert r.status == 200, await r.text()
    async with api.post(
        f"{PREFIX}/layouts/pages",
        params=tenant,
        json={"module": 2, "page": 2, "description": "Team"},
    ) as r:
        assert r.status == 200
    async with api.patch(
        f"{PREFIX}/tenants/default", json={"sip_proxy": "edge.example.net:5080"}
    ) as r:
        assert r.status == 200 and (await r.json())["sip_proxy"] == "edge.example.net:5080"

    async with api.get(f"{PREFIX}/layouts", params={"device": MAC}) as r:
        layout = await r.json()
    assert layout["effective"] == [
        {
            "key": "exp:2:21",
            "function": "blf",
            "target": "202",
            "label": "Bram",
            "locked": False,
            "from": "tenant",
        }
    ]
    device = await devices.get_device(MAC)
    cfg = (await rendering.render_file(served.platform, device, f"{MAC}.cfg")).decode()
    assert "expansion_module.2.key.21.value = 202\n" in cfg
    assert "static.network.vlan.internet_port_vid = 300\n" in cfg
    assert "account.1.outbound_proxy.1.address = edge.example.net\n" in cfg


async def test_put_layout_is_all_or_nothing_with_the_row(api: aiohttp.ClientSession) -> None:
    scope = {"user": "201", "model": "yealink-t46g"}
    good = {"keys": [{"key": "line:3", "function": "blf", "target": "202"}]}
    async with api.put(f"{PREFIX}/layouts", params=scope, json=good) as r:
        assert r.status == 200
        assert (await r.json())["keys"] == [{**good["keys"][0], "label": "", "locked": False}]
    before = await KeySetting.all().count()
    bad = {"keys": [{"key": "line:4", "function": "dnd"}, {"key": "exp:9:1", "function": "dnd"}]}
    async with api.put(f"{PREFIX}/layouts", params=scope, json=bad) as r:
        assert r.status == 400
        error = (await r.json())["error"]
    assert error["field"] == "key exp:9:1" and error["row"] == 2
    assert await KeySetting.all().count() == before


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field"),
    [
        (
            "post",
            "/layouts/keys",
            {"model": "yealink-t46g"},
            {"key": "line:1", "function": "dnd"},
            "scope",
        ),
        (
            "post",
            "/layouts/keys",
            {"tenant": "default", "model": "yealink-t46g"},
            {"key": "line:99", "function": "dnd"},
            "key line:99",
        ),
        (
            "post",
            "/layouts/keys",
            {"tenant": "default", "model": "yealink-t46g"},
            {"key": "line:2", "function": "blf", "target": "777"},
            "key line:2",
        ),
        (
            "post",
            "/layouts/keys",
            {"tenant": "default", "model": "yealink-t46g"},
            {"key": "line:2", "function": "dnd", "locked": "yes"},
            "locked",
        ),
        ("patch", "/tenants/default", {}, {"vlan_pc": "5000"}, "vlan_pc"),
        ("patch", "/tenants/default", {}, {"colour": "red"}, "colour"),
        ("patch", f"/devices/{MAC}", {}, {"expansion_modules": 9}, "expansion_modules"),
        ("patch", f"/devices/{MAC}", {}, {"expansion_modules": "2"}, "expansion_modules"),
    ],
)
async def test_bad_layout_input_is_400_naming_the_field(
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, object],
    field: str,
) -> None:
    async with api.request(method.upper(), PREFIX + path, params=params, json=body) as r:
        assert r.status == 400, await r.text()
        assert (await r.json())["error"]["field"] == field
    assert await KeySetting.all().count() == 0
