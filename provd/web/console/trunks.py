"""Customer SIP trunks of one tenant: each with its accounts' registration, its channels
in use, allowed addresses, numbers and failover; the wizard that adds one (name,
channels, format, allowed addresses, numbers with their flags, failover; then the
accounts page, the one time their passwords are shown); editing, numbers, a new
password per account, and removal.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import ProvdError
from provd.domain.trunks import BRANDS
from provd.services import numbers, trunks
from provd.services.destinations import describe
from provd.services.directory import Tenant, tenants
from provd.services.trunks import AUTH_ACCOUNTS, AUTH_IP, DEFAULT_RING_SECONDS, NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.numbers import add_number, remove_number
from provd.services.trunks.passwords import regenerate_password
from provd.services.trunks.remove import remove_trunk
from provd.services.trunks.status import trunk_status
from provd.services.trunks.update import update_trunk
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import destinations, scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    pbx_control,
    platform,
    query_flashes,
    whole_number,
)

Flashes = list[tuple[str, str]]
ADD_FORM = "add"
_REDIRECT_FLASHES = (
    ("saved", "ok", "Trunk {} saved."),
    ("removed", "ok", "Trunk {} removed."),
    ("number_added", "ok", "Number saved on trunk {}."),
    ("number_removed", "ok", "Number taken off trunk {}."),
)
FORMATS: tuple[tuple[str, str], ...] = (
    ("e164", "E.164: +31201234567"),
    ("00", "international: 0031201234567"),
    ("national", "national: 0201234567"),
)
POLICIES: tuple[tuple[str, str], ...] = (
    ("replace", "replace it by the main number"),
    ("refuse", "refuse the call"),
)


def _networks(text: str) -> list[str]:
    """The allowed addresses typed one per line (or separated by commas or spaces)."""
    return text.replace(",", " ").split()


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> web.Response:
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    views = await trunks.list_trunks(tenant.slug)
    return pages.render(
        request,
        "console/trunks.html",
        status=status,
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        trunks=views,
        state=await trunk_status(pbx_control(request), tenant.sip_domain, views),
        numbers=await numbers.list_numbers(tenant.slug),
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        formats=FORMATS,
        policies=POLICIES,
        brands=BRANDS,
        failed=failed,
        values=values or {},
        add_defaults={
            "channels": "2",
            "format": "e164",
            "brand": "other",
            "auth": AUTH_ACCOUNTS,
            "caller_id_policy": "replace",
            "ring_seconds": str(DEFAULT_RING_SECONDS),
        },
        edit_values=_edit_values,
        errors=errors or no_errors(),
        clean=no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        describe=describe,
        auth_ip=AUTH_IP,
    )


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    return {
        "channels": str(view["channels"]),
        "allow_ips": "\n".join(view["allow_ips"]),
        "format": view["format"],
        "brand": view["brand"],
        "address": view["address"] or "",
        "caller_id_policy": view["caller_id_policy"],
        "main_number": view["main_number"] or "",
        "ring_seconds": str(view["ring_seconds"]),
        "enabled": "on" if view["enabled"] else "",
        **destinations.form_values("failover", view["failover"]),
    }


@auth.tenant_admin_allowed
async def trunks_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str) -> web.HTTPSeeOther:
    query = urlencode({"tenant": tenant.slug, key: value})
    return web.HTTPSeeOther(f"/console/trunks?{query}#trunk-{value}")


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


def _wizard_numbers(values: dict[str, str], offered: list[str]) -> list[NumberOnTrunk]:
    """The numbers ticked in the wizard, each with its two flags."""
    picked = []
    for e164 in offered:
        inbound = values.get(f"inbound:{e164}") == "on"
        caller_id = values.get(f"caller_id:{e164}") == "on"
        if inbound or caller_id:
            picked.append(NumberOnTrunk(e164, inbound=inbound, caller_id=caller_id))
    return picked


def _accounts_page(
    request: web.Request, tenant: Tenant, view: dict[str, Any], passwords: dict[str, str]
) -> web.Response:
    """The wizard's last step (and a new password's page): shown once, never stored."""
    response = pages.render(
        request,
        "console/trunk_accounts.html",
        tenant=tenant,
        trunk=view,
        passwords=passwords,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@auth.tenant_admin_allowed
async def trunk_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    offered = [n.e164 for n in await numbers.list_numbers(tenant.slug)]
    ip_auth = values.get("auth") == AUTH_IP
    try:
        made = await add_trunk(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("name", ""),
            channels=whole_number(values.get("channels", ""), "channels"),
            allow_ips=_networks(values.get("allow_ips", "")),
            number_format=values.get("format", ""),
            brand=values.get("brand", ""),
            auth=values.get("auth", AUTH_ACCOUNTS),
            address=values.get("address", "").strip() or None if ip_auth else None,
            caller_id_policy=values.get("caller_id_policy", ""),
            numbers=_wizard_numbers(values, offered),
            failover=destinations.from_form(values, "failover"),
            ring_seconds=whole_number(values.get("ring_seconds", ""), "ring_seconds"),
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, "The trunk was not added", failed=ADD_FORM, values=values
        )
    return _accounts_page(request, tenant, made.view, made.passwords)


async def _trunk(tenant: Tenant, name: str) -> dict[str, Any]:
    try:
        return await trunks.show_trunk(tenant.slug, name)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


def _changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes, in the service's terms (unchanged: not given)."""
    changes: dict[str, Any] = {}
    for key, arg in (
        ("format", "number_format"),
        ("brand", "brand"),
        ("caller_id_policy", "caller_id_policy"),
    ):
        if key in values and values[key] != view[key]:
            changes[arg] = values[key]
    for key in ("channels", "ring_seconds"):
        if key in values and values[key].strip() != str(view[key]):
            changes[key] = whole_number(values[key], key)
    if "allow_ips" in values and _networks(values["allow_ips"]) != view["allow_ips"]:
        changes["allow_ips"] = _networks(values["allow_ips"])
    if "address" in values and (values["address"].strip() or None) != view["address"]:
        changes["address"] = values["address"]
    main = values.get("main_number", "").strip()
    if "main_number" in values and (main or None) != view["main_number"]:
        changes["main_number"] = main or "none"
    enabled = values.get("enabled") == "on"
    if enabled != view["enabled"]:
        changes["enabled"] = enabled
    failover = destinations.from_form(values, "failover")
    if "failover_kind" in values and failover != destinations.text_of(view["failover"]):
        changes["failover"] = failover
    return changes


@auth.tenant_admin_allowed
async def trunk_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _trunk(tenant, request.match_info["name"])
    name = view["name"]
    values = await form(request)
    try:
        changes = _changes(view, values)
        if not changes:
            return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
        await update_trunk(platform(request), request[ACTOR], tenant.slug, name, **changes)
    except ProvdError as e:
        return await _refused(
            request, tenant, e, f"Trunk {name} was not saved", failed=name, values=values
        )
    raise _done(tenant, "saved", name)


@auth.tenant_admin_allowed
async def trunk_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _trunk(tenant, request.match_info["name"]))["name"]
    try:
        await remove_trunk(platform(request), request[ACTOR], tenant.slug, name)
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Trunk {name} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": name})
    raise web.HTTPSeeOther(f"/console/trunks?{query}")


@auth.tenant_admin_allowed
async def number_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _trunk(tenant, request.match_info["name"]))["name"]
    values = await form(request)
    given = NumberOnTrunk(
        values.get("number", ""),
        inbound=values.get("inbound") == "on",
        caller_id=values.get("caller_id") == "on",
    )
    try:
        await add_number(platform(request), request[ACTOR], tenant.slug, name, given)
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            e,
            f"No number was saved on trunk {name}",
            failed=f"number-{name}",
            values=values,
        )
    raise _done(tenant, "number_added", name)


@auth.tenant_admin_allowed
async def number_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _trunk(tenant, request.match_info["name"]))["name"]
    try:
        await remove_number(
            platform(request), request[ACTOR], tenant.slug, name, request.match_info["number"]
        )
    except ProvdError as e:
        return await _refused(request, tenant, e, f"No number was taken off trunk {name}")
    raise _done(tenant, "number_removed", name)


@auth.tenant_admin_allowed
async def password_new(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _trunk(tenant, request.match_info["name"]))["name"]
    try:
        made = await regenerate_password(
            platform(request), request[ACTOR], tenant.slug, name, request.match_info["role"]
        )
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Trunk {name} kept its passwords")
    return _accounts_page(request, tenant, made.view, made.passwords)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/trunks", trunks_page)
    r.add_post("/console/trunks/{tenant}", trunk_add)
    r.add_post("/console/trunks/{tenant}/{name}", trunk_save)
    r.add_post("/console/trunks/{tenant}/{name}/remove", trunk_remove)
    r.add_post("/console/trunks/{tenant}/{name}/numbers", number_add)
    r.add_post("/console/trunks/{tenant}/{name}/numbers/{number}/remove", number_remove)
    r.add_post("/console/trunks/{tenant}/{name}/accounts/{role}/password", password_new)
