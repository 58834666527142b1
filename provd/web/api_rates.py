"""REST routes for rates. Without ``tenant`` they are the platform's table, for admins
only. With it, a tenant's overrides: a tenant admin reads its own (any other answers as
a tenant that does not exist); only admins import, because a tenant's prices are what
its spend limits count."""

from __future__ import annotations

from aiohttp import web

from provd.domain.device_csv import ImportRefused
from provd.domain.errors import InvalidInput
from provd.domain.rate_csv import COLUMNS, MAX_BYTES
from provd.services import rating
from provd.web import auth
from provd.web.contract import Api, ErrorReply, Param, Reply, error_response
from provd.web.schemas.devices import CsvErrors
from provd.web.schemas.rates import RateImport, RateTable
from provd.web.tenant_scope import query_tenant

api = Api()

_TENANT_Q = Param(
    "tenant",
    description="A tenant's overrides; without it the platform's table (admins only)."
    " A tenant admin always gets its own",
)
_TRUE = ("1", "true", "yes", "on")


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/rates",
    "A rate table in the order a look-up tries it: prefixes, longest first, then call types",
    ok={200: Reply("The table", RateTable)},
    parameters=[_TENANT_Q],
)
async def list_rates(request: web.Request) -> web.Response:
    found = await rating.list_rates(await query_tenant(request))
    return web.json_response(found.view())


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/rates/export",
    "A rate table as CSV in the columns the import reads",
    ok={
        200: Reply(
            "The CSV file (Content-Disposition: attachment)",
            media_type="text/csv",
            schema={"type": "string"},
        )
    },
    parameters=[_TENANT_Q],
)
async def export_rates(request: web.Request) -> web.Response:
    tenant = await query_tenant(request)
    text, _ = await rating.export_table(tenant)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="rates-{tenant or "platform"}.csv"'},
    )


async def _body(request: web.Request) -> bytes | None:
    """Every byte of the body, or None past the bound (nothing read beyond it)."""
    if (request.content_length or 0) > MAX_BYTES:
        return None
    data = bytearray()
    try:
        while chunk := await request.content.readany():
            data += chunk
            if len(data) > MAX_BYTES:
                return None
    except (OSError, web.RequestPayloadError):
        raise InvalidInput(
            "file", "the upload ended before the end of the file: nothing was imported"
        ) from None
    return bytes(data)


@api.route(
    "POST",
    "/rates/import",
    "Replace a rate table with the CSV body, all or nothing. Columns "
    + ",".join(COLUMNS)
    + " (header in any order; comma, semicolon or tab separated). An empty platform table"
    " goes back to the shipped example table. 400 lists every error by row (the header is"
    " row 1) and column",
    ok={
        200: Reply("What changed", RateImport),
        400: Reply("Nothing imported: the first error, and every error by row", CsvErrors),
        413: Reply("Nothing imported: the file is larger than 1 MB", ErrorReply),
    },
    parameters=[
        Param("tenant", description="Replace this tenant's overrides (default: the platform's)"),
        Param("dry_run", type="boolean", description="Check and report only; nothing is written"),
    ],
    raw_body={"text/csv": {"type": "string"}},
)
async def import_rates(request: web.Request) -> web.Response:
    data = await _body(request)
    if data is None:
        return error_response(413, "is larger than 1 MB: nothing was imported", "file")
    try:
        result = await rating.import_table(
            request[auth.ACTOR],
            data,
            tenant=request.query.get("tenant") or None,
            dry_run=request.query.get("dry_run", "").lower() in _TRUE,
        )
    except ImportRefused as refused:
        return web.json_response(
            {"error": refused.as_dict(), "errors": [e.as_dict() for e in refused.errors]},
            status=400,
        )
    return web.json_response(result.view())


add_routes = api.add_to
