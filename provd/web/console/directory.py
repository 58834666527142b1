"""Users and tenants: add and edit users and extensions, tenant defaults."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.domain.timezones import ZONES
from provd.services import outbound
from provd.services.directory import Tenant, User, tenants, user_view, users
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    mac_text,
    no_errors,
    platform,
    when,
)
from provd.web.console.user_page import EDIT, user_in_path
from provd.web.console.user_page import render as render_user

Flashes = list[tuple[str, str]]
_TENANT_DEFAULTS = ("vlan_lan", "vlan_pc", "lldp", "sip_proxy", "pickup_code", "timezone")


def _first(errors: Errors) -> str:
    return next(iter(errors.values()), "")


# --- users -------------------------------------------------------------------------------


async def _users_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    flashes: Flashes | None = None,
    created: tuple[User, Tenant, str] | None = None,
) -> web.Response:
    search = request.query.get("q", "")
    tenant = request.query.get("tenant", "")
    own = await scope.own_tenant(request)
    if own is not None:
        tenant = own.slug  # a tenant admin lists their own tenant's users, whatever is asked
    list_errors = no_errors()
    try:
        rows, matching = await user_view.search_users(search, tenant)
    except NotFound as e:
        list_errors = field_errors(e, "tenant")
        rows, matching = await user_view.search_users(search)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [own.slug]
    return pages.render(
        request,
        "console/users.html",
        rows=rows,
        matching=matching,
        search=search,
        tenant=tenant,
        tenants=slugs,
        values=values or {"tenant": tenant or tenants.DEFAULT_TENANT},
        errors=errors or no_errors(),
        list_errors=list_errors,
        flashes=flashes or [],
        created=created,
        mac_text=mac_text,
    )


@auth.tenant_admin_allowed
async def users_list(request: web.Request) -> web.StreamResponse:
    return await _users_page(request)


async def _tenant_of_new_user(request: web.Request, values: dict[str, str]) -> str:
    """The tenant a new user goes to: the one named, or a tenant admin's own."""
    own = await scope.own_tenant(request)
    named = values.get("tenant", "").strip()
    if own is None:
        return named or tenants.DEFAULT_TENANT
    if named and named.lower() != own.slug:
        raise InvalidInput("tenant", "you administer your own tenant only: leave it out")
    return own.slug


@auth.tenant_admin_allowed
async def user_add(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    try:
        user, password = await users.add_user(
            platform(request),
            request[ACTOR],
            await _tenant_of_new_user(request, values),
            values.get("extension", ""),
            values.get("name", ""),
        )
    except ProvdError as e:
        errors = field_errors(e)
        return await _users_page(
            request,
            values=values,
            errors=errors,
            flashes=[("error", "The user was not added: " + _first(errors))],
        )
    tenant = await tenants.tenant_by_id(user.tenant_id)  # type: ignore[attr-defined]
    return await _users_page(
        request,
        values={"tenant": tenant.slug},
        flashes=[("ok", f"User {user.extension} {user.display_name} added.")],
        created=(user, tenant, password),
    )


@auth.tenant_admin_allowed
async def user_page(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_in_path(request)
    return await render_user(request, user, tenant)


@auth.tenant_admin_allowed
async def user_save(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_in_path(request)
    values = await form(request)
    try:
        user = await user_view.update_user(
            platform(request),
            request[ACTOR],
            tenant.slug,
            user.extension,
            name=values.get("name"),
            new_extension=values.get("extension"),
        )
    except ProvdError as e:
        errors = field_errors(e, "settings")
        return await render_user(
            request,
            user,
            tenant,
            failed=EDIT,
            values=values,
            errors=errors,
            flashes=[("error", "Nothing was saved: " + _first(errors))],
        )
    raise web.HTTPSeeOther(f"/console/users/{tenant.slug}/{user.extension}?saved=1")


@auth.tenant_admin_allowed
async def user_remove(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_in_path(request)
    try:
        await users.remove_user(platform(request), request[ACTOR], tenant.slug, user.extension)
    except ProvdError as e:
        return await render_user(
            request, user, tenant, flashes=[("error", "Not removed: " + _first(field_errors(e)))]
        )
    return await _users_page(
        request, flashes=[("ok", f"User {user.extension} {user.display_name} removed.")]
    )


# --- tenants -----------------------------------------------------------------------------


async def _tenants_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    flashes: Flashes | None = None,
    created: tuple[Tenant, tenants.BootstrapCredential] | None = None,
) -> web.Response:
    rows = [tenants.tenant_view(t) for t in await tenants.list_tenants()]
    return pages.render(
        request,
        "console/tenants.html",
        rows=rows,
        zones=ZONES,
        values=values or {"timezone": "Europe/Amsterdam"},
        errors=errors or no_errors(),
        flashes=flashes or [],
        created=created,
        when=when,
    )


@auth.tenant_admin_allowed
async def tenants_list(request: web.Request) -> web.StreamResponse:
    own = await scope.own_tenant(request)
    if own is not None:
        # A tenant admin has one tenant: its page is their list.
        raise web.HTTPSeeOther(f"/console/tenants/{quote(own.slug, safe='')}")
    return await _tenants_page(request)


async def tenant_add(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    try:
        tenant, credential = await tenants.add_tenant(
            platform(request),
            request[ACTOR],
            values.get("slug", ""),
            name=values.get("name") or None,
            sip_domain=values.get("sip_domain") or None,
            timezone=values.get("timezone") or "Europe/Amsterdam",
        )
    except ProvdError as e:
        errors = field_errors(e)
        if "tenant" in errors:
            errors["slug"] = errors.pop("tenant")
        return await _tenants_page(
            request,
            values=values,
            errors=errors,
            flashes=[("error", "The tenant was not added: " + _first(errors))],
        )
    return await _tenants_page(
        request, flashes=[("ok", f"Tenant {tenant.slug} added.")], created=(tenant, credential)
    )


async def _tenant(request: web.Request) -> Tenant:
    try:
        return await scope.tenant_named(request, request.match_info["slug"])
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e


def _tenant_page(
    request: web.Request,
    tenant: Tenant,
    *,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
    flashes: Flashes | None = None,
    credential: tenants.BootstrapCredential | None = None,
) -> web.Response:
    return pages.render(
        request,
        "console/tenant.html",
        tenant=tenant,
        view=tenants.tenant_view(tenant),
        values=values or tenants.tenant_view(tenant),
        zones=ZONES,
        errors=errors or no_errors(),
        flashes=flashes or [],
        credential=credential,
        outbound=outbound.tenant_policy_view(tenant),
    )


@auth.tenant_admin_allowed
async def tenant_page(request: web.Request) -> web.StreamResponse:
    flashes: Flashes = [("ok", "Tenant defaults saved.")] if request.query.get("saved") else []
    return _tenant_page(request, await _tenant(request), flashes=flashes)


@auth.tenant_admin_allowed
async def tenant_save(request: web.Request) -> web.StreamResponse:
    tenant = await _tenant(request)
    values = await form(request)
    current = tenants.tenant_view(tenant)
    lldp = "on" if current["lldp"] else "off"
    changes = {
        key: values[key]
        for key in _TENANT_DEFAULTS
        if key in values and values[key].strip() != str(lldp if key == "lldp" else current[key])
    }
    if not changes:
        return _tenant_page(request, tenant, flashes=[("warn", "Nothing changed.")])
    try:
        await tenants.update_tenant(platform(request), request[ACTOR], tenant.slug, **changes)
    except ProvdError as e:
        errors = field_errors(e, "settings")
        return _tenant_page(
            request,
            tenant,
            values={**current, **values},
            errors=errors,
            flashes=[("error", "Nothing was saved: " + _first(errors))],
        )
    raise web.HTTPSeeOther(f"/console/tenants/{tenant.slug}?saved=1")


@auth.tenant_admin_allowed
async def tenant_bootstrap(request: web.Request) -> web.StreamResponse:
    """Show the tenant's bootstrap credential (a POST: it stays out of history and caches).

    Tenant admins see it too: it is their tenant's own secret, and they need it to
    point their factory-new phones at provd (DHCP option 66).
    """
    tenant = await _tenant(request)
    return _tenant_page(
        request, tenant, credential=tenants.bootstrap_credential(platform(request), tenant)
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/users", users_list)
    r.add_post("/console/users", user_add)
    r.add_get("/console/users/{tenant}/{extension}", user_page)
    r.add_post("/console/users/{tenant}/{extension}", user_save)
    r.add_post("/console/users/{tenant}/{extension}/remove", user_remove)
    r.add_get("/console/tenants", tenants_list)
    r.add_post("/console/tenants", tenant_add)
    r.add_get("/console/tenants/{slug}", tenant_page)
    r.add_post("/console/tenants/{slug}", tenant_save)
    r.add_post("/console/tenants/{slug}/bootstrap", tenant_bootstrap)
