"""Failed console sign-ins and lockouts are logged; audit rows carry provd's own request
id, the client's kept apart (issue 21, finding 11)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from provd.db.models import AuditEntry
from provd.services.access import accounts, tokens
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

PASSWORD = "Tr0ub4dor-and-3-more"
WRONG = "n0t-the-Password!"


@pytest.fixture
async def browser(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(served.base, connector=connector, cookie_jar=jar) as s:
        yield s


async def _post_sign_in(browser: aiohttp.ClientSession, username: str, password: str) -> str:
    async with browser.get("/login") as r:
        match = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
    assert match
    form = {"csrf_token": match[1], "username": username, "password": password}
    async with browser.post("/login", data=form, allow_redirects=False) as r:
        return await r.text()


async def test_failed_sign_ins_and_the_lockout_are_logged_with_the_source(
    browser: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD, role="admin")
    caplog.set_level(logging.DEBUG, logger="provd")
    await _post_sign_in(browser, "alice", WRONG)
    failed = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert failed == ["console sign-in failed for 'alice' from 127.0.0.1"]
    assert caplog.records[-1].levelno == logging.WARNING

    for _ in range(4):
        await _post_sign_in(browser, "alice", WRONG)
    page = await _post_sign_in(browser, "alice", PASSWORD)
    assert "too many failed sign-ins" in page
    locked = [r.getMessage() for r in caplog.records if "locked out" in r.getMessage()]
    assert locked == ["console sign-in: 'alice' locked out after failures (last from 127.0.0.1)"]

    # A "user name" that cannot be one (here a password in the wrong field) stays out.
    await _post_sign_in(browser, "My Pa$$word 1", WRONG)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "(not a valid user name) from 127.0.0.1" in logged
    for secret in (WRONG, PASSWORD, "pa$$word"):
        assert secret.lower() not in logged.lower()


async def test_audit_request_id_is_made_by_the_server_and_the_clients_is_kept_apart(
    served: Served,
) -> None:
    token = await tokens.create_token(TEST_ACTOR, "tests")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        async with api.post(
            "/api/v1/users",
            json={"extension": "201", "name": "Front Desk"},
            headers={"X-Request-Id": "chosen-by-client"},
        ) as r:
            assert r.status == 201
            answered = r.headers["X-Request-Id"]
        async with api.post(
            "/api/v1/users",
            json={"extension": "202", "name": "Back Office"},
            headers={"X-Request-Id": "not\tan id"},
        ) as r:
            assert r.status == 201
    first, second = await AuditEntry.filter(action="user.add").order_by("id")
    assert first.request_id == answered
    assert re.fullmatch(r"[0-9a-f]{32}", answered)
    assert first.client_request_id == "chosen-by-client"
    assert second.client_request_id is None
    assert second.request_id and second.request_id != first.request_id
