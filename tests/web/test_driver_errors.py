"""A driver says "not this device's file" with :class:`NotThisDevicesFile`, and only that
becomes a 404: any other exception out of a driver is a bug, answered 500 and logged with
the MAC, so that it cannot pass for a missing file on the phone's side."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware

from provd.drivers.base import NotThisDevicesFile
from provd.drivers.context import DeviceContext
from provd.drivers.yealink.driver import YealinkDriver
from provd.services import devices
from provd.services.directory import users
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

MAC = "001565aabb01"


async def _get(session: aiohttp.ClientSession, served: Served, filename: str, pw: str) -> int:
    auth = DigestAuthMiddleware(f"dev-{MAC}", pw)
    async with session.get(f"{served.base}/{filename}", middlewares=(auth,)) as r:
        await r.read()
        return r.status


async def _device(served: Served) -> str:
    await users.add_user(served.platform, TEST_ACTOR, "default", "201", "Front Desk")
    _, cred = await devices.add_device(
        served.platform, TEST_ACTOR, MAC, "yealink-t46g", users=["201"]
    )
    return cred.password


def _failing_on_cfg(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    real = YealinkDriver.render

    def render(self: YealinkDriver, ctx: DeviceContext, filename: str) -> bytes:
        if filename.endswith(".cfg"):
            raise error
        return real(self, ctx, filename)

    monkeypatch.setattr(YealinkDriver, "render", render)


@pytest.mark.parametrize(
    "error", [KeyError("line_keys"), LookupError("x"), IndexError(3), AttributeError("model")]
)
async def test_a_bug_in_a_driver_is_a_logged_500_not_a_404(
    served: Served,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    password = await _device(served)
    _failing_on_cfg(monkeypatch, error)
    caplog.set_level(logging.ERROR, logger="provd.provisioning")

    assert await _get(session, served, f"{MAC}.cfg", password) == 500
    logged = [r for r in caplog.records if r.name == "provd.provisioning"]
    assert len(logged) == 1
    assert MAC in logged[0].getMessage() and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None and logged[0].exc_info[1] is error
    # The device's other files are served as ever.
    assert await _get(session, served, f"{MAC}.boot", password) == 200


async def test_the_drivers_own_exception_is_a_quiet_404(
    served: Served,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = await _device(served)
    _failing_on_cfg(monkeypatch, NotThisDevicesFile(f"{MAC}.cfg"))
    caplog.set_level(logging.ERROR, logger="provd.provisioning")

    assert await _get(session, served, f"{MAC}.cfg", password) == 404
    assert not [r for r in caplog.records if r.name == "provd.provisioning"]


@pytest.mark.parametrize("filename", ["nothing.cfg", f"{MAC}.txt", "y000000000099.cfg"])
async def test_an_unknown_file_name_is_a_404(
    served: Served, session: aiohttp.ClientSession, filename: str
) -> None:
    password = await _device(served)
    assert await _get(session, served, filename, password) == 404
