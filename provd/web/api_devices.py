"""REST routes for devices: the device itself, and CSV import and export of many.

The CSV routes are open to installers, confined to their tenant: a file row naming
another tenant is a row error, and asking for another tenant's export is "not found".
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from provd.domain.device_csv import MAX_ROWS
from provd.domain.errors import InvalidInput
from provd.services import devices
from provd.services.devices import csv_io as device_csv
from provd.services.directory import tenants
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, ErrorReply, Param, Reply, error_response
from provd.web.schemas.devices import (
    CsvErrors,
    CsvImport,
    Device,
    DeviceCreated,
    DeviceIn,
    DevicePatch,
)

api = Api()
_TENANT_Q = Param("tenant", description="Only this tenant's")
_CSV_TENANT_Q = Param(
    "tenant", description="Admins: the tenant (default: every tenant). Installers: their own only"
)


@api.route(
    "GET",
    "/devices",
    "List devices",
    ok={200: Reply("Devices", list[Device])},
    parameters=[_TENANT_Q],
)
async def list_devices(request: web.Request) -> web.Response:
    rows = await devices.list_devices(request.query.get("tenant"))
    return web.json_response([await devices.device_view(d) for d in rows])


@api.with_body(
    "POST",
    "/devices",
    "Add a device; the answer carries its provisioning credentials",
    DeviceIn,
    ok={201: Reply("Created", DeviceCreated)},
)
async def add_device(request: web.Request, body: DeviceIn) -> web.Response:
    device, credential = await devices.add_device(
        request.app[PLATFORM],
        request[auth.ACTOR],
        body.mac,
        body.model,
        tenant_slug=body.tenant or tenants.DEFAULT_TENANT,
        users=body.users,
        password=body.password,
        name=body.name or "",
    )
    view = await devices.device_view(device)
    view["provisioning"] = {
        "url": credential.url,
        "username": credential.username,
        "password": credential.password,
    }
    return web.json_response(view, status=201)


@api.route("GET", "/devices/{mac}", "Show a device", ok={200: Reply("The device", Device)})
async def show_device(request: web.Request) -> web.Response:
    device = await devices.get_device(request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


@api.route("DELETE", "/devices/{mac}", "Remove a device", ok={204: Reply("Removed")})
async def remove_device(request: web.Request) -> web.Response:
    await devices.remove_device(request[auth.ACTOR], request.match_info["mac"])
    return web.Response(status=204)


@api.with_body(
    "PATCH",
    "/devices/{mac}",
    "Change a device's expansion modules and VLAN/LLDP overrides",
    DevicePatch,
    ok={200: Reply("The device", Device)},
)
async def patch_device(request: web.Request, body: DevicePatch) -> web.Response:
    device = await devices.update_device(
        request[auth.ACTOR], request.match_info["mac"], **body.model_dump()
    )
    return web.json_response(await devices.device_view(device))


@api.route(
    "POST",
    "/devices/{mac}/reset",
    "Unseal a device so that its tenant's bootstrap credential works again",
    ok={200: Reply("The device", Device)},
)
async def reset_device(request: web.Request) -> web.Response:
    device = await devices.reset_device(request[auth.ACTOR], request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


# --- CSV import and export ---------------------------------------------------------

_TRUE = ("1", "true", "yes", "on")


async def _tenant(request: web.Request) -> str | None:
    return await device_csv.scope_tenant(
        request[auth.PRINCIPAL], request.query.get("tenant") or None
    )


class _TooLarge(Exception):
    """The body is over the import's bound: answered 413, nothing read beyond it."""


_TOO_LARGE = (
    f"is larger than {device_csv.MAX_BYTES // 1024**2} MB: "
    f"split it (at most {MAX_ROWS:,} devices a file)"
)

# A form's file, its part headers and a few small fields besides.
_FORM_BOUND = device_csv.MAX_BYTES + 64 * 1024


async def _whole_body(request: web.Request) -> bytes:
    """Every byte of the body. ``content.read(n)`` would return only what has
    arrived so far: a file cut at a network chunk, imported as if it were whole."""
    data = bytearray()
    while chunk := await request.content.readany():
        data += chunk
        # Also bounds a compressed body, which aiohttp inflates as it reads.
        if len(data) > device_csv.MAX_BYTES:
            raise _TooLarge
    return bytes(data)


async def _form_file(request: web.Request) -> bytes:
    """The form's ``file`` field, held in memory within the bound (``request.post()``
    would spool up to the app's 16 MB to a temporary file). The whole form is read
    to its closing boundary: a part cut short by the end of the body ends without
    an error of its own."""
    found: bytes | None = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("file", "send the CSV as the form field file, not a nested form")
        data = bytearray()
        while chunk := await part.read_chunk():
            async for decoded in part.decode_iter(chunk):
                data += decoded
            if len(data) > device_csv.MAX_BYTES or request.content.total_bytes > _FORM_BOUND:
                raise _TooLarge
        if part.name == "file" and found is None:
            found = bytes(data)
    if found is None:
        raise InvalidInput("file", "send the CSV as the body, or as the form field file")
    return found


async def _file(request: web.Request) -> bytes:
    """The CSV body, or its ``file`` field when a form posts it (``curl -F file=@…``)."""
    form = request.content_type == "multipart/form-data"
    if (request.content_length or 0) > (_FORM_BOUND if form else device_csv.MAX_BYTES):
        raise _TooLarge
    try:
        return await (_form_file(request) if form else _whole_body(request))
    except (OSError, web.RequestPayloadError):
        # The client went away or broke the framing before the end of the body.
        raise InvalidInput(
            "file", "the upload ended before the end of the file: nothing was imported"
        ) from None
    except ValueError:
        # aiohttp's word for a form without its closing boundary (cut short) or garbled.
        raise InvalidInput(
            "file", "is not a complete multipart form (cut short?): nothing was imported"
        ) from None


@auth.installer_allowed
@api.route(
    "POST",
    "/devices/import",
    "Add or update devices from a CSV file, all or nothing. Columns "
    + ",".join(device_csv.COLUMNS)
    + " (header in any order; comma, semicolon or tab separated; UTF-8, BOM "
    "allowed; at most 10,000 rows and 5 MB). 400 lists every error by row "
    "(the header is row 1) and column",
    ok={
        200: Reply("Counts and changes", CsvImport),
        400: Reply(
            "Nothing imported: the first error, and every error by row; or the upload ended "
            "before the end of the file",
            CsvErrors,
        ),
        413: Reply("Nothing imported: the file is larger than 5 MB", ErrorReply),
    },
    parameters=[
        _CSV_TENANT_Q,
        Param("dry_run", type="boolean", description="Check and report only; nothing is written"),
    ],
    raw_body={"text/csv": {"type": "string"}},
)
async def import_devices(request: web.Request) -> web.Response:
    tenant = await _tenant(request)
    try:
        data = await _file(request)
    except _TooLarge:
        return error_response(413, _TOO_LARGE, "file")
    try:
        result = await device_csv.import_devices(
            request.app[PLATFORM],
            request[auth.ACTOR],
            data,
            tenant=tenant,
            dry_run=request.query.get("dry_run", "").lower() in _TRUE,
            principal=request[auth.PRINCIPAL],
        )
    except device_csv.ImportRefused as refused:
        return web.json_response(
            {"error": refused.as_dict(), "errors": [e.as_dict() for e in refused.errors]},
            status=400,
        )
    return web.json_response(result.view())


@auth.installer_allowed
@api.route(
    "GET",
    "/devices/export",
    "Devices as CSV, sorted by MAC, in the columns the import reads",
    ok={
        200: Reply(
            "The CSV file (Content-Disposition: attachment)",
            media_type="text/csv",
            schema={"type": "string"},
        )
    },
    parameters=[_CSV_TENANT_Q],
)
async def export_devices(request: web.Request) -> web.Response:
    tenant = await _tenant(request)
    text, _ = await device_csv.export_devices(tenant)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="devices-{tenant or "all"}.csv"'},
    )


def add_routes(app: web.Application) -> None:
    # The fixed paths /devices/import and /devices/export come after the
    # /devices/{mac} pattern; aiohttp resolves a fixed path first.
    api.add_to(app)
