"""The outbound policy page of a tenant or a user: blocked categories and a destination
whitelist (presets and prefixes), set in one form. (A trunk's is set through the API or
the CLI.)

The tenant page and the user page show the policy in a section that links here. The
form always gives all three parts, so an unticked box clears. Tenant admins reach their
own tenant's only; another tenant's answers 404 as a missing one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import NotFound, ProvdError
from provd.domain.outbound_policy import PRESET_REGIONS, Category, Preset
from provd.services import outbound
from provd.services.directory import Tenant
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import Errors, field_errors, form, no_errors, platform

CATEGORY_LABELS = {
    Category.INTERNATIONAL: "International (other countries)",
    Category.MOBILE: "Mobile",
    Category.PREMIUM: "Premium rate (0900, 0906, 0909)",
    Category.SERVICE: "Other service numbers (0800, shared cost, personal)",
}
PRESET_LABELS = {
    Preset.NL: "NL fixed and mobile",
    Preset.BENELUX: "Benelux",
    Preset.WESTERN_EUROPE: "Western Europe",
    Preset.EUROPE: "Europe",
    Preset.WORLDWIDE: "Worldwide",
}
_PREFIX_SPLIT = re.compile(r"[,;\s]+")


def page_path(tenant: str, user: str | None = None) -> str:
    if user is not None:
        return f"/console/outbound/{tenant}/users/{user}"
    return f"/console/outbound/{tenant}"


async def _level(request: web.Request) -> tuple[Tenant, str | None]:
    try:
        tenant = await scope.tenant_named(request, request.match_info["tenant"])
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    return tenant, request.match_info.get("extension")


def _form_values(view: dict[str, Any]) -> dict[str, str]:
    """The form filled with a stored policy."""
    values = {f"block_{c}": "on" for c in view["block"]}
    values.update({f"preset_{p}": "on" for p in view["allow_presets"]})
    values["allow_prefixes"] = " ".join(view["allow_prefixes"])
    return values


def _render(
    request: web.Request,
    tenant: Tenant,
    view: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    flashes: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> web.Response:
    response = pages.render(
        request,
        "console/outbound.html",
        tenant=tenant,
        view=view,
        action=page_path(tenant.slug, view["user"]),
        values=values if values is not None else _form_values(view),
        errors=errors or no_errors(),
        flashes=flashes or [],
        categories=CATEGORY_LABELS,
        presets=PRESET_LABELS,
        preset_regions={p: sorted(r) if r else None for p, r in PRESET_REGIONS.items()},
    )
    response.set_status(status)
    return response


@auth.tenant_admin_allowed
async def policy_page(request: web.Request) -> web.StreamResponse:
    tenant, user = await _level(request)
    try:
        view = await outbound.show_policy(tenant.slug, user=user)
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    flashes = [("ok", "Outbound policy saved.")] if request.query.get("saved") else []
    return _render(request, tenant, view, flashes=flashes)


@auth.tenant_admin_allowed
async def policy_save(request: web.Request) -> web.StreamResponse:
    tenant, user = await _level(request)
    values = await form(request)
    try:
        before = await outbound.show_policy(tenant.slug, user=user)
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e
    prefixes = [p for p in _PREFIX_SPLIT.split(values.get("allow_prefixes", "")) if p]
    try:
        after = await outbound.set_policy(
            platform(request),
            request[ACTOR],
            tenant.slug,
            user=user,
            block=[c.value for c in Category if values.get(f"block_{c}")],
            allow_presets=[p.value for p in Preset if values.get(f"preset_{p}")],
            allow_prefixes=prefixes,
        )
    except ProvdError as e:
        errors = field_errors(e)
        return _render(
            request,
            tenant,
            before,
            values=values,
            errors=errors,
            flashes=[("error", f"Nothing was saved: {next(iter(errors.values()), '')}")],
        )
    if after == before:
        return _render(request, tenant, after, flashes=[("warn", "Nothing changed.")])
    query = urlencode({"saved": "1"})
    raise web.HTTPSeeOther(f"{page_path(tenant.slug, user)}?{query}")


def add_routes(app: web.Application) -> None:
    r = app.router
    for path in (
        "/console/outbound/{tenant}",
        "/console/outbound/{tenant}/users/{extension}",
    ):
        r.add_get(path, policy_page)
        r.add_post(path, policy_save)
