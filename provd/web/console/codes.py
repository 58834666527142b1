"""The service codes a tenant's users dial, with what is the tenant's own: its night
switches by number (and their state now: a BLF key on the code shows it lit), who may
flip them, and the pickup prefix of BLF keys. Read only: the codes are the platform's,
the night switches are set on the Schedules page, the right on the user's page.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own.
"""

from __future__ import annotations

from aiohttp import web

from provd.services.directory import tenants
from provd.services.service_codes import tenant_codes
from provd.web import auth, pages
from provd.web.console import scope


@auth.tenant_admin_allowed
async def codes_page(request: web.Request) -> web.StreamResponse:
    tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    return pages.render(
        request,
        "console/codes.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        view=await tenant_codes(tenant.slug),
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/codes", codes_page)
