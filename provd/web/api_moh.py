"""REST routes for a tenant's music on hold (services.moh): the playlist a caller hears
when a phone of the tenant puts them on hold. Tenant admins manage their own tenant's:
another tenant named in the path answers exactly as one that does not exist."""

from __future__ import annotations

from aiohttp import web

from provd.services import moh
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.moh import Moh, MohIn
from provd.web.tenant_scope import path_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/moh",
    "The tenant's music on hold playlist (empty: the default music)",
    ok={200: Reply("The playlist", Moh)},
    parameters=[_TENANT],
)
async def show_moh(request: web.Request) -> web.Response:
    return web.json_response(await moh.show_moh(await path_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/tenants/{tenant}/moh",
    "Make these sounds, in order, the tenant's music on hold; its file is written before"
    " the answer",
    MohIn,
    ok={200: Reply("The playlist", Moh)},
    parameters=[_TENANT],
)
async def put_moh(request: web.Request, body: MohIn) -> web.Response:
    view = await moh.set_moh(
        request.app[PLATFORM], request[auth.ACTOR], await path_tenant(request), body.sounds
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/moh",
    "Back to the default music on hold: the playlist and its file go",
    ok={200: Reply("The playlist, now empty", Moh)},
    parameters=[_TENANT],
)
async def clear_moh(request: web.Request) -> web.Response:
    view = await moh.clear_moh(
        request.app[PLATFORM], request[auth.ACTOR], await path_tenant(request)
    )
    return web.json_response(view)


add_routes = api.add_to
