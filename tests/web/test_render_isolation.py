"""A device whose stored settings cannot be rendered (here a key target with a control
character, written around the validation as data from before it would be) gets a logged
500 for its own files; every other device keeps fetching, and the console shows the error
on that device's page instead of failing the page."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware

from provd.db.models import Device, KeySetting
from provd.domain.keys import Level
from provd.services import devices
from provd.services.access import accounts
from provd.services.directory import users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

BAD, GOOD = "001565aabb01", "001565aabb02"
SNOM_BAD = "000413922d24"
PASSWORD = "Corr3ct-horse"
BAD_TARGET = "https://intranet.example.net/\x01"


async def _fleet(p: Platform) -> dict[str, str]:
    await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
    passwords = {}
    for mac, model in ((BAD, "yealink-t46g"), (GOOD, "yealink-t46g"), (SNOM_BAD, "snom-d785")):
        _, cred = await devices.add_device(p, TEST_ACTOR, mac, model, users=["201"])
        passwords[mac] = cred.password
    for mac in (BAD, SNOM_BAD):
        device = await Device.get(mac=mac)
        await KeySetting.create(
            owner=f"device:{device.id}",
            level=int(Level.DEVICE),
            device=device,
            model=device.model,
            location="line:5",
            function="url",
            target=BAD_TARGET,
        )
    return passwords


async def _fetch(
    session: aiohttp.ClientSession, served: Served, mac: str, filename: str, password: str
) -> int:
    auth = DigestAuthMiddleware(f"dev-{mac}", password)
    async with session.get(f"{served.base}/{filename}", middlewares=(auth,)) as r:
        await r.read()
        return r.status


async def test_one_unrenderable_device_costs_only_its_own_files(
    served: Served, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    passwords = await _fleet(served.platform)
    caplog.set_level(logging.ERROR, logger="provd.provisioning")

    assert await _fetch(session, served, BAD, f"{BAD}.cfg", passwords[BAD]) == 500
    snom_file = f"{SNOM_BAD.upper()}.xml"
    assert await _fetch(session, served, SNOM_BAD, snom_file, passwords[SNOM_BAD]) == 500
    for mac in (BAD, SNOM_BAD):
        logged = [
            r for r in caplog.records if r.name == "provd.provisioning" and mac in r.getMessage()
        ]
        assert logged and logged[0].levelno == logging.ERROR, mac
        # A failed fetch is not the device's first: it stays unsealed.
        assert (await Device.get(mac=mac)).sealed_at is None
    # Its other files, and every other device, are served as ever.
    assert await _fetch(session, served, BAD, f"{BAD}.boot", passwords[BAD]) == 200
    assert await _fetch(session, served, GOOD, f"{GOOD}.cfg", passwords[GOOD]) == 200


@pytest.fixture
async def console(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD)
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, cookie_jar=jar
    ) as s:
        async with s.get("/login") as r:
            match = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
        assert match
        form = {"csrf_token": match.group(1), "username": "alice", "password": PASSWORD}
        async with s.post("/login", data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        yield s


async def test_console_device_page_shows_the_render_error(
    served: Served, console: aiohttp.ClientSession
) -> None:
    await _fleet(served.platform)
    for mac in (BAD, SNOM_BAD):
        async with console.get(f"/console/devices/{mac}") as r:
            assert r.status == 200
            page = await r.text()
        assert 'id="render-error"' in page
        assert f"the configuration of {mac} cannot be rendered" in page
    async with console.get(f"/console/devices/{GOOD}") as r:
        assert r.status == 200
        page = await r.text()
    assert 'id="render-error"' not in page
    assert "static.auto_provision.server.password = ********" in page
