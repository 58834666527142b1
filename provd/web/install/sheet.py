"""The printable sheet: per phone its user, extension and a QR code of the claim."""

from __future__ import annotations

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound
from provd.drivers.registry import MODELS
from provd.services.directory import tenants
from provd.services.installer import sheets
from provd.web import auth, pages
from provd.web.app_keys import PLATFORM
from provd.web.install import devices


def standalone_html(sheet: sheets.Sheet) -> str:
    """The sheet as one self-contained file (``provd sheet``): its CSS embedded, nothing
    fetched, so it prints the same from a laptop without access to provd."""
    css = (pages.STATIC_DIR / "sheet.css").read_text()
    return pages.environment.get_template("install/sheet_print.html").render(sheet=sheet, css=css)


async def sheet_page(request: web.Request) -> web.StreamResponse:
    query = request.query
    slug = await devices.page_tenant(request, query.get("tenant")) or tenants.DEFAULT_TENANT
    model = query.get("model") or None
    unclaimed = query.get("unclaimed") == "1"
    flashes: list[tuple[str, str]] = []
    try:
        found = await sheets.claim_sheet(
            request.app[PLATFORM], slug, model=model, unclaimed_only=unclaimed
        )
    except NotFound:
        raise web.HTTPNotFound(text="no such tenant") from None
    except InvalidInput as e:
        flashes.append(("error", f"{e.field}: {e.message}"))
        model = None
        found = await sheets.claim_sheet(request.app[PLATFORM], slug, unclaimed_only=unclaimed)
    principal = request[auth.PRINCIPAL]
    return pages.render(
        request,
        "install/sheet.html",
        sheet=found,
        models=MODELS,
        model=model,
        unclaimed=unclaimed,
        tenants=[t.slug for t in await tenants.list_tenants()] if principal.is_admin else [],
        flashes=flashes,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/install/sheet", sheet_page)
    devices.add_routes(app)
