"""A control character in any value that reaches a configuration is refused at the API
(400 naming the field) and at the CLI (exit 1 naming it), and nothing is written: it would
otherwise make every configuration in the value's scope unrenderable."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Device, KeySetting, PageLabel, Tenant, User
from provd.services import devices
from provd.services.access import accounts, tokens
from provd.services.directory import users
from provd.services.provisioning import rendering
from provd.web.api import PREFIX
from tests.cli.runner import run
from tests.conftest import TEST_ACTOR, InitDataDir
from tests.web.conftest import Served

MAC = "0015654aa937"
TENANT = {"tenant": "default", "model": "yealink-t46g"}


@pytest.fixture
async def api(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    p = served.platform
    await users.add_user(p, TEST_ACTOR, "default", "201", "Anna")
    await devices.add_device(p, TEST_ACTOR, MAC, "yealink-t46g", users=["201"])
    token = await tokens.create_token(TEST_ACTOR, "control-characters")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        yield s


async def _snapshot() -> tuple[int, ...]:
    return (
        await KeySetting.all().count(),
        await PageLabel.all().count(),
        await Device.all().count(),
        await User.all().count(),
        await Tenant.all().count(),
        await AuditEntry.all().count(),
    )


@pytest.mark.parametrize("control", ["\x01", "\x1b", "\x7f", "\x85", "\x9f"])
async def test_url_key_target_with_a_control_character_is_refused(
    served: Served, api: aiohttp.ClientSession, control: str
) -> None:
    before = await _snapshot()
    body = {"key": "line:5", "function": "url", "target": f"https://intranet.example/a{control}b"}
    async with api.post(f"{PREFIX}/layouts/keys", params=TENANT, json=body) as r:
        assert r.status == 400
        error = (await r.json())["error"]
    assert error["field"] == "key line:5"
    assert error["message"].startswith("the target must not contain control characters")
    assert await _snapshot() == before
    # The tenant's phones are still served.
    device = await devices.get_device(MAC)
    assert await rendering.render_all(served.platform, device)


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field", "row"),
    [
        (
            "put",
            "/layouts",
            {"tenant": "default", "model": "yealink-t46g"},
            {
                "keys": [
                    {"key": "line:4", "function": "dnd"},
                    {"key": "line:5", "function": "url", "target": "https://x.example/\x01"},
                ]
            },
            "key line:5",
            2,
        ),
        (
            "put",
            "/layouts",
            {"tenant": "default", "model": "yealink-t46g"},
            {"keys": [{"key": "line:4", "function": "dnd", "label": "DND\x1b[1m"}]},
            "key line:4",
            1,
        ),
        (
            "post",
            "/layouts/pages",
            TENANT,
            {"module": 1, "page": 2, "description": "Sal\x85es"},
            "page exp:1 page 2",
            None,
        ),
        ("post", "/users", {}, {"extension": "209", "name": "Eve\x07"}, "name", None),
        (
            "post",
            "/devices",
            {},
            {"mac": "0015654aa938", "model": "yealink-t46g", "name": "Desk\x01"},
            "name",
            None,
        ),
        (
            "patch",
            "/tenants/default",
            {},
            {"sip_proxy": "edge.example\x01:5060"},
            "sip_proxy",
            None,
        ),
        ("post", "/tenants", {}, {"slug": "acme", "name": "Acme\x00"}, "name", None),
    ],
)
async def test_control_characters_are_refused_everywhere_naming_the_field(
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any],
    field: str,
    row: int | None,
) -> None:
    before = await _snapshot()
    async with api.request(method, PREFIX + path, params=params, json=body) as r:
        assert r.status == 400, await r.text()
        error = (await r.json())["error"]
    assert error["field"] == field
    assert error.get("row") == row
    assert "control character" in error["message"] or "is not a host" in error["message"]
    assert await _snapshot() == before


def test_cli_refuses_a_control_character_in_a_key_target(
    tmp_path: Path, init_data_dir: InitDataDir
) -> None:
    data = tmp_path / "data"
    init_data_dir(data)
    t = ["--model", "yealink-t46g", "--tenant", "default", "--key", "line:5"]
    result = run(data, "keys", "set", *t, "--function", "url", "--target", "https://x.example/\x01")
    assert result.exit_code == 1
    assert "key line:5: the target must not contain control characters" in result.output
    assert "(no keys set at this level)" in run(data, "keys", "show", *t[:4]).output


async def test_console_layout_form_shows_the_error_on_the_key(served: Served) -> None:
    password = "Corr3ct-horse"
    await accounts.add_account(TEST_ACTOR, "alice", password)
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, cookie_jar=jar
    ) as s:
        async with s.get("/login") as r:
            login = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
        assert login
        form = {"csrf_token": login.group(1), "username": "alice", "password": password}
        async with s.post("/login", data=form, allow_redirects=False) as r:
            assert r.status == 303
        async with s.get("/console/layouts/tenant/default") as r:
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', await r.text())
        assert csrf
        before = await _snapshot()
        key = {
            "csrf_token": csrf.group(1),
            "action": "save",
            "model": "yealink-t46g",
            "key": "line:5",
            "function": "url",
            "target": "https://intranet.example/a\x01b",
        }
        async with s.post("/console/layouts/tenant/default", data=key) as r:
            assert r.status == 200
            page = html.unescape(await r.text())
    assert "the target must not contain control characters" in page
    assert await _snapshot() == before
