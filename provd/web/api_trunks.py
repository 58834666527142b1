"""REST routes for customer SIP trunks, their numbers and account passwords.

Tenant admins manage their own tenant's trunks: another tenant's trunk, and another
tenant named in a path or body, answer exactly as ones that do not exist. Passwords
appear only in the answers to creating a trunk and regenerating a password.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import trunks
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.numbers import add_number, remove_number
from provd.services.trunks.passwords import regenerate_password
from provd.services.trunks.remove import remove_trunk
from provd.services.trunks.update import update_trunk
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.trunks import (
    PasswordIn,
    Trunk,
    TrunkIn,
    TrunkNumberIn,
    TrunkPatch,
    TrunkWithPasswords,
)
from provd.web.tenant_scope import body_tenant, path_tenant, query_tenant

api = Api()
_TRUNK = [
    Param("tenant", "path", required=True, description="The tenant's slug"),
    Param("name", "path", required=True, description="The trunk's name"),
]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/trunks",
    "Customer trunks with their accounts and numbers, by tenant and name (never passwords)",
    ok={200: Reply("Trunks", list[Trunk])},
    parameters=[Param("tenant", description="Only this tenant's")],
)
async def list_trunks(request: web.Request) -> web.Response:
    return web.json_response(await trunks.list_trunks(await query_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/trunks",
    "Add a trunk with its numbers and failover; its accounts' passwords are in this answer only",
    TrunkIn,
    ok={201: Reply("Added", TrunkWithPasswords)},
)
async def post_trunk(request: web.Request, body: TrunkIn) -> web.Response:
    made = await add_trunk(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await body_tenant(request, body.tenant),
        body.name,
        channels=body.channels,
        allow_ips=body.allow_ips,
        number_format=body.format,
        brand=body.brand,
        auth=body.auth,
        address=body.address,
        caller_id_policy=body.caller_id_policy,
        numbers=[NumberOnTrunk(n.number, n.inbound, n.caller_id) for n in body.numbers],
        main_number=body.main_number,
        failover=body.failover,
        ring_seconds=body.ring_seconds,
    )
    return web.json_response(made.as_dict(), status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/trunks/{tenant}/{name}",
    "Show a trunk (never its passwords)",
    ok={200: Reply("The trunk", Trunk)},
    parameters=_TRUNK,
)
async def show_trunk(request: web.Request) -> web.Response:
    view = await trunks.show_trunk(await path_tenant(request), request.match_info["name"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PATCH",
    "/trunks/{tenant}/{name}",
    "Change a trunk's settings ('none' clears the failover or main number)",
    TrunkPatch,
    ok={200: Reply("The trunk", Trunk)},
    parameters=_TRUNK,
)
async def patch_trunk(request: web.Request, body: TrunkPatch) -> web.Response:
    values = body.model_dump()
    view = await update_trunk(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        number_format=values.pop("format"),
        **values,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/trunks/{tenant}/{name}",
    "Remove a trunk and its accounts; its inbound numbers are left unused",
    ok={204: Reply("Removed")},
    parameters=_TRUNK,
)
async def delete_trunk(request: web.Request) -> web.Response:
    await remove_trunk(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
    )
    return web.Response(status=204)


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/trunks/{tenant}/{name}/numbers",
    "Put a number of the tenant on the trunk (or change its flags there); inbound moves it",
    TrunkNumberIn,
    ok={200: Reply("The trunk", Trunk)},
    parameters=_TRUNK,
)
async def post_number(request: web.Request, body: TrunkNumberIn) -> web.Response:
    view = await add_number(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        NumberOnTrunk(body.number, body.inbound, body.caller_id),
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/trunks/{tenant}/{name}/numbers/{number}",
    "Take a number off the trunk; an inbound one is left unused",
    ok={200: Reply("The trunk", Trunk)},
    parameters=[*_TRUNK, Param("number", "path", required=True, description="The number")],
)
async def delete_number(request: web.Request) -> web.Response:
    view = await remove_number(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        request.match_info["number"],
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/trunks/{tenant}/{name}/password",
    "Give one account a new password; it is in this answer only",
    PasswordIn,
    ok={200: Reply("The trunk and the new password", TrunkWithPasswords)},
    parameters=_TRUNK,
)
async def post_password(request: web.Request, body: PasswordIn) -> web.Response:
    made = await regenerate_password(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
        body.account,
    )
    return web.json_response(made.as_dict())


add_routes = api.add_to
