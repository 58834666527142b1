"""Response headers: no version banner anywhere, HSTS on the console (issue 21, finding 11)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from provd.services.access import accounts
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

PASSWORD = "Tr0ub4dor-and-3-more"


def _no_banner(server: str) -> None:
    assert server
    assert not re.search(r"python|aiohttp|\d", server, re.IGNORECASE), server


@pytest.fixture
async def browser(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(served.base, connector=connector, cookie_jar=jar) as s:
        yield s


async def _sign_in(browser: aiohttp.ClientSession) -> None:
    await accounts.add_account(TEST_ACTOR, "alice", PASSWORD, role="admin")
    async with browser.get("/login") as r:
        match = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
    assert match
    form = {"csrf_token": match[1], "username": "alice", "password": PASSWORD}
    async with browser.post("/login", data=form, allow_redirects=False) as r:
        assert r.status == 303


async def test_no_response_names_python_or_aiohttp_versions(
    served: Served, browser: aiohttp.ClientSession
) -> None:
    for path in (
        "/login",  # a page
        "/console/",  # a redirect to the sign-in
        "/0015654aa937.cfg",  # a phone's challenge
        "/api/v1/devices",  # the API refusing without a token
        "/no/such/thing",  # not found
    ):
        async with browser.get(path, allow_redirects=False) as r:
            _no_banner(r.headers.get("Server", ""))
    # A request aiohttp's parser refuses never reaches provd's handlers.
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", served.server.port, ssl=served.client_ssl(), server_hostname="provd.test"
    )
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: provd.test\r\nBad header line\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    finally:
        writer.close()
    assert re.match(rb"HTTP/1\.[01] 400 ", head)
    server = re.search(rb"\r\nServer: ([^\r]*)", head, re.IGNORECASE)
    _no_banner(server[1].decode() if server else "none")


async def test_console_responses_carry_hsts(browser: aiohttp.ClientSession) -> None:
    async with browser.get("/login") as r:
        assert r.headers.get("Strict-Transport-Security") == "max-age=31536000"
    async with browser.get("/console/", allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers.get("Strict-Transport-Security") == "max-age=31536000"
    await _sign_in(browser)
    for path in ("/console/", "/console/access", "/install/"):
        async with browser.get(path) as r:
            assert r.status == 200, path
            assert r.headers.get("Strict-Transport-Security") == "max-age=31536000", path
