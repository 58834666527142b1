"""Sign-in, sessions, CSRF, lockout and the installer role's deny-by-default,
against the real application on a TLS socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from provd.db.models import AuditEntry, WebSession
from provd.services.access import accounts, tokens
from provd.services.audit import Actor
from provd.services.directory import tenants
from provd.services.platform import Platform
from tests.web.conftest import Served

ROOT = Actor("test")
PASSWORD = "Corr3ct-horse"


@pytest.fixture
async def browser(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: the server is addressed by IP, which the default jar refuses.
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as s:
        yield s


@pytest.fixture
async def admin(platform: Platform) -> str:
    await accounts.add_account(ROOT, "alice", PASSWORD, role="admin")
    return "alice"


async def _login_token(browser: aiohttp.ClientSession, served: Served) -> str:
    async with browser.get(served.base + "/login") as r:
        assert r.status == 200
        html = await r.text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def _sign_in(
    browser: aiohttp.ClientSession, served: Served, username: str, password: str, **extra: str
) -> aiohttp.ClientResponse:
    token = await _login_token(browser, served)
    form = {"csrf_token": token, "username": username, "password": password, **extra}
    return await browser.post(served.base + "/login", data=form, allow_redirects=False)


def _page_csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_sign_in_sets_a_hardened_session_cookie(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    r = await _sign_in(browser, served, admin, PASSWORD)
    assert r.status == 303
    assert r.headers["Location"] == "/console/"
    cookie = r.cookies["provd_session"]
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Strict"
    # Only the hash of the cookie is stored.
    row = await WebSession.get()
    assert cookie.value not in (row.token_sha256, row.csrf_token)
    async with browser.get(served.base + "/api/v1/tenants") as api:
        assert api.status == 200


async def test_wrong_password_and_unknown_user_look_the_same(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    audit_before = await AuditEntry.all().count()
    wrong = await _sign_in(browser, served, admin, "Wrong-pass1")
    unknown = await _sign_in(browser, served, "mallory", "Wrong-pass1")
    assert wrong.status == unknown.status == 200
    texts = [re.sub(r'value="[^"]*"', "", await r.text()) for r in (wrong, unknown)]
    assert "username or password is wrong" in texts[0]
    assert texts[0].replace("alice", "X") == texts[1].replace("mallory", "X")
    assert "provd_session" not in wrong.cookies
    # Nothing an unauthenticated request says is stored.
    assert await AuditEntry.all().count() == audit_before
    assert await WebSession.all().count() == 0


async def test_five_failures_lock_the_username_even_for_the_right_password(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    for _ in range(5):
        assert "is wrong" in await (await _sign_in(browser, served, admin, "Wrong-pass1")).text()
    locked = await _sign_in(browser, served, admin, PASSWORD)
    assert "too many failed sign-ins" in await locked.text()
    assert int(locked.headers["Retry-After"]) > 800
    assert "provd_session" not in locked.cookies
    # An unknown username locks the same way: the lock tells nothing about existence.
    for _ in range(5):
        await _sign_in(browser, served, "nobody", "Wrong-pass1")
    again = await _sign_in(browser, served, "nobody", "Wrong-pass1")
    assert "too many failed sign-ins" in await again.text()


async def test_login_form_without_its_csrf_token_is_refused(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    await _login_token(browser, served)
    form = {"csrf_token": "forged", "username": admin, "password": PASSWORD}
    r = await browser.post(served.base + "/login", data=form, allow_redirects=False)
    assert "The form expired" in await r.text()
    assert "provd_session" not in r.cookies


async def test_next_is_local_only(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    r = await _sign_in(browser, served, admin, PASSWORD, next="//evil.example/x")
    assert r.headers["Location"] == "/console/"
    r = await _sign_in(browser, served, admin, PASSWORD, next="/console/audit")
    assert r.headers["Location"] == "/console/audit"


async def test_pages_need_a_session_and_send_security_headers(
    served: Served, browser: aiohttp.ClientSession
) -> None:
    async with browser.get(served.base + "/console/", allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/login?next=/console/"
    async with browser.get(served.base + "/login") as r:
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"


async def test_api_through_a_session_needs_the_csrf_header_and_same_origin(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    await _sign_in(browser, served, admin, PASSWORD)
    async with browser.get(served.base + "/login") as r:
        pass
    # The CSRF token is on every signed-in page; the API accepts it as a header.
    session = await WebSession.get()
    url = served.base + "/api/v1/users"
    body = {"extension": "301", "name": "Reception"}
    async with browser.post(url, json=body) as r:
        assert r.status == 403
    headers = {"X-CSRF-Token": session.csrf_token, "Origin": "https://evil.example"}
    async with browser.post(url, json=body, headers=headers) as r:
        assert r.status == 403
    async with browser.post(url, json=body, headers={"X-CSRF-Token": session.csrf_token}) as r:
        assert r.status == 201, await r.text()
    last = await AuditEntry.all().order_by("-id").first()
    assert last is not None and last.actor == "web:alice"


async def test_sign_out_ends_the_session(
    served: Served, browser: aiohttp.ClientSession, admin: str
) -> None:
    await _sign_in(browser, served, admin, PASSWORD)
    csrf = (await WebSession.get()).csrf_token
    r = await browser.post(served.base + "/logout", data={"csrf_token": "nope"})
    assert r.status == 403
    r = await browser.post(
        served.base + "/logout", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert r.status == 303
    assert await WebSession.all().count() == 0
    async with browser.get(served.base + "/api/v1/tenants") as api:
        assert api.status == 401


async def test_installer_token_is_denied_by_default(
    served: Served, session: aiohttp.ClientSession, platform: Platform
) -> None:
    await tenants.add_tenant(platform, ROOT, "acme")
    token = await tokens.create_token(ROOT, "site", role="installer", tenant_slug="acme")
    auth = {"Authorization": f"Bearer {token}"}
    for method, path in (
        ("GET", "/api/v1/devices"),
        ("GET", "/api/v1/tenants"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/firmware/pins"),
    ):
        async with session.request(method, served.base + path, headers=auth) as r:
            assert r.status == 403, path
            assert "installer role may not" in (await r.json())["error"]["message"]


async def test_installer_needs_a_tenant_and_admins_have_none(platform: Platform) -> None:
    with pytest.raises(Exception, match="must belong to a tenant"):
        await accounts.add_account(ROOT, "ivan", PASSWORD, role="installer")
    with pytest.raises(Exception, match="too weak"):
        await accounts.add_account(ROOT, "bob", "short", role="admin")
    await tenants.add_tenant(platform, ROOT, "acme")
    with pytest.raises(Exception, match="platform-wide"):
        await tokens.create_token(ROOT, "x", role="admin", tenant_slug="acme")


async def test_expired_token_is_refused(
    served: Served, session: aiohttp.ClientSession, platform: Platform
) -> None:
    token = await tokens.create_token(ROOT, "short", days=1)
    auth = {"Authorization": f"Bearer {token}"}
    async with session.get(served.base + "/api/v1/tenants", headers=auth) as r:
        assert r.status == 200
    from datetime import UTC, datetime, timedelta

    from provd.db.models import ApiToken

    await ApiToken.filter(name="short").update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    async with session.get(served.base + "/api/v1/tenants", headers=auth) as r:
        assert r.status == 401
