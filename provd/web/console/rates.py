"""Rates: the platform's table (platform admins) and a tenant's overrides, listed in
the order a look-up tries them, downloaded as CSV and (platform admins only) replaced
by an uploaded file. A tenant admin sees its own tenant's overrides, read only."""

from __future__ import annotations

from aiohttp import web

from provd.domain.device_csv import ImportRefused
from provd.domain.errors import NotFound, ProvdError
from provd.services import rating
from provd.services.directory import tenants
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import field_errors, query_flashes

Flashes = list[tuple[str, str]]
_REDIRECT_FLASHES = (("imported", "ok", "Rates imported: {}."),)
_HEADINGS = {
    rating.Source.PLATFORM: "The platform's rates",
    rating.Source.SHIPPED: "The platform's rates: the example table shipped with provd",
    rating.Source.TENANT: "Overrides of tenant {}",
}


async def _scoped(request: web.Request, named: str | None) -> str | None:
    """The tenant whose overrides are shown (None: the platform's table). A tenant
    admin's own, whatever is asked; another tenant answers as an unknown one."""
    own = await scope.own_tenant(request)
    if own is not None:
        return own.slug
    return (await tenants.get_tenant(named)).slug if named else None


async def _page(
    request: web.Request,
    tenant: str | None,
    *,
    flashes: Flashes | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> web.Response:
    found = await rating.list_rates(tenant)
    admin = scope.principal(request).is_admin
    return pages.render(
        request,
        "console/rates.html",
        status=status,
        table=found.view(),
        heading=_HEADINGS[found.source].replace("{}", found.tenant or ""),
        tenant=found.tenant or "",
        tenants=[t.slug for t in await tenants.list_tenants()] if admin else [],
        may_import=admin,
        errors=errors or [],
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
    )


@auth.tenant_admin_allowed
async def rates_page(request: web.Request) -> web.StreamResponse:
    try:
        tenant = await _scoped(request, request.query.get("tenant", "").strip() or None)
    except NotFound as e:
        message = f"{e.kind} {e.key!r} not found"
        return await _page(request, None, flashes=[("error", message)], status=404)
    return await _page(request, tenant)


@auth.tenant_admin_allowed
async def rates_export(request: web.Request) -> web.StreamResponse:
    try:
        tenant = await _scoped(request, request.query.get("tenant", "").strip() or None)
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    text, _ = await rating.export_table(tenant)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="rates-{tenant or "platform"}.csv"'},
    )


async def rates_import(request: web.Request) -> web.StreamResponse:
    """Platform admins only (not marked for tenant admins): prices are what a tenant's
    spend limits count."""
    form = await request.post()
    named = form.get("tenant")
    tenant = named.strip() if isinstance(named, str) and named.strip() else None
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return await _page(
            request, None, flashes=[("error", "Nothing imported: choose a CSV file.")], status=400
        )
    data = upload.file.read(rating.MAX_BYTES + 1)
    try:
        result = await rating.import_table(request[ACTOR], data, tenant=tenant)
    except ImportRefused as refused:
        return await _page(
            request,
            tenant,
            flashes=[("error", f"Nothing imported: {len(refused.errors)} error(s) in the file.")],
            errors=[str(e) for e in refused.errors],
            status=400,
        )
    except ProvdError as e:
        message = next(iter(field_errors(e).values()), "")
        return await _page(
            request, None, flashes=[("error", "Nothing imported: " + message)], status=400
        )
    counts = (
        f"{len(result.added)} added, {len(result.changed)} changed,"
        f" {len(result.removed)} removed, {result.unchanged} unchanged"
    )
    query = {"imported": counts, **({"tenant": result.tenant} if result.tenant else {})}
    raise web.HTTPSeeOther(request.app.router["console-rates"].url_for().with_query(query))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/rates", rates_page, name="console-rates")
    r.add_get("/console/rates/export", rates_export)
    r.add_post("/console/rates", rates_import)
