"""Tenant admins against the real application on a TLS socket: every console route is
either refused (403) or marked and scoped, another tenant's objects look exactly like
missing ones, refused changes write nothing, and the API gives them no more than an
installer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from provd.db.models import (
    Account,
    ApiToken,
    AuditEntry,
    Device,
    DeviceLine,
    KeySetting,
    PageLabel,
    Tenant,
    User,
)
from provd.domain.access import Principal, Role
from provd.services import devices, layouts
from provd.services.access import accounts, tokens
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.web import auth, pages
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

PASSWORD = "Corr3ct-horse"
ACME_MAC, GLOBEX_MAC, MISSING_MAC = "001565a1b2c3", "001565d4e5f6", "0015650000ff"
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")

# What a tenant admin may open; everything else under /console is refused with 403.
OPEN_TO_TENANT_ADMINS = {
    ("GET", "/console"),
    ("GET", "/console/"),
    ("GET", "/console/devices/{mac}"),
    ("POST", "/console/devices/{mac}/settings"),
    ("POST", "/console/devices/{mac}/resync"),
    ("POST", "/console/devices/{mac}/reboot"),
    ("POST", "/console/devices/{mac}/reset"),
    ("POST", "/console/devices/{mac}/remove"),
    ("GET", "/console/users"),
    ("POST", "/console/users"),
    ("GET", "/console/users/{tenant}/{extension}"),
    ("POST", "/console/users/{tenant}/{extension}"),
    ("POST", "/console/users/{tenant}/{extension}/remove"),
    ("POST", "/console/users/{tenant}/{extension}/forwarding"),
    ("POST", "/console/users/{tenant}/{extension}/dnd"),
    ("POST", "/console/users/{tenant}/{extension}/blocks"),
    ("POST", "/console/users/{tenant}/{extension}/blocks/{block_id}/remove"),
    ("GET", "/console/outbound/{tenant}"),
    ("POST", "/console/outbound/{tenant}"),
    ("GET", "/console/outbound/{tenant}/users/{extension}"),
    ("POST", "/console/outbound/{tenant}/users/{extension}"),
    ("GET", "/console/numbers"),
    ("POST", "/console/numbers/{number}/assign"),
    ("POST", "/console/numbers/{number}/release"),
    ("GET", "/console/groups"),
    ("POST", "/console/groups/{tenant}"),
    ("POST", "/console/groups/{tenant}/{extension}"),
    ("POST", "/console/groups/{tenant}/{extension}/remove"),
    ("POST", "/console/groups/{tenant}/{extension}/members"),
    ("POST", "/console/groups/{tenant}/{extension}/members/{position}/remove"),
    ("GET", "/console/menus"),
    ("POST", "/console/menus/{tenant}"),
    ("POST", "/console/menus/{tenant}/{extension}"),
    ("POST", "/console/menus/{tenant}/{extension}/remove"),
    ("GET", "/console/announcements"),
    ("POST", "/console/announcements/{tenant}"),
    ("POST", "/console/announcements/{tenant}/{extension}"),
    ("POST", "/console/announcements/{tenant}/{extension}/remove"),
    ("GET", "/console/queues"),
    ("POST", "/console/queues/{tenant}"),
    ("POST", "/console/queues/{tenant}/{extension}"),
    ("POST", "/console/queues/{tenant}/{extension}/remove"),
    ("POST", "/console/queues/{tenant}/{extension}/agents"),
    ("POST", "/console/queues/{tenant}/{extension}/agents/{agent}/remove"),
    ("POST", "/console/queues/{tenant}/{extension}/agents/{agent}/login"),
    ("POST", "/console/queues/{tenant}/{extension}/agents/{agent}/logout"),
    ("GET", "/console/sounds"),
    ("POST", "/console/sounds/{tenant}"),
    ("POST", "/console/sounds/{tenant}/moh"),
    ("POST", "/console/sounds/{tenant}/moh/clear"),
    ("POST", "/console/sounds/{tenant}/{name}/remove"),
    ("GET", "/console/voicemail"),
    ("POST", "/console/voicemail/{tenant}/messages/{id}/heard"),
    ("POST", "/console/voicemail/{tenant}/messages/{id}/remove"),
    ("POST", "/console/voicemail/{tenant}/users/{extension}/email"),
    ("POST", "/console/voicemail/{tenant}/users/{extension}/pin"),
    ("POST", "/console/voicemail/{tenant}/users/{extension}/greeting"),
    ("GET", "/console/schedules"),
    ("POST", "/console/schedules/{tenant}"),
    ("POST", "/console/schedules/{tenant}/{name}"),
    ("POST", "/console/schedules/{tenant}/{name}/remove"),
    ("POST", "/console/schedules/{tenant}/{name}/night-switch"),
    ("GET", "/console/codes"),
    ("GET", "/console/trunks"),
    ("GET", "/console/limits/{tenant}"),
    ("POST", "/console/trunks/{tenant}"),
    ("POST", "/console/trunks/{tenant}/{name}"),
    ("POST", "/console/trunks/{tenant}/{name}/remove"),
    ("POST", "/console/trunks/{tenant}/{name}/numbers"),
    ("POST", "/console/trunks/{tenant}/{name}/numbers/{number}/remove"),
    ("POST", "/console/trunks/{tenant}/{name}/accounts/{role}/password"),
    ("POST", "/console/routes/{tenant}"),
    ("POST", "/console/routes/{tenant}/{name}"),
    ("POST", "/console/routes/{tenant}/{name}/remove"),
    ("GET", "/console/tenants"),
    ("GET", "/console/tenants/{slug}"),
    ("POST", "/console/tenants/{slug}"),
    ("POST", "/console/tenants/{slug}/bootstrap"),
    ("GET", "/console/layouts"),
    ("GET", "/console/layouts/open"),
    ("GET", "/console/layouts/tenant/{tenant}"),
    ("POST", "/console/layouts/tenant/{tenant}"),
    ("GET", "/console/layouts/user/{tenant}/{extension}"),
    ("POST", "/console/layouts/user/{tenant}/{extension}"),
    ("GET", "/console/layouts/device/{mac}"),
    ("POST", "/console/layouts/device/{mac}"),
    ("GET", "/console/rates"),
    ("GET", "/console/rates/export"),
    ("GET", "/console/calls"),
    ("GET", "/console/calls/export"),
    ("GET", "/console/access"),
    ("POST", "/console/access/accounts"),
    ("POST", "/console/access/accounts/{username}/password"),
    ("POST", "/console/access/accounts/{username}/remove"),
    ("POST", "/console/access/tokens"),
    ("POST", "/console/access/tokens/{token_id}/revoke"),
}

# A plausible change for each marked POST route with an object in its path.
FORMS: dict[str, dict[str, str]] = {
    "/console/devices/{mac}/settings": {"name": "Taken over", "vlan_lan": "42"},
    "/console/users/{tenant}/{extension}": {"name": "Taken over", "extension": "777"},
    "/console/tenants/{slug}": {"vlan_lan": "42", "pickup_code": "*99"},
    "/console/outbound/{tenant}": {"block_premium": "on"},
    "/console/outbound/{tenant}/users/{extension}": {"block_mobile": "on"},
    "/console/layouts/tenant/{tenant}": {
        "action": "save",
        "model": "yealink-t46g",
        "key": "line:5",
        "function": "speed_dial",
        "target": "123",
    },
    "/console/layouts/user/{tenant}/{extension}": {
        "action": "save",
        "model": "yealink-t46g",
        "key": "line:5",
        "function": "speed_dial",
        "target": "123",
    },
    "/console/layouts/device/{mac}": {
        "action": "save",
        "key": "line:5",
        "function": "speed_dial",
        "target": "123",
    },
}


@dataclass
class World:
    """Tenants acme (administered by tara) and globex, each with a user, a device, an
    installer account and an installer token; a platform admin alice."""

    acme_token_id: int
    globex_token_id: int
    globex_bootstrap: str

    def own(self) -> dict[str, str]:
        return {
            "mac": ACME_MAC,
            "tenant": "acme",
            "extension": "201",
            "agent": "201",
            "slug": "acme",
            "username": "ivan",
            "token_id": str(self.acme_token_id),
        }

    def other(self) -> dict[str, str]:
        return {
            "mac": GLOBEX_MAC,
            "tenant": "globex",
            "extension": "301",
            "agent": "301",
            "slug": "globex",
            "username": "gina",
            "token_id": str(self.globex_token_id),
        }

    @staticmethod
    def missing() -> dict[str, str]:
        return {
            "mac": MISSING_MAC,
            "tenant": "nosuch",
            "extension": "999",
            "agent": "999",
            "slug": "nosuch",
            "username": "nobody",
            "token_id": "99999",
        }


@pytest.fixture
async def world(platform: Platform) -> World:
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
    await users.add_user(platform, TEST_ACTOR, "acme", "201", "Front Desk")
    await users.add_user(platform, TEST_ACTOR, "globex", "301", "Globex Reception")
    await devices.add_device(
        platform, TEST_ACTOR, ACME_MAC, "yealink-t46g", tenant_slug="acme", users=["201"]
    )
    await devices.add_device(
        platform, TEST_ACTOR, GLOBEX_MAC, "yealink-t46g", tenant_slug="globex", users=["301"]
    )
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD)
    for name, role, slug in (
        ("tara", "tenant-admin", "acme"),
        ("ivan", "installer", "acme"),
        ("gus", "tenant-admin", "globex"),
        ("gina", "installer", "globex"),
    ):
        await accounts.add_account(TEST_ACTOR, name, PASSWORD, role=role, tenant_slug=slug)
    await tokens.create_token(TEST_ACTOR, "acme-site", role="installer", tenant_slug="acme")
    await tokens.create_token(TEST_ACTOR, "globex-site", role="installer", tenant_slug="globex")
    await tokens.create_token(TEST_ACTOR, "platform-script")
    globex_scope = await layouts.resolve_scope(tenant="globex")
    await layouts.set_key(TEST_ACTOR, globex_scope, "yealink-t46g", "line:4", "dnd")
    globex = await tenants.get_tenant("globex")
    return World(
        (await ApiToken.get(name="acme-site")).id,
        (await ApiToken.get(name="globex-site")).id,
        tenants.bootstrap_credential(platform, globex).password,
    )


@pytest.fixture
async def browser(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, cookie_jar=jar
    ) as s:
        yield s


async def _sign_in(browser: aiohttp.ClientSession, username: str) -> str:
    """Sign in; the session's CSRF token."""
    async with browser.get("/login") as r:
        match = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
    assert match
    form = {"csrf_token": match.group(1), "username": username, "password": PASSWORD}
    async with browser.post("/login", data=form, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        assert r.headers["Location"] == "/console/"
    async with browser.get("/console/users") as r:
        assert r.status == 200
        meta = re.search(r'name="csrf-token" content="([^"]+)"', await r.text())
    assert meta
    return meta.group(1)


@pytest.fixture
async def tara(world: World, browser: aiohttp.ClientSession) -> str:
    """The browser signed in as acme's tenant admin; the CSRF token."""
    return await _sign_in(browser, "tara")


def _fill(canonical: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), "1"), canonical)


def _console_routes(app: web.Application) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or not canonical.startswith("/console"):
            continue
        out.append((route.method, canonical, route.handler))
    return out


async def _snapshot() -> list[Any]:
    """Everything a console change could touch, and the audit log's length."""
    out: list[Any] = [await AuditEntry.all().count()]
    for model in (Tenant, User, Device, DeviceLine, Account, ApiToken, KeySetting, PageLabel):
        rows = await model.all().order_by("id").values()
        # A token's use is recorded; that is bookkeeping, not a change it made.
        out.append([{k: v for k, v in row.items() if k != "last_used_at"} for row in rows])
    return out


async def _request(
    browser: aiohttp.ClientSession, method: str, path: str, csrf: str, form: dict[str, str]
) -> tuple[int, str]:
    data = {"csrf_token": csrf, **form} if method == "POST" else None
    async with browser.request(method, path, data=data, allow_redirects=False) as r:
        return r.status, await r.text()


def _anonymised(text: str, values: dict[str, str]) -> str:
    """``text`` with the names it was asked about replaced (whole words only)."""
    for value in sorted(values.values(), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<KEY>", text)
    return text


# --- every console route -------------------------------------------------------------


async def test_every_console_route_is_refused_or_marked(
    served: Served, browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    routes = _console_routes(served.server.app)
    marked = {(m, c) for m, c, h in routes if auth.tenant_admin_may_call(h)}
    assert marked == OPEN_TO_TENANT_ADMINS
    before = await _snapshot()
    refused = set()
    for method, canonical, handler in routes:
        if auth.tenant_admin_may_call(handler):
            continue
        path = _fill(canonical, world.own())
        status, text = await _request(browser, method, path, tara, {"name": "x"})
        assert status == 403, (method, canonical, status)
        assert "tenant-admin role may not open this page" in text
        refused.add((method, canonical))
    assert {
        ("GET", "/console/firmware"),
        ("GET", "/console/rollouts"),
        ("POST", "/console/rollouts/new"),
        ("GET", "/console/audit"),
        ("POST", "/console/tenants"),
        ("GET", "/console/layouts/platform"),
        ("POST", "/console/layouts/platform"),
        ("POST", "/console/numbers/blocks"),
        ("POST", "/console/numbers/blocks/{first}/remove"),
        ("GET", "/console/carriers"),
        ("POST", "/console/carriers"),
        ("POST", "/console/rates"),
    } <= refused
    assert await _snapshot() == before


async def test_marked_pages_open_for_their_own_tenant(
    served: Served, browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    for method, canonical, _ in _console_routes(served.server.app):
        if (method, canonical) not in OPEN_TO_TENANT_ADMINS or method != "GET":
            continue
        status, _text = await _request(browser, "GET", _fill(canonical, world.own()), tara, {})
        assert status in (200, 303, 308), (canonical, status)


async def test_another_tenants_objects_look_missing(
    served: Served, browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    before = await _snapshot()
    checked = 0
    for method, canonical, _ in _console_routes(served.server.app):
        if (method, canonical) not in OPEN_TO_TENANT_ADMINS or "{" not in canonical:
            continue
        form = FORMS.get(canonical, {})
        other_status, other = await _request(
            browser, method, _fill(canonical, world.other()), tara, form
        )
        missing_status, missing = await _request(
            browser, method, _fill(canonical, World.missing()), tara, form
        )
        assert other_status == missing_status, (method, canonical)
        # Accounts and tokens answer on their page, with the refusal as a flash.
        expected = 200 if canonical.startswith("/console/access/") else 404
        assert other_status == expected, (method, canonical, other_status)
        assert _anonymised(other, world.other()) == _anonymised(missing, World.missing()), (
            method,
            canonical,
        )
        for secret in ("Globex Reception", world.globex_bootstrap, "globex-site", ">gus<"):
            assert secret not in other, canonical
        checked += 1
    # 50, the Menus, Sounds and Voicemail pages' 8, Announcements' 3, music on hold's 2,
    # the mailbox PIN and greeting 2, the Queues page's 7
    assert checked == 72
    # Nothing was changed, so nothing was audited either.
    assert await _snapshot() == before


async def test_forms_naming_another_tenant_change_nothing(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    before = await _snapshot()
    for path, form, field_message in (
        (
            "/console/users",
            {"tenant": "globex", "extension": "555", "name": "Sneaky"},
            "you administer your own tenant only",
        ),
        (
            "/console/access/accounts",
            {"username": "sneaky", "role": "installer", "tenant": "globex"},
            "you administer your own tenant only",
        ),
        (
            "/console/access/accounts",
            {"username": "sneaky", "role": "admin"},
            "a tenant-admin may not add admin accounts",
        ),
        (
            "/console/access/tokens",
            {"name": "sneaky", "role": "admin", "days": "1"},
            "a tenant-admin may not create admin tokens",
        ),
        (
            "/console/access/tokens",
            {"name": "sneaky", "role": "tenant-admin", "days": "1"},
            "a tenant-admin may not create tenant-admin tokens",
        ),
        (
            "/console/layouts/platform",
            {"action": "save", "model": "yealink-t46g", "key": "line:5", "function": "dnd"},
            "tenant-admin role may not open this page",
        ),
        ("/console/tenants", {"slug": "sneaky"}, "tenant-admin role may not open this page"),
    ):
        status, text = await _request(browser, "POST", path, tara, form)
        assert status in (200, 403), path
        assert field_message in text, (path, text[:300])
    assert await _snapshot() == before


# --- what a tenant admin sees and does --------------------------------------------------


async def test_fleet_shows_only_their_devices_and_counts(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    for query in ("", "?tenant=globex", "?q=001565", "?sort=tenant"):
        async with browser.get("/console/" + query) as r:
            assert r.status == 200
            html = await r.text()
        assert f'data-mac="{ACME_MAC}"' in html, query
        assert GLOBEX_MAC not in html, query
        assert 'id="count-devices">1<' in html
        assert "globex" not in html
        # Rollouts are the platform's: no selection form, no tenant filter.
        assert "/console/rollouts" not in html
        assert 'id="f-tenant"' not in html


async def test_nav_and_install_pages_for_a_tenant_admin(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    async with browser.get("/console/users") as r:
        html = await r.text()
    nav = re.findall(r'<li><a href="([^"]+)"', html)
    assert nav == [
        "/console/",
        "/console/users",
        "/console/numbers",
        "/console/groups",
        "/console/menus",
        "/console/announcements",
        "/console/queues",
        "/console/sounds",
        "/console/voicemail",
        "/console/schedules",
        "/console/codes",
        "/console/trunks",
        "/console/rates",
        "/console/calls",
        "/console/tenants",
        "/console/layouts",
        "/console/access",
        "/install/",
        "/install/devices",
        "/install/sheet",
    ]
    # Their tenant: the list is their tenant's page.
    async with browser.get("/console/tenants", allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "/console/tenants/acme"
    for path in ("/install/", "/install/devices", "/install/sheet", "/console"):
        async with browser.get(path) as r:
            assert r.status == 200, path
            assert "globex" not in await r.text(), path


def test_navigation_per_role() -> None:
    labels = {
        role: [label for _, label in pages.navigation(Principal("x", role, 1))] for role in Role
    }
    assert labels[Role.INSTALLER] == ["Installer", "Devices CSV", "Claim sheet"]
    assert labels[Role.TENANT_ADMIN] == [
        "Fleet",
        "Users",
        "Numbers",
        "Groups",
        "Menus",
        "Announcements",
        "Queues",
        "Sounds",
        "Voicemail",
        "Schedules",
        "Service codes",
        "Trunks",
        "Rates",
        "Calls",
        "Tenant",
        "Key layouts",
        "Accounts & tokens",
        "Installer",
        "Devices CSV",
        "Claim sheet",
    ]
    assert {
        "Firmware",
        "Rollouts",
        "Audit log",
        "Tenants",
        "Numbers",
        "Groups",
        "Schedules",
        "Carriers",
        "Rates",
        "Calls",
        "Voicemail",
    } <= set(labels[Role.ADMIN])


async def test_tenant_admin_edits_their_user_and_tenant(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    status, _ = await _request(
        browser, "POST", "/console/users/acme/201", tara, {"name": "Reception", "extension": "201"}
    )
    assert status == 303
    user = await User.get(extension="201", tenant__slug="acme")
    assert user.display_name == "Reception"
    entry = await AuditEntry.filter(action="user.set").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara"

    status, html = await _request(browser, "POST", "/console/users", tara, {"extension": "202"})
    assert status == 200
    status, html = await _request(
        browser, "POST", "/console/users", tara, {"extension": "202", "name": "Back Office"}
    )
    assert "User 202 Back Office added" in html
    assert await User.filter(extension="202", tenant__slug="acme").exists()

    status, _ = await _request(browser, "POST", "/console/tenants/acme", tara, {"vlan_lan": "42"})
    assert status == 303
    assert (await Tenant.get(slug="acme")).vlan_lan is not None

    # The bootstrap credential is the tenant's own: shown to its admin on request.
    status, html = await _request(browser, "POST", "/console/tenants/acme/bootstrap", tara, {})
    assert status == 200 and 'id="bootstrap-password"' in html
    assert world.globex_bootstrap not in html


async def test_tenant_admin_manages_only_their_installers(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    async with browser.get("/console/access") as r:
        html = await r.text()
    listed = re.findall(r'<tr data-username="([^"]+)"', html)
    assert listed == ["ivan", "tara"]
    assert "acme-site" in html and "globex-site" not in html and "platform-script" not in html
    assert "<option>admin</option>" not in html

    status, html = await _request(
        browser,
        "POST",
        "/console/access/accounts",
        tara,
        {"username": "ines", "role": "installer", "display_name": "Ines"},
    )
    assert "Account ines added" in html
    added = await Account.get(username="ines").prefetch_related("tenant")
    assert added.role == "installer" and added.tenant is not None and added.tenant.slug == "acme"

    status, html = await _request(
        browser, "POST", "/console/access/tokens", tara, {"name": "scan", "days": "7"}
    )
    assert "Token scan created" in html
    token = await ApiToken.get(name="scan").prefetch_related("tenant")
    assert token.role == "installer" and token.tenant is not None and token.tenant.slug == "acme"

    status, html = await _request(browser, "POST", "/console/access/accounts/ivan/remove", tara, {})
    assert "Account ivan removed" in html
    assert not await Account.exists(username="ivan")
    # A platform admin's account is not theirs to touch: as if it did not exist.
    status, html = await _request(
        browser, "POST", "/console/access/accounts/alice/password", tara, {}
    )
    assert status == 200 and "account &#39;alice&#39; not found" in html
    assert await AuditEntry.filter(action="account.password").count() == 0


async def test_layouts_are_their_tenants_only(
    browser: aiohttp.ClientSession, world: World, tara: str
) -> None:
    async with browser.get("/console/layouts") as r:
        html = await r.text()
    assert "Platform default</h2>" not in html
    assert "globex" not in html
    status, _ = await _request(
        browser,
        "POST",
        "/console/layouts/tenant/acme",
        tara,
        {"action": "save", "model": "yealink-t46g", "key": "line:5", "function": "dnd"},
    )
    assert status == 303
    acme = await Tenant.get(slug="acme")
    assert await KeySetting.filter(owner=f"tenant:{acme.id}", location="line:5").exists()
    async with browser.get("/console/layouts/platform") as r:
        assert r.status == 403
    async with browser.get("/console/layouts/open?level=platform&model=yealink-t46g") as r:
        assert (
            r.status == 200 and "Only platform admins edit the platform default" in await r.text()
        )


# --- the API -------------------------------------------------------------------------------


async def test_api_gives_a_tenant_admin_token_only_installer_routes_scoped(
    served: Served, world: World
) -> None:
    token = await tokens.create_token(
        TEST_ACTOR, "tara-api", role="tenant-admin", tenant_slug="acme"
    )
    before = await _snapshot()
    async with aiohttp.ClientSession(
        base_url=served.base,
        connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        refused = 0
        for route in served.server.app.router.routes():
            canonical = route.resource.canonical if route.resource is not None else ""
            if not canonical.startswith(auth.API_PREFIX) or route.method == "HEAD":
                continue
            if canonical.endswith("/openapi.json"):
                continue
            opened = auth.installer_may_call(route.handler) or auth.tenant_admin_may_call(
                route.handler
            )
            if opened:
                continue
            path = _fill(canonical, world.other())
            async with api.request(route.method, path, json={}) as r:
                assert r.status == 403, (route.method, canonical)
                body = await r.json()
                assert "tenant-admin role may not" in body["error"]["message"]
                refused += 1
        assert refused >= 30
        assert await _snapshot() == before

        async with api.get("/api/v1/installer/users") as r:
            assert r.status == 200
            assert [u["extension"] for u in await r.json()] == ["201"]
        async with api.get("/api/v1/installer/users?tenant=globex") as r:
            assert r.status == 400
            assert (await r.json())["error"]["field"] == "tenant"
        async with api.post(
            "/api/v1/claims", json={"mac": GLOBEX_MAC, "model": "yealink-t46g"}
        ) as r:
            assert r.status == 409
            assert "globex" not in await r.text()
    # The refused claim revealed that the MAC is held elsewhere: that probe is audited,
    # and it is the only trace the token's requests left.
    after = await _snapshot()
    assert after[1:] == before[1:]
    assert after[0] == before[0] + 1
    probe = await AuditEntry.all().order_by("-id").first()
    assert probe is not None and probe.action == "device.probe"


async def test_tenant_admin_tokens_and_accounts_need_a_tenant(platform: Platform) -> None:
    with pytest.raises(Exception, match="a tenant-admin must belong to a tenant"):
        await accounts.add_account(TEST_ACTOR, "tina", PASSWORD, role="tenant-admin")
    with pytest.raises(Exception, match="a tenant-admin must belong to a tenant"):
        await tokens.create_token(TEST_ACTOR, "t", role="tenant-admin")
    await tenants.add_tenant(platform, TEST_ACTOR, "acme")
    row = await accounts.add_account(
        TEST_ACTOR, "tina", PASSWORD, role="tenant-admin", tenant_slug="acme"
    )
    assert row.role == "tenant-admin"
