"""Announcements of one tenant: an extension that plays one of the tenant's sounds a
few times and hangs up; add, edit and remove one.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist. A refusal names the field, as the service does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, ProvdError
from provd.services import announcements
from provd.services.directory import Tenant, tenants
from provd.services.menus import sounds
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    platform,
    query_flashes,
    whole_number,
)

Flashes = list[tuple[str, str]]
ADD_FORM = "add"
"""``failed`` for the add form; an announcement's edit form uses its extension."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Announcement {} added."),
    ("saved", "ok", "Announcement {} saved."),
    ("removed", "ok", "Announcement {} removed."),
)
_NO_SOUND = "pick a sound (upload one on the Sounds page first)"
_PAGE = "/console/announcements"


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    return {"name": view["name"], "sound": view["sound"], "plays": str(view["plays"])}


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> web.Response:
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    return pages.render(
        request,
        "console/announcements.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        announcements=await announcements.list_announcements(tenant.slug),
        sounds=[s["name"] for s in await sounds.list_sounds(tenant.slug)],
        max_plays=announcements.MAX_PLAYS,
        failed=failed,
        values=values or {},
        add_defaults={"plays": str(announcements.DEFAULT_PLAYS)},
        edit_values=_edit_values,
        errors=errors or no_errors(),
        clean=no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
    )


@auth.tenant_admin_allowed
async def announcements_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str) -> web.HTTPSeeOther:
    query = urlencode({"tenant": tenant.slug, key: value})
    return web.HTTPSeeOther(f"{_PAGE}?{query}#announcement-{value}")


async def _refused(
    request: web.Request,
    tenant: Tenant,
    e: ProvdError,
    what: str,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    errors = field_errors(e)
    message = f"{what}: {next(iter(errors.values()), '')}"
    return await _page(
        request, tenant, flashes=[("error", message)], failed=failed, values=values, errors=errors
    )


def _sound(values: dict[str, str]) -> str:
    sound = values.get("sound", "").strip()
    if not sound:
        raise InvalidInput("sound", _NO_SOUND)
    return sound


@auth.tenant_admin_allowed
async def announcement_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        view = await announcements.add_announcement(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("extension", ""),
            values.get("name", ""),
            _sound(values),
            plays=whole_number(values.get("plays", ""), "plays"),
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, "The announcement was not added", failed=ADD_FORM, values=values
        )
    raise _done(tenant, "added", view["extension"])


async def _announcement(tenant: Tenant, extension: str) -> dict[str, Any]:
    """The announcement's view; one the tenant does not have answers 404."""
    try:
        return await announcements.show_announcement(tenant.slug, extension)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


def _changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes; an unchanged announcement is not saved (nor audited)."""
    changes: dict[str, Any] = {}
    if "name" in values and values["name"].strip() != view["name"]:
        changes["name"] = values["name"]
    if "sound" in values and _sound(values) != view["sound"]:
        changes["sound"] = _sound(values)
    if "plays" in values and values["plays"].strip() != str(view["plays"]):
        changes["plays"] = whole_number(values["plays"], "plays")
    return changes


@auth.tenant_admin_allowed
async def announcement_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _announcement(tenant, request.match_info["extension"])
    extension = view["extension"]
    values = await form(request)
    try:
        changes = _changes(view, values)
        if not changes:
            return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
        await announcements.update_announcement(
            platform(request), request[ACTOR], tenant.slug, extension, **changes
        )
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            e,
            f"Announcement {extension} was not saved",
            failed=extension,
            values=values,
        )
    raise _done(tenant, "saved", extension)


@auth.tenant_admin_allowed
async def announcement_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _announcement(tenant, request.match_info["extension"]))["extension"]
    try:
        await announcements.remove_announcement(
            platform(request), request[ACTOR], tenant.slug, extension
        )
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Announcement {extension} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": extension})
    raise web.HTTPSeeOther(f"{_PAGE}?{query}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(_PAGE, announcements_page)
    r.add_post(_PAGE + "/{tenant}", announcement_add)
    r.add_post(_PAGE + "/{tenant}/{extension}", announcement_save)
    r.add_post(_PAGE + "/{tenant}/{extension}/remove", announcement_remove)
