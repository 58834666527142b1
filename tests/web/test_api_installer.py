"""The installer's REST routes over real TLS: tenant scoping, refusals that say what to do
and leak nothing, label photos decoded."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Device
from provd.services.access import accounts, tokens
from provd.services.directory import tenants, users
from provd.services.installer import labels
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.browser.labels import jpeg_bytes, label_image
from tests.conftest import TEST_ACTOR
from tests.pictures import uniform_png
from tests.web.conftest import Served

YEALINK, SNOM, OTHER_YEALINK = "001565a1b2c3", "000413a1b2c3", "44dbd26fb9ef"


async def _client(served: Served, token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=served.base,
        connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def admin(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    async with await _client(served, await tokens.create_token(TEST_ACTOR, "root")) as s:
        yield s


@pytest.fixture
async def installer(served: Served, platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    """An installer token of tenant acme (users 201, 202); tenant globex has user 201."""
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
    await users.add_user(platform, TEST_ACTOR, "acme", "201", "Front Desk")
    await users.add_user(platform, TEST_ACTOR, "acme", "202", "Back Office")
    await users.add_user(platform, TEST_ACTOR, "globex", "201", "Globex Reception")
    token = await tokens.create_token(TEST_ACTOR, "ivan", role="installer", tenant_slug="acme")
    async with await _client(served, token) as s:
        yield s


async def _call(s: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with s.request(method, PREFIX + path, **kw) as r:
        return r.status, await r.json()


async def test_installer_claims_for_a_user_of_its_tenant(
    installer: aiohttp.ClientSession,
) -> None:
    status, body = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": "00-15-65-A1-B2-C3", "model": "yealink-t46g", "extension": "201"},
    )
    assert status == 201, body
    assert body["mac"] == YEALINK and body["tenant"] == "acme"
    assert body["user"] == {"extension": "201", "name": "Front Desk"}
    assert body["status"]["state"] == "waiting"
    assert "password" not in json.dumps(body)
    audit = await AuditEntry.filter(action="device.add").get()
    assert audit.actor == "api:ivan"

    status, spare = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": OTHER_YEALINK, "model": "yealink-t54w", "extension": None},
    )
    assert status == 201 and spare["user"] is None

    status, found = await _call(
        installer, "GET", f"/claims/status?mac={YEALINK}&mac={OTHER_YEALINK}"
    )
    assert status == 200
    assert [(s["mac"], s["state"]) for s in found] == [
        (YEALINK, "waiting"),
        (OTHER_YEALINK, "waiting"),
    ]
    assert "DHCP option 66" in found[0]["hint"]


async def test_installer_sees_and_touches_only_its_tenant(
    installer: aiohttp.ClientSession, admin: aiohttp.ClientSession
) -> None:
    status, found = await _call(installer, "GET", "/installer/users")
    assert status == 200
    assert [(u["extension"], u["name"]) for u in found] == [
        ("201", "Front Desk"),
        ("202", "Back Office"),
    ]
    status, body = await _call(installer, "GET", "/installer/users?tenant=globex")
    assert status == 400 and body["error"]["field"] == "tenant"
    status, body = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": YEALINK, "model": "yealink-t46g", "extension": "201", "tenant": "globex"},
    )
    assert status == 400 and body["error"]["field"] == "tenant"
    assert await Device.all().count() == 0

    # A phone of globex: claimed by the admin; invisible and unclaimable for acme's installer.
    status, _ = await _call(
        admin,
        "POST",
        "/claims",
        json={"mac": YEALINK, "model": "yealink-t46g", "extension": "201", "tenant": "globex"},
    )
    assert status == 201
    status, [seen] = await _call(installer, "GET", f"/claims/status?mac={YEALINK}")
    assert status == 200 and seen["state"] == "unclaimed" and seen["model"] is None
    status, body = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": YEALINK, "model": "yealink-t46g", "extension": "202"},
    )
    assert status == 409
    assert body["error"] == {
        "field": "mac",
        "message": "this phone is already registered on another account: "
        "ask your provd administrator to release it",
    }
    assert "globex" not in json.dumps(body).lower()


async def test_admin_routes_and_secrets_are_closed_to_installers(
    installer: aiohttp.ClientSession, admin: aiohttp.ClientSession
) -> None:
    status, _ = await _call(
        installer, "POST", "/claims", json={"mac": YEALINK, "model": "yealink-t46g"}
    )
    assert status == 201
    for method, path in (
        ("GET", "/devices"),
        ("GET", f"/devices/{YEALINK}"),
        ("POST", f"/devices/{YEALINK}/reset"),
        ("GET", "/tenants"),
        ("GET", "/users"),
        ("GET", "/audit"),
        ("GET", f"/devices/{YEALINK}/registration"),
        ("GET", "/firmware"),
    ):
        status, body = await _call(installer, method, path)
        assert status == 403, (method, path, status)
        assert body["error"]["message"] == "the installer role may not do this"
    status, body = await _call(
        installer, "POST", "/devices", json={"mac": OTHER_YEALINK, "model": "yealink-t46g"}
    )
    assert status == 403
    # The admin still sees the claimed device, its provisioning user included.
    status, device = await _call(admin, "GET", f"/devices/{YEALINK}")
    assert status == 200 and device["tenant"] == "acme"


async def test_wrong_vendor_and_duplicates_are_refused_with_what_to_do(
    installer: aiohttp.ClientSession,
) -> None:
    status, body = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": SNOM, "model": "yealink-t46g", "extension": "201"},
    )
    assert status == 400
    assert body["error"] == {
        "field": "mac",
        "message": "00:04:13… is a Snom MAC, but you chose Yealink T46G: "
        "pick the right model or scan the right label",
    }
    status, _ = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": YEALINK, "model": "yealink-t46g", "extension": "202"},
    )
    assert status == 201
    status, body = await _call(
        installer,
        "POST",
        "/claims",
        json={"mac": YEALINK, "model": "yealink-t46g", "extension": "201"},
    )
    assert status == 409 and body["error"]["field"] == "mac"
    assert "already claimed, as 202 Back Office" in body["error"]["message"]
    for payload, field in (
        ({"mac": YEALINK}, "model"),
        ({"mac": "0015", "model": "yealink-t46g"}, "mac"),
        ({"mac": OTHER_YEALINK, "model": "yealink-t46g", "extension": "999"}, "extension"),
        ({"mac": OTHER_YEALINK, "model": "yealink-t46g", "password": "x"}, "password"),
    ):
        status, body = await _call(installer, "POST", "/claims", json=payload)
        assert status == 400 and body["error"]["field"] == field, (payload, body)
    assert await Device.all().count() == 1


async def test_models_list(installer: aiohttp.ClientSession) -> None:
    status, models = await _call(installer, "GET", "/installer/models")
    assert status == 200
    assert {"model": "yealink-t46g", "vendor": "yealink", "label": "Yealink T46G"} in models
    assert {"model": "snom-d785", "vendor": "snom", "label": "Snom D785"} in models


def _photo(data: bytes, name: str = "image") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(name, data, filename="label.jpg", content_type="image/jpeg")
    return form


async def test_label_photo_is_decoded(installer: aiohttp.ClientSession) -> None:
    label = label_image("44:DB:D2:6F:B9:EF", "301203G080005848", "425098650011")
    status, body = await _call(installer, "POST", "/labels/decode", data=_photo(jpeg_bytes(label)))
    assert status == 200, body
    assert body["mac"] == OTHER_YEALINK and body["macs"] == [OTHER_YEALINK]
    assert {b["format"] for b in body["barcodes"]} == {"Code 128", "EAN-13"}
    assert len(body["barcodes"]) == 3


async def test_bad_label_uploads_name_the_image_field(installer: aiohttp.ClientSession) -> None:
    for form in (_photo(b"not a picture"), _photo(b"", name="photo")):
        status, body = await _call(installer, "POST", "/labels/decode", data=form)
        assert status == 400 and body["error"]["field"] == "image", body
    status, body = await _call(installer, "POST", "/labels/decode", json={"image": "x"})
    assert status == 400 and body["error"]["field"] == "image"


async def test_a_label_picture_too_large_to_decode_is_400_and_a_crowd_429(
    installer: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = uniform_png(7070, 7070, bits=16, grey=40_000)
    status, body = await _call(installer, "POST", "/labels/decode", data=_photo(huge))
    assert status == 400 and body["error"]["field"] == "image"
    assert "16-bit PNG of 7070x7070 pixels" in body["error"]["message"]
    # Every decoder busy and every waiting place taken: told to retry, not queued.
    monkeypatch.setattr(labels, "_accepted", labels.DECODERS + labels.MAX_WAITING)
    label = jpeg_bytes(label_image("44:DB:D2:6F:B9:EF", "301203G080005848", "425098650011"))
    async with installer.post(PREFIX + "/labels/decode", data=_photo(label)) as r:
        assert r.status == 429 and int(r.headers["Retry-After"]) > 0
        assert (await r.json())["error"]["field"] == "image"


async def test_status_needs_a_mac(installer: aiohttp.ClientSession) -> None:
    status, body = await _call(installer, "GET", "/claims/status")
    assert status == 400 and body["error"]["field"] == "mac"


async def test_installer_page_claims_by_plain_form(
    served: Served, installer: aiohttp.ClientSession
) -> None:
    """The page without JavaScript: a typed MAC posted as a form, the answer a page."""
    await accounts.add_account(
        TEST_ACTOR, "ivan", "Install-3r-pass", role="installer", tenant_slug="acme"
    )
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, cookie_jar=jar
    ) as browser:
        async with browser.get("/login") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
        assert token
        form = {"csrf_token": token.group(1), "username": "ivan", "password": "Install-3r-pass"}
        async with browser.post("/login", data=form) as r:
            assert r.status == 200 and str(r.url).endswith("/install/")
        async with browser.get("/install/?extension=202&model=yealink-t54w&tenant=globex") as r:
            page = await r.text()
        assert r.status == 200
        assert "your own account only" in page  # the tenant of another is not shown
        assert 'value="202" checked' in page
        assert '<option value="yealink-t54w" data-vendor="yealink" selected>' in page
        assert "Globex" not in page
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf
        post = {
            "csrf_token": csrf.group(1),
            "extension": "202",
            "model": "yealink-t46g",
            "mac": "00:15:65:a1:b2:c3",
        }
        async with browser.post("/install/", data=post) as r:
            page = await r.text()
        assert r.status == 200
        assert "claimed 001565a1b2c3 for 202: plug it in" in page
        assert 'data-mac="001565a1b2c3" data-state="waiting"' in page
        async with browser.post("/install/", data=post | {"mac": SNOM}) as r:
            page = await r.text()
        assert "is a Snom MAC, but you chose Yealink T46G" in page
    assert await Device.all().count() == 1
