"""The Limits page of a tenant: its spend and call limits and each trunk's, what the
current hour, day and week have used, and the alerts sent at 80 % and 95 %.

Platform admins change limits here (one form per level, every value given: an empty
box is no limit); a tenant admin reads its own tenant's page only, as the limits are
the platform's brake on its spend. Another tenant's page answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import NotFound, ProvdError
from provd.services import limits
from provd.services.directory import Tenant
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import Errors, field_errors, form, no_errors, platform

FIELDS = ("hour", "day", "week", "calls_hour", "calls_day", "calls_week")


def page_path(tenant: str) -> str:
    return f"/console/limits/{tenant}"


async def _tenant(request: web.Request) -> Tenant:
    try:
        return await scope.tenant_named(request, request.match_info["tenant"])
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e


async def _render(
    request: web.Request,
    tenant: Tenant,
    *,
    level: str | None = None,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    flashes: list[tuple[str, str]] | None = None,
) -> web.Response:
    usage = await limits.usage_view(tenant.slug)
    alerts = await limits.list_alerts(tenant.slug)
    forms: dict[str, dict[str, Any]] = {}
    for view in usage["levels"]:
        key = view["trunk"] or ""
        stored = {f: "" if view[f] is None else str(view[f]) for f in FIELDS}
        stored["alert_email"] = view.get("alert_email") or ""
        forms[key] = values if values is not None and key == (level or "") else stored
    return pages.render(
        request,
        "console/limits.html",
        tenant=tenant,
        usage=usage,
        alerts=alerts,
        forms=forms,
        errored=level or "",
        errors=errors or no_errors(),
        flashes=flashes or [],
        may_change=scope.principal(request).is_admin,
        action=page_path(tenant.slug),
    )


@auth.tenant_admin_allowed
async def limits_page(request: web.Request) -> web.StreamResponse:
    tenant = await _tenant(request)
    flashes = [("ok", "Limits saved.")] if request.query.get("saved") else []
    return await _render(request, tenant, flashes=flashes)


async def limits_save(request: web.Request) -> web.StreamResponse:
    tenant = await _tenant(request)
    values = await form(request)
    trunk = values.get("trunk") or None
    changes: dict[str, object] = {f: values.get(f, "") for f in FIELDS}
    if trunk is None:
        changes["alert_email"] = values.get("alert_email", "")
    try:
        await limits.set_limits(
            platform(request), request[ACTOR], tenant.slug, changes, trunk=trunk
        )
    except ProvdError as e:
        errors = field_errors(e)
        response = await _render(
            request,
            tenant,
            level=trunk,
            values=values,
            errors=errors,
            flashes=[("error", f"Nothing was saved: {next(iter(errors.values()), '')}")],
        )
        response.set_status(404 if isinstance(e, NotFound) else 400)
        return response
    raise web.HTTPSeeOther(f"{page_path(tenant.slug)}?{urlencode({'saved': '1'})}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/limits/{tenant}", limits_page)
    app.router.add_post("/console/limits/{tenant}", limits_save)
