"""REST routes for the firmware catalogue, pins, and a device's firmware.

An upload is the raw file as the request body (``Content-Type:
application/octet-stream``), described by query parameters: ``model``
(repeated for each model it fits), ``version``, ``filename``, and optionally
``sha256``, ``tested`` and ``notes``. The body is streamed into the store and
hashed on the way; it is never held in memory.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.firmware.store import CHUNK_BYTES, MAX_BYTES
from provd.services import firmware
from provd.web.api import ACTOR, PREFIX, _body, _check_keys, _str
from provd.web.app_keys import PLATFORM

_UPLOAD_PARAMS = {"model", "version", "filename", "sha256", "tested", "notes"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(text: str | None, *, field: str) -> bool:
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise InvalidInput(field, f"{text!r}: use true or false")


async def upload(request: web.Request) -> web.Response:
    q = request.query
    _check_keys(dict(q), _UPLOAD_PARAMS)
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


async def list_images(request: web.Request) -> web.Response:
    return web.json_response(await firmware.list_images_view(request.query.get("model")))


async def mark_tested(request: web.Request) -> web.Response:
    data: dict[str, Any] = await _body(request) if request.body_exists else {}
    _check_keys(data, {"tested", "model"})
    tested = data.get("tested", True)
    if not isinstance(tested, bool):
        raise InvalidInput("tested", "must be true or false")
    image = await firmware.set_tested(
        request[ACTOR],
        sha256=request.match_info["sha256"],
        model=_str(data, "model", required=False),
        tested=tested,
    )
    return web.json_response(firmware.image_view(image))


async def put_pin(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"model", "version", "sha256", "tenant", "device"})
    scope = await firmware.pin_scope(
        tenant=_str(data, "tenant", required=False), device=_str(data, "device", required=False)
    )
    pin = await firmware.set_pin(
        request[ACTOR],
        scope,
        model=_str(data, "model", required=False),
        version=_str(data, "version", required=False),
        sha256=_str(data, "sha256", required=False),
    )
    return web.json_response(firmware.pin_view(pin))


async def delete_pin(request: web.Request) -> web.Response:
    q = request.query
    _check_keys(dict(q), {"model", "tenant", "device"})
    scope = await firmware.pin_scope(tenant=q.get("tenant"), device=q.get("device"))
    await firmware.remove_pin(request[ACTOR], scope, model=q.get("model"))
    return web.Response(status=204)


async def device_firmware(request: web.Request) -> web.Response:
    view = await firmware.device_firmware_view(request.app[PLATFORM], request.match_info["mac"])
    return web.json_response(view)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(PREFIX + "/firmware", upload)
    r.add_get(PREFIX + "/firmware", list_images)
    r.add_post(PREFIX + "/firmware/{sha256}/tested", mark_tested)
    r.add_put(PREFIX + "/firmware/pins", put_pin)
    r.add_delete(PREFIX + "/firmware/pins", delete_pin)
    r.add_get(PREFIX + "/devices/{mac}/firmware", device_firmware)
