"""REST routes for the PBX: registration status, resync and reboot of a device's phones.

Without a PBX (``serve`` without ``--pbx``, or Kamailio unreachable) they answer 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps

from aiohttp import web

from provd.pbx import PbxControl, PbxError, Registration
from provd.services import devices
from provd.services import pbx as pbx_service
from provd.web.auth import ACTOR
from provd.web.contract import Api, Param, Reply, error_response
from provd.web.schemas.registrations import CheckSync, DeviceRegistration

PBX = web.AppKey("pbx", PbxControl)
api = Api()
_PBX_ERRORS = (400, 401, 404, 409, 503)
_CHECK_SYNC = {200: Reply("What each line answered", CheckSync)}
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _pbx_errors(handler: Handler) -> Handler:
    """A PBX that cannot be reached is the server's condition, not the client's: 503."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except PbxError as e:
            return error_response(503, str(e))

    return wrapped


def _control(request: web.Request) -> PbxControl | None:
    return request.app.get(PBX)


async def all_registrations(
    request: web.Request,
) -> tuple[Mapping[str, Registration] | None, str]:
    """Every registration the PBX holds (one RPC), or None and why it is unknown:
    callers that only report registration go on without it."""
    control = _control(request)
    if control is None:
        return None, "no PBX runs with this server (provd serve --pbx): registration unknown"
    try:
        return await control.registrations(), ""
    except PbxError as e:
        return None, f"the PBX did not answer ({e}): registration unknown"


@api.route(
    "GET",
    "/devices/{mac}/registration",
    "Registration state of a device's lines",
    ok={200: Reply("Per line", DeviceRegistration)},
    errors=_PBX_ERRORS,
)
@_pbx_errors
async def device_registration(request: web.Request) -> web.Response:
    device = await devices.get_device(request.match_info["mac"])
    status = await pbx_service.device_registrations(_control(request), [device])
    return web.json_response(pbx_service.registration_view(device.mac, status[device.mac]))


@api.route(
    "GET",
    "/registrations",
    "Registration state of every device's lines (one PBX query)",
    ok={200: Reply("Per device", list[DeviceRegistration])},
    errors=_PBX_ERRORS,
    parameters=[Param("tenant", description="Only this tenant's")],
)
@_pbx_errors
async def list_registrations(request: web.Request) -> web.Response:
    rows = await devices.list_devices(request.query.get("tenant"))
    status = await pbx_service.device_registrations(_control(request), rows)
    return web.json_response([pbx_service.registration_view(d.mac, status[d.mac]) for d in rows])


async def _check_sync(request: web.Request, *, reboot: bool) -> web.Response:
    outcome = await pbx_service.check_sync_device(
        _control(request), request[ACTOR], request.match_info["mac"], reboot=reboot
    )
    if not outcome.delivered:
        lines = outcome.view()["lines"]
        return error_response(409, outcome.failure, "mac", mac=outcome.mac, lines=lines)
    return web.json_response(outcome.view())


@api.route(
    "POST",
    "/devices/{mac}/resync",
    "Make the phone fetch its configuration again (SIP NOTIFY check-sync); "
    "409 when the device has no line or no line received it",
    ok=_CHECK_SYNC,
    errors=_PBX_ERRORS,
)
@_pbx_errors
async def resync_device(request: web.Request) -> web.Response:
    return await _check_sync(request, reboot=False)


@api.route(
    "POST",
    "/devices/{mac}/reboot",
    "Reboot the phone (SIP NOTIFY check-sync;reboot=true); "
    "409 when the device has no line or no line received it",
    ok=_CHECK_SYNC,
    errors=_PBX_ERRORS,
)
@_pbx_errors
async def reboot_device(request: web.Request) -> web.Response:
    return await _check_sync(request, reboot=True)


add_routes = api.add_to
