"""Assembling the aiohttp application."""

from __future__ import annotations

from aiohttp import web, web_response

from provd.pbx import PbxControl
from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.web import (
    api,
    api_announcements,
    api_audit,
    api_blocking,
    api_calls,
    api_carriers,
    api_devices,
    api_directory,
    api_discovery,
    api_firmware,
    api_groups,
    api_installer,
    api_layouts,
    api_limits,
    api_menus,
    api_moh,
    api_numbers,
    api_outbound,
    api_pbx,
    api_queues,
    api_rates,
    api_rollouts,
    api_schedules,
    api_trunks,
    api_voicemail,
    auth,
    console,
    health,
    install,
    metrics,
    pages,
    phone,
)
from provd.web.app_keys import PLATFORM, PROVISIONER

# aiohttp answers a request its parser refuses before any handler or signal of ours
# runs, with its default "Server: Python/3.x aiohttp/3.x"; that default is read from
# this module attribute at each response, so it is the only place to change it.
SERVER = "provd"
web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]


def make_app(
    platform: Platform, provisioner: Provisioner, *, pbx: PbxControl | None = None
) -> web.Application:
    # Photos of labels come from phone cameras: a few MB. Everything else is small.
    app = web.Application(
        middlewares=[metrics.stamp_start, api.api_middleware, auth.auth_middleware],
        client_max_size=16 * 1024**2,
    )
    app[PLATFORM] = platform
    app[PROVISIONER] = provisioner
    if pbx is not None:
        app[api_pbx.PBX] = pbx
    pages.add_routes(app)
    api.add_routes(app)
    api_directory.add_routes(app)
    api_devices.add_routes(app)
    api_audit.add_routes(app)
    api_layouts.add_routes(app)
    api_firmware.add_routes(app)
    api_pbx.add_routes(app)
    api_rollouts.add_routes(app)
    api_installer.add_routes(app)
    api_discovery.add_routes(app)
    api_numbers.add_routes(app)
    api_carriers.add_routes(app)
    api_groups.add_routes(app)
    api_menus.add_routes(app)
    api_announcements.add_routes(app)
    api_moh.add_routes(app)
    api_queues.add_routes(app)
    api_voicemail.add_routes(app)
    api_schedules.add_routes(app)
    api_blocking.add_routes(app)
    api_calls.add_routes(app)
    api_outbound.add_routes(app)
    api_rates.add_routes(app)
    api_limits.add_routes(app)
    api_trunks.add_routes(app)
    console.add_routes(app)
    install.add_routes(app)
    # Before the phone routes, whose one-segment pattern would take these paths.
    health.add_routes(app)
    metrics.add_routes(app)
    phone.add_routes(app)
    app.on_response_prepare.append(_server_header)
    app.on_response_prepare.append(metrics.count_response)
    return app


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp would send "Python/3.x aiohttp/3.x": versions tell a scanner which
    # advisories to try, and a phone or browser needs none of it.
    response.headers["Server"] = SERVER
