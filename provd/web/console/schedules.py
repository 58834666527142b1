"""Schedules of one tenant and the number plans that follow them.

A schedule shows its rules, holidays, its state now and when that next changes (on the
tenant's clock), and its night switch, switched on, off or back to auto with one click
(optionally until a time). Schedules are added, edited and removed with their rules and
holidays one per line. A number plan (services.schedules.routes) sends a call to its
open, closed or holiday destination by its schedule's state.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from provd.domain.destinations import NONE
from provd.domain.errors import ProvdError
from provd.services import schedules
from provd.services.destinations import describe
from provd.services.directory import Tenant, tenants
from provd.services.schedules import NightSwitch, routes
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
    segment,
)

Flashes = list[tuple[str, str]]
ADD_SCHEDULE, ADD_PLAN = "add-schedule", "add-plan"
"""``failed`` for the add forms; a schedule's or plan's own forms add its name."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Schedule {} added."),
    ("saved", "ok", "Schedule {} saved."),
    ("removed", "ok", "Schedule {} removed."),
    ("switched", "ok", "Night switch of {} set."),
    ("plan_added", "ok", "Number plan {} added."),
    ("plan_saved", "ok", "Number plan {} saved."),
    ("plan_removed", "ok", "Number plan {} removed."),
)
_CAUSES = {
    "override": "by the night switch",
    "holiday": "a holiday",
    "rule": "opening hours",
    "no rule": "outside opening hours",
}
_STATE_BADGES = {"open": "ok", "closed": "idle", "holiday": "warn"}
_INDEXED = re.compile(r"(rules|holidays)\[(\d+)\]")
PLAN_STATES = (("open", "Open"), ("closed", "Closed"), ("holiday", "Holiday"))


def _local(iso: str | None, zone: str) -> str:
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    return {
        "name": view["name"],
        "rules": "\n".join(view["rules"]),
        "holidays": "\n".join(view["holidays"]),
    }


def _plan_values(view: dict[str, Any]) -> dict[str, str]:
    values = {"name": view["name"], "schedule": view["schedule"]}
    for state, _ in PLAN_STATES:
        values.update(destinations.form_values(state, view[state]))
    return values


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> web.Response:
    """``failed``: the form ``values`` and ``errors`` belong to (ADD_SCHEDULE, ADD_PLAN,
    ``schedule:NAME``, ``switch:NAME`` or ``plan:NAME``)."""
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    views = await schedules.list_schedules(tenant.slug)
    return pages.render(
        request,
        "console/schedules.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        schedules=views,
        plans=await routes.list_routes(tenant.slug),
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        plan_states=PLAN_STATES,
        switches=[s.value for s in NightSwitch],
        causes=_CAUSES,
        badges=_STATE_BADGES,
        local=lambda iso: _local(iso, tenant.timezone),
        failed=failed,
        values=values or {},
        edit_values=_edit_values,
        plan_values=_plan_values,
        errors=errors or no_errors(),
        clean=no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        describe=describe,
        segment=segment,
    )


@auth.tenant_admin_allowed
async def schedules_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/console/schedules?" + urlencode({"tenant": tenant.slug, key: value}))


async def _refused(
    request: web.Request,
    tenant: Tenant,
    errors: Errors,
    what: str,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    message = f"{what}: {next(iter(errors.values()), '')}"
    return await _page(
        request, tenant, flashes=[("error", message)], failed=failed, values=values, errors=errors
    )


# --- schedules ---------------------------------------------------------------------------


def _lines(text: str) -> tuple[list[str], list[int]]:
    """The filled lines of a text area, and the line number each was typed on."""
    kept = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return [line for _, line in kept], [n for n, _ in kept]


def _schedule_errors(e: ProvdError, typed_on: dict[str, list[int]]) -> Errors:
    """The refusal by field; ``rules[2]`` (the third filled line) is shown on the rules
    box as the line it was typed on."""
    errors = field_errors(e)
    for key in list(errors):
        match = _INDEXED.fullmatch(key)
        if match is None:
            continue
        field, index = match[1], int(match[2])
        numbers = typed_on[field]
        line = numbers[index] if index < len(numbers) else index + 1
        errors[field] = f"line {line}: {errors.pop(key)}"
    return errors


@auth.tenant_admin_allowed
async def schedule_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    rules, rule_lines = _lines(values.get("rules", ""))
    holidays, holiday_lines = _lines(values.get("holidays", ""))
    name = values.get("name", "").strip()
    try:
        await schedules.add_schedule(
            platform(request), request[ACTOR], tenant.slug, name, rules, holidays
        )
    except ProvdError as e:
        errors = _schedule_errors(e, {"rules": rule_lines, "holidays": holiday_lines})
        return await _refused(
            request,
            tenant,
            errors,
            "The schedule was not added",
            failed=ADD_SCHEDULE,
            values=values,
        )
    raise _done(tenant, "added", name)


async def _schedule(tenant: Tenant, name: str) -> dict[str, Any]:
    try:
        return await schedules.show_schedule(tenant.slug, name)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


@auth.tenant_admin_allowed
async def schedule_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _schedule(tenant, request.match_info["name"])
    values = await form(request)
    new_name = values.get("name", view["name"]).strip()
    rules, rule_lines = _lines(values.get("rules", "\n".join(view["rules"])))
    holidays, holiday_lines = _lines(values.get("holidays", "\n".join(view["holidays"])))
    changes: dict[str, Any] = {}
    if new_name != view["name"]:
        changes["new_name"] = new_name
    if rules != view["rules"]:
        changes["rule_texts"] = rules
    if holidays != view["holidays"]:
        changes["holiday_texts"] = holidays
    if not changes:
        return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
    try:
        after = await schedules.update_schedule(
            platform(request), request[ACTOR], tenant.slug, view["name"], **changes
        )
    except ProvdError as e:
        errors = _schedule_errors(e, {"rules": rule_lines, "holidays": holiday_lines})
        return await _refused(
            request,
            tenant,
            errors,
            f"Schedule {view['name']} was not saved",
            failed=f"schedule:{view['name']}",
            values=values,
        )
    raise _done(tenant, "saved", after["name"])


@auth.tenant_admin_allowed
async def schedule_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _schedule(tenant, request.match_info["name"]))["name"]
    try:
        await schedules.remove_schedule(platform(request), request[ACTOR], tenant.slug, name)
    except ProvdError as e:
        return await _refused(request, tenant, field_errors(e), f"Schedule {name} was kept")
    raise _done(tenant, "removed", name)


@auth.tenant_admin_allowed
async def night_switch(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _schedule(tenant, request.match_info["name"]))["name"]
    values = await form(request)
    until = values.get("until", "").strip()
    try:
        await schedules.set_night_switch(
            platform(request),
            request[ACTOR],
            tenant.slug,
            name,
            values.get("state", ""),
            until=until or None,
        )
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            field_errors(e),
            f"The night switch of {name} was not set",
            failed=f"switch:{name}",
            values=values,
        )
    raise _done(tenant, "switched", name)


# --- number plans ------------------------------------------------------------------------


@auth.tenant_admin_allowed
async def plan_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    holiday = destinations.from_form(values, "holiday")
    try:
        view = await routes.add_route(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("name", ""),
            values.get("schedule", ""),
            destinations.from_form(values, "open"),
            destinations.from_form(values, "closed"),
            # "Nowhere" on a holiday is what the list offers as "as when closed".
            None if holiday == NONE else holiday,
        )
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            field_errors(e),
            "The number plan was not added",
            failed=ADD_PLAN,
            values=values,
        )
    raise _done(tenant, "plan_added", view["name"])


async def _plan(tenant: Tenant, name: str) -> dict[str, Any]:
    try:
        return await routes.show_route(tenant.slug, name)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


@auth.tenant_admin_allowed
async def plan_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _plan(tenant, request.match_info["name"])
    values = await form(request)
    changes: dict[str, Any] = {}
    schedule = values.get("schedule", view["schedule"])
    if schedule != view["schedule"]:
        changes["schedule"] = schedule
    for state, _ in PLAN_STATES:
        text = destinations.from_form(values, state)
        if f"{state}_kind" in values and text != destinations.text_of(view[state]):
            changes[f"{state}_destination"] = text
    if not changes:
        return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
    try:
        await routes.update_route(
            platform(request), request[ACTOR], tenant.slug, view["name"], **changes
        )
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            field_errors(e),
            f"Number plan {view['name']} was not saved",
            failed=f"plan:{view['name']}",
            values=values,
        )
    raise _done(tenant, "plan_saved", view["name"])


@auth.tenant_admin_allowed
async def plan_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    name = (await _plan(tenant, request.match_info["name"]))["name"]
    try:
        await routes.remove_route(platform(request), request[ACTOR], tenant.slug, name)
    except ProvdError as e:
        return await _refused(request, tenant, field_errors(e), f"Number plan {name} was kept")
    raise _done(tenant, "plan_removed", name)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/schedules", schedules_page)
    r.add_post("/console/schedules/{tenant}", schedule_add)
    r.add_post("/console/schedules/{tenant}/{name}", schedule_save)
    r.add_post("/console/schedules/{tenant}/{name}/remove", schedule_remove)
    r.add_post("/console/schedules/{tenant}/{name}/night-switch", night_switch)
    r.add_post("/console/routes/{tenant}", plan_add)
    r.add_post("/console/routes/{tenant}/{name}", plan_save)
    r.add_post("/console/routes/{tenant}/{name}/remove", plan_remove)
