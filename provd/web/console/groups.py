"""Hunt groups of one tenant: each with its policy, times, overflow and members in ring
order; add, edit and remove a group, add a member (a user or an outside number) at a
position and remove one.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import ProvdError
from provd.domain.groups import DEFAULT_RING_SECONDS, MAX_WAIT_SECONDS, RING_SECONDS, Policy
from provd.services import groups
from provd.services.destinations import describe
from provd.services.directory import Tenant, tenants, users
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import destinations, scope
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
"""``failed`` for the add-a-group form; a group's own forms use its extension."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Group {} added."),
    ("saved", "ok", "Group {} saved."),
    ("removed", "ok", "Group {} removed."),
    ("member_added", "ok", "Member added to group {}."),
    ("member_removed", "ok", "Member removed from group {}."),
)
POLICIES: tuple[tuple[str, str], ...] = (
    (Policy.SIMULTANEOUS.value, "simultaneous: all ring at once"),
    (Policy.FIXED.value, "fixed order: one after the other"),
    (Policy.CIRCULAR.value, "circular: after the one who answered last"),
    (Policy.LONGEST_IDLE.value, "longest idle first"),
)


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> web.Response:
    """``failed``: the form ``values`` and ``errors`` belong to (ADD_FORM, a group's
    extension, or ``member-EXT`` for a group's add-member form)."""
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    return pages.render(
        request,
        "console/groups.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        groups=await groups.list_groups(tenant.slug),
        users=[(u.extension, u.display_name) for u, _ in await users.list_users(tenant.slug)],
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        policies=POLICIES,
        ring_range=RING_SECONDS,
        max_wait=MAX_WAIT_SECONDS,
        failed=failed,
        values=values or {},
        add_defaults={"policy": Policy.FIXED.value, "ring_seconds": str(DEFAULT_RING_SECONDS)},
        edit_values=_edit_values,
        errors=errors or no_errors(),
        clean=no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        describe=describe,
    )


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    """A group's edit form filled with what it is now."""
    return {
        "name": view["name"],
        "policy": view["policy"],
        "ring_seconds": str(view["ring_seconds"]),
        "total_wait_seconds": str(view["total_wait_seconds"]),
        **destinations.form_values("overflow", view["overflow"]),
    }


@auth.tenant_admin_allowed
async def groups_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str) -> web.HTTPSeeOther:
    query = urlencode({"tenant": tenant.slug, key: value})
    return web.HTTPSeeOther(f"/console/groups?{query}#group-{value}")


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


@auth.tenant_admin_allowed
async def group_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        view = await groups.add_group(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("extension", ""),
            values.get("name", ""),
            values.get("policy", ""),
            ring_seconds=whole_number(values.get("ring_seconds", ""), "ring_seconds"),
            total_wait_seconds=whole_number(
                values.get("total_wait_seconds", "") or "0", "total_wait_seconds"
            ),
            overflow=destinations.from_form(values, "overflow"),
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, "The group was not added", failed=ADD_FORM, values=values
        )
    raise _done(tenant, "added", view["extension"])


async def _group(tenant: Tenant, extension: str) -> dict[str, Any]:
    """The group's view; a group the tenant does not have answers 404."""
    try:
        return await groups.show_group(tenant.slug, extension)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


def _changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes, in the service's terms; what it leaves alone is not
    given, so an unchanged group is not saved (nor audited)."""
    changes: dict[str, Any] = {}
    for key in ("name", "policy"):
        if key in values and values[key].strip() != view[key]:
            changes[key] = values[key]
    for key in ("ring_seconds", "total_wait_seconds"):
        if key in values and values[key].strip() != str(view[key]):
            changes[key] = whole_number(values[key], key)
    overflow = destinations.from_form(values, "overflow")
    if "overflow_kind" in values and overflow != destinations.text_of(view["overflow"]):
        changes["overflow"] = overflow
    return changes


@auth.tenant_admin_allowed
async def group_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _group(tenant, request.match_info["extension"])
    extension = view["extension"]
    values = await form(request)
    try:
        changes = _changes(view, values)
        if not changes:
            return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
        await groups.update_group(
            platform(request), request[ACTOR], tenant.slug, extension, **changes
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, f"Group {extension} was not saved", failed=extension, values=values
        )
    raise _done(tenant, "saved", extension)


@auth.tenant_admin_allowed
async def group_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _group(tenant, request.match_info["extension"]))["extension"]
    try:
        await groups.remove_group(platform(request), request[ACTOR], tenant.slug, extension)
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Group {extension} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": extension})
    raise web.HTTPSeeOther(f"/console/groups?{query}")


@auth.tenant_admin_allowed
async def member_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _group(tenant, request.match_info["extension"]))["extension"]
    values = await form(request)
    user = values.get("user", "").strip()
    external = values.get("external", "").strip()
    position = values.get("position", "").strip()
    try:
        await groups.add_member(
            platform(request),
            request[ACTOR],
            tenant.slug,
            extension,
            user=user or None,
            external=external or None,
            position=whole_number(position, "position") if position else None,
        )
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            e,
            f"No member was added to group {extension}",
            failed=f"member-{extension}",
            values=values,
        )
    raise _done(tenant, "member_added", extension)


@auth.tenant_admin_allowed
async def member_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _group(tenant, request.match_info["extension"]))["extension"]
    try:
        position = whole_number(request.match_info["position"], "position")
        await groups.remove_member(
            platform(request), request[ACTOR], tenant.slug, extension, position=position
        )
    except ProvdError as e:
        return await _refused(request, tenant, e, f"No member was removed from group {extension}")
    raise _done(tenant, "member_removed", extension)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/groups", groups_page)
    r.add_post("/console/groups/{tenant}", group_add)
    r.add_post("/console/groups/{tenant}/{extension}", group_save)
    r.add_post("/console/groups/{tenant}/{extension}/remove", group_remove)
    r.add_post("/console/groups/{tenant}/{extension}/members", member_add)
    r.add_post("/console/groups/{tenant}/{extension}/members/{position}/remove", member_remove)
