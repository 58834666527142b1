"""REST routes for hunt groups and their members.

Tenant admins manage their own tenant's groups: another tenant's group, and another
tenant named in a path or body, answer exactly as ones that do not exist.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import groups
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.groups import Group, GroupIn, GroupPatch, MemberIn
from provd.web.tenant_scope import body_tenant, path_tenant, query_tenant

api = Api()
_GROUP = [
    Param("tenant", "path", required=True, description="The tenant's slug"),
    Param("extension", "path", required=True, description="The group's extension"),
]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/groups",
    "Hunt groups with their members, by tenant and extension (a tenant admin's own only)",
    ok={200: Reply("Groups", list[Group])},
    parameters=[Param("tenant", description="Only this tenant's")],
)
async def list_groups(request: web.Request) -> web.Response:
    return web.json_response(await groups.list_groups(await query_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/groups",
    "Add a hunt group at an extension no user of the tenant has (members come after)",
    GroupIn,
    ok={201: Reply("Added", Group)},
)
async def add_group(request: web.Request, body: GroupIn) -> web.Response:
    view = await groups.add_group(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await body_tenant(request, body.tenant),
        body.extension,
        body.name,
        body.policy,
        ring_seconds=body.ring_seconds,
        total_wait_seconds=body.total_wait_seconds,
        overflow=body.overflow,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/groups/{tenant}/{extension}",
    "Show a hunt group",
    ok={200: Reply("The group", Group)},
    parameters=_GROUP,
)
async def show_group(request: web.Request) -> web.Response:
    view = await groups.show_group(await path_tenant(request), request.match_info["extension"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PATCH",
    "/groups/{tenant}/{extension}",
    "Change a group's name, policy, ring time, total wait or overflow ('none' clears it)",
    GroupPatch,
    ok={200: Reply("The group", Group)},
    parameters=_GROUP,
)
async def patch_group(request: web.Request, body: GroupPatch) -> web.Response:
    view = await groups.update_group(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        **body.model_dump(),
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/groups/{tenant}/{extension}",
    "Remove a group and its members; refused while a number or a destination points at it",
    ok={204: Reply("Removed")},
    parameters=_GROUP,
)
async def remove_group(request: web.Request) -> web.Response:
    await groups.remove_group(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
    )
    return web.Response(status=204)


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/groups/{tenant}/{extension}/members",
    "Add a user of the tenant or an outside number at a position (default: last)",
    MemberIn,
    ok={200: Reply("The group", Group)},
    parameters=_GROUP,
)
async def add_member(request: web.Request, body: MemberIn) -> web.Response:
    view = await groups.add_member(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        **body.model_dump(),
    )
    return web.json_response(view)


def _position(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise InvalidInput("position", f"{text!r} is not a position (1, 2, …)")
    return int(text)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/groups/{tenant}/{extension}/members",
    "Remove the member named by exactly one of user, external or position",
    ok={200: Reply("The group", Group)},
    parameters=[
        *_GROUP,
        Param("user", description="A member user's extension"),
        Param("external", description="A member outside number"),
        Param("position", type="integer", description="The member's position"),
    ],
)
async def remove_member(request: web.Request) -> web.Response:
    query = request.query
    view = await groups.remove_member(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        user=query.get("user"),
        external=query.get("external"),
        position=_position(query.get("position")),
    )
    return web.json_response(view)


add_routes = api.add_to
