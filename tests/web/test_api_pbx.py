"""The PBX routes' answers when there is no device, no line or no PBX to ask; what a
running PBX answers is in tests/test_serve_pbx.py (a real serve --pbx process)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from provd.db.models import AuditEntry
from provd.pbx import PbxControl, PbxSecrets, PbxSettings
from provd.security.tls import TlsPaths, server_ssl_context
from provd.services import devices
from provd.services.access import tokens
from provd.services.directory import users
from provd.services.platform import Platform
from provd.web.api import PREFIX
from provd.web.app import make_app
from provd.web.server import build_provisioner
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

MAC = "001565000001"


async def _session(served: Served) -> aiohttp.ClientSession:
    token = await tokens.create_token(TEST_ACTOR, "tests")
    return aiohttp.ClientSession(
        base_url=served.base,
        connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
        headers={"Authorization": f"Bearer {token}"},
    )


async def _phone(platform: Platform) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")
    await devices.add_device(platform, TEST_ACTOR, MAC, "yealink-t46g", users=["201"])


async def _call(s: aiohttp.ClientSession, method: str, path: str) -> tuple[int, Any]:
    async with s.request(method, PREFIX + path) as r:
        return r.status, await r.json()


@pytest.fixture
async def stopped_pbx(
    platform: Platform, tls: TlsPaths, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> AsyncIterator[Served]:
    """An app whose PBX has gone away: its RPC port answers nothing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = PbxSettings(platform.data_dir, rpc_port=port)
    control = PbxControl.for_settings(settings, PbxSecrets.load_or_create(settings.pbx_dir))
    app = make_app(platform, build_provisioner(platform), pbx=control)
    server = await aiohttp_server(app, ssl=server_ssl_context(tls), host="127.0.0.1")
    yield Served(server, tls, platform)
    await control.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/registrations"),
        ("GET", f"/devices/{MAC}/registration"),
        ("POST", f"/devices/{MAC}/resync"),
        ("POST", f"/devices/{MAC}/reboot"),
    ],
)
async def test_without_a_pbx_the_answer_is_503(served: Served, method: str, path: str) -> None:
    await _phone(served.platform)
    async with await _session(served) as s:
        status, body = await _call(s, method, path)
    assert status == 503
    assert body["error"]["message"] == "the PBX is not running (start provd serve --pbx)"
    assert not await AuditEntry.filter(object_type="device", action__not="device.add").exists()


async def test_a_pbx_that_stopped_answering_is_503(stopped_pbx: Served) -> None:
    await _phone(stopped_pbx.platform)
    async with await _session(stopped_pbx) as s:
        for method, path in (("GET", "/registrations"), ("POST", f"/devices/{MAC}/resync")):
            status, body = await _call(s, method, path)
            assert status == 503
            assert body["error"]["message"].startswith("the PBX is not running")
            assert "no answer from http://127.0.0.1:" in body["error"]["message"]


async def test_unknown_device_is_404_and_one_without_lines_409(served: Served) -> None:
    await devices.add_device(served.platform, TEST_ACTOR, "001565000002", "yealink-t46g")
    async with await _session(served) as s:
        for method, path in (
            ("GET", "/devices/001565ffffff/registration"),
            ("POST", "/devices/001565ffffff/resync"),
            ("POST", "/devices/not-a-mac/reboot"),
        ):
            status, body = await _call(s, method, path)
            assert status in (400, 404), (path, body)
            assert body["error"]["field"] == "mac"
        status, body = await _call(s, "POST", "/devices/001565000002/reboot")
    assert status == 409
    assert body["error"] == {
        "field": "mac",
        "message": "device 001565000002 has no lines: there is nothing to notify",
    }
