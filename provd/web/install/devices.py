"""The installer's CSV page: upload devices (every error shown by row and column),
download the export, find the printable sheet. Plain forms: works without script."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound
from provd.services import devices
from provd.services.devices import csv_io as device_csv
from provd.services.directory import tenants
from provd.web import auth, pages
from provd.web.app_keys import PLATFORM


async def page_tenant(request: web.Request, requested: object) -> str | None:
    """The tenant a page works on: an installer's own (another is "not found"), or
    the one an admin chose (None: every tenant)."""
    try:
        return await device_csv.scope_tenant(
            request[auth.PRINCIPAL], requested if isinstance(requested, str) else None
        )
    except NotFound:
        raise web.HTTPNotFound(text="no such tenant") from None


async def _page(request: web.Request, tenant: str | None, **context: Any) -> web.Response:
    principal = request[auth.PRINCIPAL]
    try:
        count = len(await devices.list_devices(tenant))
    except NotFound:
        raise web.HTTPNotFound(text="no such tenant") from None
    # 200 even for a refused file: the answer is the page with its errors.
    return pages.render(
        request,
        "install/devices.html",
        tenant=tenant,
        tenants=[t.slug for t in await tenants.list_tenants()] if principal.is_admin else [],
        device_count=count,
        columns=device_csv.COLUMNS,
        **({"result": None, "errors": []} | context),
    )


async def devices_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, await page_tenant(request, request.query.get("tenant")))


async def upload(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    tenant = await page_tenant(request, form.get("tenant") or None)
    dry_run = form.get("dry_run") == "1"
    file = form.get("file")
    if not isinstance(file, web.FileField) or not file.filename:
        return await _page(request, tenant, flashes=[("error", "Choose a CSV file to import.")])
    data = file.file.read(device_csv.MAX_BYTES + 1)
    try:
        result = await device_csv.import_devices(
            request.app[PLATFORM],
            request[auth.ACTOR],
            data,
            tenant=tenant,
            dry_run=dry_run,
            principal=request[auth.PRINCIPAL],
        )
    except device_csv.ImportRefused as refused:
        message = f"{file.filename}: {len(refused.errors)} error(s); nothing was imported."
        return await _page(request, tenant, errors=refused.errors, flashes=[("error", message)])
    except InvalidInput as e:
        return await _page(request, tenant, flashes=[("error", f"{e.field}: {e.message}")])
    return await _page(
        request,
        tenant,
        result=result,
        flashes=[("ok", f"{file.filename}: {result.summary}.")],
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/install/devices", devices_page)
    app.router.add_post("/install/devices", upload)
