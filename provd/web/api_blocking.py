"""REST routes for incoming blocks. Tenant admins manage their own tenant's: another
tenant's block answers exactly as one that does not exist."""

from __future__ import annotations

from aiohttp import web

from provd.services import blocking
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.blocking import Block, BlockIn
from provd.web.tenant_scope import body_tenant, caller_tenant, query_tenant

api = Api()


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/blocks",
    "Incoming blocks: each tenant's own, then each user's (a tenant admin's own only)",
    ok={200: Reply("Blocks", list[Block])},
    parameters=[Param("tenant", description="Only this tenant's")],
)
async def list_blocks(request: web.Request) -> web.Response:
    return web.json_response(await blocking.list_blocks(await query_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/blocks",
    "Block anonymous callers, a number or a prefix (exactly one), for the tenant or a user",
    BlockIn,
    ok={201: Reply("Added", Block)},
)
async def add_block(request: web.Request, body: BlockIn) -> web.Response:
    view = await blocking.add_block(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await body_tenant(request, body.tenant),
        user=body.user,
        anonymous=body.anonymous,
        number=body.number,
        prefix=body.prefix,
        when=body.when,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/blocks/{id}",
    "Remove an incoming block",
    ok={200: Reply("The block removed", Block)},
    parameters=[Param("id", "path", type="integer", required=True)],
)
async def remove_block(request: web.Request) -> web.Response:
    view = await blocking.remove_block(
        request.app[PLATFORM],
        request[auth.ACTOR],
        request.match_info["id"],
        await caller_tenant(request),
    )
    return web.json_response(view)


add_routes = api.add_to
