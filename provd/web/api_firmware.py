"""REST routes for the firmware catalogue, pins, and a device's firmware.

An upload is the raw file as the request body (``Content-Type:
application/octet-stream``), described by query parameters: ``model``
(repeated for each model it fits), ``version``, ``filename``, and optionally
``sha256``, ``tested`` and ``notes``. The body is streamed into the store and
hashed on the way; it is never held in memory.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.firmware.store import CHUNK_BYTES, MAX_BYTES
from provd.services import firmware
from provd.web.app_keys import PLATFORM
from provd.web.auth import ACTOR
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.firmware import (
    DeviceFirmware,
    Firmware,
    FirmwareListed,
    FirmwarePin,
    FirmwarePinIn,
    FirmwareUploaded,
    TestedIn,
)

api = Api()
_UPLOAD_PARAMS = [
    Param("model", required=True, description="Repeat for each model the file fits"),
    Param("version", required=True),
    Param("filename", required=True, description="The name phones will see"),
    Param("sha256", description="Refused on mismatch"),
    Param("tested", type="boolean"),
    Param("notes"),
]
_PIN_SCOPE = [Param("model"), Param("tenant"), Param("device", description="MAC")]


def _only(request: web.Request, allowed: list[Param]) -> None:
    names = {p.name for p in allowed}
    for key in request.query:
        if key not in names:
            raise InvalidInput(key, "is not a known field")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(text: str | None, *, field: str) -> bool:
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise InvalidInput(field, f"{text!r}: use true or false")


@api.route(
    "POST",
    "/firmware",
    "Upload a firmware file (the raw body, streamed and hashed into the store); "
    "the same file again with the same version and models changes nothing",
    ok={
        201: Reply("Stored (created: true)", FirmwareUploaded),
        200: Reply("Already stored (created: false)", FirmwareUploaded),
    },
    parameters=_UPLOAD_PARAMS,
    raw_body={"application/octet-stream": {"type": "string", "format": "binary"}},
)
async def upload(request: web.Request) -> web.Response:
    q = request.query
    _only(request, _UPLOAD_PARAMS)
    filename = q.get("filename")
    if not filename:
        raise InvalidInput("filename", "is required (the name phones will see)")
    new = firmware.check_new_image(
        q.getall("model", []),
        q.get("version", ""),
        filename,
        notes=q.get("notes", ""),
        tested=_flag(q.get("tested"), field="tested"),
        sha256=q.get("sha256"),
    )
    if request.content_length is not None and request.content_length > MAX_BYTES:
        raise InvalidInput("file", f"is larger than the {MAX_BYTES // 1024**2} MiB limit")
    added = await firmware.add_image(
        request.app[PLATFORM], request[ACTOR], new, request.content.iter_chunked(CHUNK_BYTES)
    )
    view = firmware.image_view(added.image) | {"created": added.created}
    return web.json_response(view, status=201 if added.created else 200)


@api.route(
    "GET",
    "/firmware",
    "Stored firmware images with where each is pinned, oldest version first",
    ok={200: Reply("Images", list[FirmwareListed])},
    parameters=[Param("model")],
)
async def list_images(request: web.Request) -> web.Response:
    return web.json_response(await firmware.list_images_view(request.query.get("model")))


@api.with_body(
    "POST",
    "/firmware/{sha256}/tested",
    'Mark an image tested (body optional; {"tested": false} withdraws the mark,'
    " refused while it is pinned)",
    TestedIn,
    ok={200: Reply("The image", Firmware)},
    parameters=[Param("sha256", "path", required=True, description="8 to 64 leading hex digits")],
    required=False,
)
async def mark_tested(request: web.Request, body: TestedIn) -> web.Response:
    image = await firmware.set_tested(
        request[ACTOR], sha256=request.match_info["sha256"], model=body.model, tested=body.tested
    )
    return web.json_response(firmware.image_view(image))


@api.with_body(
    "PUT",
    "/firmware/pins",
    "Pin a tested image for a model: platform default, tenant override or device pin",
    FirmwarePinIn,
    ok={200: Reply("The pin", FirmwarePin)},
)
async def put_pin(request: web.Request, body: FirmwarePinIn) -> web.Response:
    scope = await firmware.pin_scope(tenant=body.tenant, device=body.device)
    pin = await firmware.set_pin(
        request[ACTOR], scope, model=body.model, version=body.version, sha256=body.sha256
    )
    return web.json_response(firmware.pin_view(pin))


@api.route(
    "DELETE",
    "/firmware/pins",
    "Remove a pin (platform when neither tenant nor device is given)",
    ok={204: Reply("Removed")},
    parameters=_PIN_SCOPE,
)
async def delete_pin(request: web.Request) -> web.Response:
    q = request.query
    _only(request, _PIN_SCOPE)
    scope = await firmware.pin_scope(tenant=q.get("tenant"), device=q.get("device"))
    await firmware.remove_pin(request[ACTOR], scope, model=q.get("model"))
    return web.Response(status=204)


@api.route(
    "GET",
    "/devices/{mac}/firmware",
    "The firmware a device should run, where that comes from, what it reports"
    " (HTTP and SIP User-Agent) and whether it drifted",
    ok={200: Reply("Expected and running", DeviceFirmware)},
)
async def device_firmware(request: web.Request) -> web.Response:
    view = await firmware.device_firmware_view(request.app[PLATFORM], request.match_info["mac"])
    return web.json_response(view)


add_routes = api.add_to
