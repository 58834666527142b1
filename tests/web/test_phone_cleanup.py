"""Stopping the web application writes the phone path's pending fetch notes."""

from __future__ import annotations

from aiohttp import web

from provd.services.platform import Platform
from provd.web.app import make_app
from provd.web.server import build_provisioner


async def test_cleanup_closes_the_provisioner(platform: Platform) -> None:
    provisioner = build_provisioner(platform)
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    provisioner.close = close  # type: ignore[method-assign]
    runner = web.AppRunner(make_app(platform, provisioner))
    await runner.setup()
    assert closed == []
    await runner.cleanup()
    assert closed == [True]
