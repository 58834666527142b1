"""Scheduled routes (number plans): a destination per state of a schedule.

A number assigned to a route, or a destination ``scheduled:NAME``, goes where the
route says for the schedule's state at the time of the call: open, closed, or
holiday (the closed destination when no holiday one is set). A route is refused
removal while anything points at it, as users and groups are.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import PhoneNumber, Schedule, ScheduledRoute, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import ScheduledDestination
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.tenancy import check_display_name
from provd.services import audit
from provd.services.destinations import (
    ROUTE_STATES,
    Names,
    references_to,
    refuse_if_used,
    resolve_destination,
    route_by_name,
)
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.schedules import get_schedule

OBJECT = "route"


async def get_route(tenant: Tenant, name: str, *, field: str = "route") -> ScheduledRoute:
    route = await route_by_name(tenant, name)
    if route is None:
        raise NotFound("route", f"{name} in tenant {tenant.slug}", field=field)
    return route


async def route_view(
    route: ScheduledRoute, tenant: Tenant, names: Names | None = None
) -> dict[str, Any]:
    names = names or await Names.of(tenant)
    schedule = await Schedule.get(id=route.schedule_id)  # type: ignore[attr-defined]
    numbers = PhoneNumber.filter(assigned_route=route).order_by("e164")
    view: dict[str, Any] = {"tenant": tenant.slug, "name": route.name, "schedule": schedule.name}
    for state in ROUTE_STATES:
        view[state] = names.view(getattr(route, f"{state}_destination"))
    view["numbers"] = list(await numbers.values_list("e164", flat=True))
    return view


async def list_routes(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    query = ScheduledRoute.all().select_related("tenant").order_by("tenant__slug", "name")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    names: dict[int, Names] = {}
    views = []
    for route in await query:
        if route.tenant.id not in names:
            names[route.tenant.id] = await Names.of(route.tenant)
        views.append(await route_view(route, route.tenant, names[route.tenant.id]))
    return views


async def show_route(tenant_slug: str, name: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await route_view(await get_route(tenant, name, field="name"), tenant)


async def add_route(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    schedule: str,
    open_destination: str,
    closed_destination: str,
    holiday_destination: str | None = None,
) -> dict[str, Any]:
    """A route to ``open``/``closed`` (and ``holiday``, else closed's) destinations by
    the state of ``schedule``; each a destination text or ``none``."""
    name = check_display_name(name)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        if await ScheduledRoute.exists(tenant=tenant, name=name):
            raise Conflict("name", f"a route named {name!r} already exists in {tenant.slug}")
        row = ScheduledRoute(
            tenant=tenant, name=name, schedule=await get_schedule(tenant, schedule)
        )
        row.open_destination = await resolve_destination(tenant, open_destination, field="open")
        row.closed_destination = await resolve_destination(
            tenant, closed_destination, field="closed"
        )
        if holiday_destination is not None:
            row.holiday_destination = await resolve_destination(
                tenant, holiday_destination, field="holiday"
            )
        await row.save()
        view = await route_view(row, tenant)
        await audit.record(
            actor, AuditAction.ROUTE_ADD, OBJECT, f"{tenant.slug}/{name}", after=view
        )
    return view


async def update_route(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    *,
    schedule: str | None = None,
    open_destination: str | None = None,
    closed_destination: str | None = None,
    holiday_destination: str | None = None,
) -> dict[str, Any]:
    """Change what is given; ``none`` as the holiday destination makes it follow closed."""
    given = {
        "open": open_destination,
        "closed": closed_destination,
        "holiday": holiday_destination,
    }
    if schedule is None and all(v is None for v in given.values()):
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_route(tenant, name, field="name")
        before = await route_view(row, tenant)
        if schedule is not None:
            row.schedule = await get_schedule(tenant, schedule)
        itself = ScheduledDestination(row.id)
        for state, text in given.items():
            if text is not None:
                stored = await resolve_destination(tenant, text, field=state, itself=itself)
                setattr(row, f"{state}_destination", stored)
        await row.save()
        after = await route_view(row, tenant)
        await audit.record(
            actor,
            AuditAction.ROUTE_SET,
            OBJECT,
            f"{tenant.slug}/{row.name}",
            before=before,
            after=after,
        )
    return after


async def remove_route(p: Platform, actor: audit.Actor, tenant_slug: str, name: str) -> None:
    """Refused while a number is assigned to the route or a destination names it."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_route(tenant, name, field="name")
        uses = await references_to(tenant, ScheduledDestination(row.id))
        refuse_if_used(f"route {row.name}", uses, field="name")
        before = await route_view(row, tenant)
        await row.delete()
        await audit.record(
            actor, AuditAction.ROUTE_REMOVE, OBJECT, f"{tenant.slug}/{row.name}", before=before
        )
