"""REST routes for schedules, their night switch, and the scheduled routes that follow them.

Tenant admins manage their own tenant's: another tenant's answers exactly as one that
does not exist.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import schedules
from provd.services.schedules import routes
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.routes import Route, RouteIn, RoutePatch
from provd.web.schemas.schedules import NightSwitchIn, Schedule, ScheduleIn, SchedulePatch
from provd.web.tenant_scope import body_tenant, path_tenant, query_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")
_SCHEDULE = [_TENANT, Param("name", "path", required=True, description="The schedule's name")]
_ROUTE = [_TENANT, Param("name", "path", required=True, description="The route's name")]
_ONLY = [Param("tenant", description="Only this tenant's")]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/schedules",
    "Schedules with their state now and next change (a tenant admin's own only)",
    ok={200: Reply("Schedules", list[Schedule])},
    parameters=_ONLY,
)
async def list_schedules(request: web.Request) -> web.Response:
    return web.json_response(await schedules.list_schedules(await query_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/schedules",
    "Add a schedule: weekly rules and holidays, checked together",
    ScheduleIn,
    ok={201: Reply("Added", Schedule)},
)
async def add_schedule(request: web.Request, body: ScheduleIn) -> web.Response:
    view = await schedules.add_schedule(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await body_tenant(request, body.tenant),
        body.name,
        body.rules,
        body.holidays,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/schedules/{tenant}/{name}",
    "Show a schedule with its state now and when that next changes",
    ok={200: Reply("The schedule", Schedule)},
    parameters=_SCHEDULE,
)
async def show_schedule(request: web.Request) -> web.Response:
    view = await schedules.show_schedule(await path_tenant(request), request.match_info["name"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PATCH",
    "/schedules/{tenant}/{name}",
    "Rename a schedule or replace its rules or holidays (an empty list clears them)",
    SchedulePatch,
    ok={200: Reply("The schedule", Schedule)},
    parameters=_SCHEDULE,
)
async def patch_schedule(request: web.Request, body: SchedulePatch) -> web.Response:
    view = await schedules.update_schedule(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        new_name=body.name,
        rule_texts=body.rules,
        holiday_texts=body.holidays,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/schedules/{tenant}/{name}",
    "Remove a schedule; refused while a route or an incoming block uses it",
    ok={204: Reply("Removed")},
    parameters=_SCHEDULE,
)
async def remove_schedule(request: web.Request) -> web.Response:
    await schedules.remove_schedule(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
    )
    return web.Response(status=204)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/schedules/{tenant}/{name}/night-switch",
    "Set the night switch: on (closed), off (open) or auto, optionally until a time ahead",
    NightSwitchIn,
    ok={200: Reply("The schedule", Schedule)},
    parameters=_SCHEDULE,
)
async def night_switch(request: web.Request, body: NightSwitchIn) -> web.Response:
    view = await schedules.set_night_switch(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        body.state,
        until=body.until,
    )
    return web.json_response(view)


# ---- scheduled routes ----------------------------------------------------------------


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/routes",
    "Scheduled routes (number plans) with their destinations (a tenant admin's own only)",
    ok={200: Reply("Routes", list[Route])},
    parameters=_ONLY,
)
async def list_routes(request: web.Request) -> web.Response:
    return web.json_response(await routes.list_routes(await query_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/routes",
    "Add a scheduled route: a destination while open, while closed and on holidays",
    RouteIn,
    ok={201: Reply("Added", Route)},
)
async def add_route(request: web.Request, body: RouteIn) -> web.Response:
    view = await routes.add_route(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await body_tenant(request, body.tenant),
        body.name,
        body.schedule,
        body.open,
        body.closed,
        body.holiday,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/routes/{tenant}/{name}",
    "Show a scheduled route and the numbers assigned to it",
    ok={200: Reply("The route", Route)},
    parameters=_ROUTE,
)
async def show_route(request: web.Request) -> web.Response:
    view = await routes.show_route(await path_tenant(request), request.match_info["name"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PATCH",
    "/routes/{tenant}/{name}",
    "Change a route's schedule or destinations ('none' as holiday: as closed)",
    RoutePatch,
    ok={200: Reply("The route", Route)},
    parameters=_ROUTE,
)
async def patch_route(request: web.Request, body: RoutePatch) -> web.Response:
    view = await routes.update_route(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        schedule=body.schedule,
        open_destination=body.open,
        closed_destination=body.closed,
        holiday_destination=body.holiday,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/routes/{tenant}/{name}",
    "Remove a scheduled route; refused while a number or a destination points at it",
    ok={204: Reply("Removed")},
    parameters=_ROUTE,
)
async def remove_route(request: web.Request) -> web.Response:
    await routes.remove_route(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
    )
    return web.Response(status=204)


add_routes = api.add_to
