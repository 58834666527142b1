"""Firmware catalogue, pins per level, and starting a rollout.

The catalogue with its tested flags (a toggle each), every pin with a form to
set or clear one at the platform, a tenant or a device, and per model the way
to "update to recommended firmware": the new-rollout page for that model.
Importing an image stays on the command line (``provd firmware add``): files
of tens of megabytes are better streamed from the machine that holds them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound
from provd.domain.firmware import PinLevel
from provd.services import firmware
from provd.services.directory import tenants
from provd.services.firmware import view as firmware_view
from provd.web import auth, pages
from provd.web.console.helpers import query_flashes

LEVEL_NAMES = {PinLevel.PLATFORM: "platform", PinLevel.TENANT: "tenant", PinLevel.DEVICE: "device"}


def _text(values: Any, name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


_FLASHES = [
    ("tested", "ok", "Firmware {} is marked tested: it can be pinned."),
    ("untested", "ok", "Firmware {} is no longer marked tested."),
    ("pinned", "ok", "Pinned: {}."),
    ("unpinned", "ok", "Pin removed: {}."),
]


async def _page(
    request: web.Request, *, error: str = "", form: dict[str, str] | None = None
) -> web.Response:
    images = await firmware.list_images()
    flashes = query_flashes(request, _FLASHES) + ([("error", error)] if error else [])
    return pages.render(
        request,
        "console/firmware.html",
        images=images,
        pins=await firmware_view.pins(),
        overview=await firmware_view.models_overview(images),
        tenants=await tenants.list_tenants(),
        level_names=LEVEL_NAMES,
        levels=PinLevel,
        form=form or {},
        human_size=human_size,
        flashes=flashes,
    )


async def index(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(**params: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/console/firmware?" + urlencode(params))


async def mark_tested(request: web.Request) -> web.StreamResponse:
    values = await request.post()
    tested = _text(values, "tested") == "1"
    try:
        image = await firmware.set_tested(
            request[auth.ACTOR], sha256=_text(values, "sha256"), tested=tested
        )
    except (InvalidInput, NotFound) as e:
        return await _page(request, error=str(e))
    raise _done(**{"tested" if tested else "untested": image.version})


async def change_pin(request: web.Request) -> web.StreamResponse:
    values = await request.post()
    form = {name: _text(values, name) for name in ("level", "tenant", "device", "model", "sha256")}
    level = form["level"]
    actor = request[auth.ACTOR]
    try:
        if level not in ("platform", "tenant", "device"):
            raise InvalidInput("level", "choose platform, tenant or device")
        scope = await firmware.pin_scope(
            tenant=form["tenant"] if level == "tenant" else None,
            device=form["device"] if level == "device" else None,
        )
        if level == "tenant" and scope.tenant is None:
            raise InvalidInput("tenant", "choose the tenant")
        if level == "device" and scope.device is None:
            raise InvalidInput("device", "give the device's MAC address")
        # A device pin is for the device's own model, whatever the form's model says.
        model = None if level == "device" else form["model"] or None
        if _text(values, "action") == "clear":
            model_id = await firmware.remove_pin(actor, scope, model=model)
            raise _done(unpinned=f"{model_id} at {scope.label}")
        if not form["sha256"]:
            raise InvalidInput("version", "choose a tested firmware")
        pin = await firmware.set_pin(actor, scope, model=model, sha256=form["sha256"])
    except (InvalidInput, NotFound) as e:
        return await _page(request, error=str(e), form=form)
    await pin.fetch_related("image")
    raise _done(pinned=f"{pin.model} {pin.image.version} at {scope.label}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/firmware", index)
    r.add_post("/console/firmware/tested", mark_tested)
    r.add_post("/console/firmware/pins", change_pin)
