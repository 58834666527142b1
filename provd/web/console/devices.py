"""Device detail: lines, keys, VLAN, firmware resolution, masked config preview, actions."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.drivers.registry import get_model
from provd.pbx import PbxError
from provd.services import devices, firmware, layouts
from provd.services import pbx as pbx_service
from provd.services.devices import Device
from provd.services.devices import detail as device_detail
from provd.services.pbx import LineRegistration
from provd.services.provisioning import rendering
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    mac_text,
    no_errors,
    not_found,
    pbx_control,
    platform,
    when,
)

Flashes = list[tuple[str, str]]


async def _device(request: web.Request) -> Device:
    """The device the path names; another tenant's is as missing as an unknown one."""
    try:
        device = await devices.get_device(request.match_info["mac"])
    except (InvalidInput, NotFound):
        device = None
    if device is None or not scope.administers(request, device.tenant_id):  # type: ignore[attr-defined]
        raise web.HTTPNotFound(text=f"no device {request.match_info['mac']!r}")
    return device


async def _registration(
    request: web.Request, device: Device
) -> tuple[list[LineRegistration] | None, str]:
    try:
        found = await pbx_service.device_registrations(pbx_control(request), [device])
    except PbxError as e:
        return None, str(e)
    return found[device.mac], ""


async def _page(
    request: web.Request,
    device: Device,
    *,
    flashes: Flashes | None = None,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    p = platform(request)
    await device.fetch_related("tenant")
    view = await devices.device_view(device)
    lines, why = await _registration(request, device)
    keys = await layouts.effective_keys_view(device)
    events = await device_detail.events(device.mac)
    try:
        files, render_error = await rendering.render_all(p, device), ""
    except rendering.RenderError as e:
        # The rest of the page still helps to find and fix the setting at fault.
        files, render_error = {}, str(e)
    model = get_model(device.model)
    return pages.render(
        request,
        "console/device.html",
        device=device,
        view=view,
        form_values=values or view,
        model=model,
        module_choices=range(0, (model.expansion.max_count if model.expansion else 0) + 1),
        lines=view["lines"],
        registration={r.slot: r for r in lines} if lines is not None else None,
        registration_why=why,
        keys=[k for k in keys if k["function"] != "none"],
        key_levels=Counter(k["from"] for k in keys),
        network=device_detail.network_view(device, device.tenant),
        firmware=await firmware.device_firmware_view(p, device.mac),
        files={name: body.decode() for name, body in files.items()},
        render_error=render_error,
        events=events,
        actors=await device_detail.actor_labels(events, scope.principal(request).tenant_id),
        flashes=flashes or [],
        errors=errors or no_errors(),
        when=when,
        mac_text=mac_text,
    )


@auth.tenant_admin_allowed
async def device_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, await _device(request))


@auth.tenant_admin_allowed
async def save_settings(request: web.Request) -> web.StreamResponse:
    device = await _device(request)
    values = await form(request)
    try:
        device = await device_detail.update_settings(
            request[ACTOR],
            device.mac,
            name=values.get("name"),
            expansion_modules=values.get("expansion_modules"),
            vlan_lan=values.get("vlan_lan"),
            vlan_pc=values.get("vlan_pc"),
            lldp=values.get("lldp"),
        )
    except ProvdError as e:
        errors = field_errors(e, "settings")
        return await _page(
            request,
            device,
            flashes=[("error", "Nothing was saved: " + next(iter(errors.values())))],
            errors=errors,
            values=values,
        )
    return await _page(request, device, flashes=[("ok", "Settings saved.")])


def _check_sync_flash(outcome: pbx_service.DeviceCheckSync) -> tuple[str, str]:
    detail = "; ".join(
        f"line {line.slot} ({line.result.aor}): {line.text}" for line in outcome.lines
    )
    if outcome.delivered:
        return "ok", f"{outcome.action.capitalize()} sent: {detail}."
    hint = ""
    if all(line.text == "not registered" for line in outcome.lines):
        hint = (
            " The phone is not registered, so it cannot be reached:"
            " power it on or check its network."
        )
    return "error", f"{outcome.action.capitalize()} not delivered: {detail}.{hint}"


async def _check_sync(request: web.Request, *, reboot: bool) -> web.StreamResponse:
    device = await _device(request)
    action = "reboot" if reboot else "resync"
    try:
        outcome = await pbx_service.check_sync_device(
            pbx_control(request), request[ACTOR], device.mac, reboot=reboot
        )
        flash = _check_sync_flash(outcome)
    except PbxError as e:
        flash = ("error", f"Cannot {action}: {e}.")
    except ProvdError as e:
        flash = ("error", f"Cannot {action}: {next(iter(field_errors(e).values()))}.")
    return await _page(request, device, flashes=[flash])


@auth.tenant_admin_allowed
async def resync(request: web.Request) -> web.StreamResponse:
    return await _check_sync(request, reboot=False)


@auth.tenant_admin_allowed
async def reboot(request: web.Request) -> web.StreamResponse:
    return await _check_sync(request, reboot=True)


@auth.tenant_admin_allowed
async def reset(request: web.Request) -> web.StreamResponse:
    device = await devices.reset_device(request[ACTOR], (await _device(request)).mac)
    return await _page(
        request,
        device,
        flashes=[
            (
                "ok",
                "Unsealed: the tenant's bootstrap credential works again for this device "
                "until its next fetch with its own credentials.",
            )
        ],
    )


@auth.tenant_admin_allowed
async def remove(request: web.Request) -> web.StreamResponse:
    try:
        await devices.remove_device(request[ACTOR], (await _device(request)).mac)
    except NotFound as e:
        raise not_found(e) from e
    raise web.HTTPSeeOther("/console/?removed=1")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/devices/{mac}", device_page)
    r.add_post("/console/devices/{mac}/settings", save_settings)
    r.add_post("/console/devices/{mac}/resync", resync)
    r.add_post("/console/devices/{mac}/reboot", reboot)
    r.add_post("/console/devices/{mac}/reset", reset)
    r.add_post("/console/devices/{mac}/remove", remove)
