"""REST routes for outbound policies: the tenant's, a user's and a trunk's. Tenant
admins read and set their own tenant's; another tenant answers as one that does not
exist."""

from __future__ import annotations

from aiohttp import web

from provd.services import outbound
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Reply
from provd.web.schemas.outbound import OutboundPolicy, OutboundPolicyPatch
from provd.web.tenant_scope import path_tenant

api = Api()

_LEVELS = (
    ("/outbound/{tenant}", "the tenant's", None),
    ("/outbound/{tenant}/users/{extension}", "a user's own", "extension"),
    ("/outbound/{tenant}/trunks/{name}", "a trunk's own", "name"),
)


def _level(request: web.Request) -> dict[str, str | None]:
    return {
        "user": request.match_info.get("extension"),
        "trunk": request.match_info.get("name"),
    }


async def show(request: web.Request) -> web.Response:
    view = await outbound.show_policy(await path_tenant(request), **_level(request))
    return web.json_response(view)


async def patch(request: web.Request, body: OutboundPolicyPatch) -> web.Response:
    view = await outbound.set_policy(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        **_level(request),
        block=body.block,
        allow_presets=body.allow_presets,
        allow_prefixes=body.allow_prefixes,
    )
    return web.json_response(view)


for _path, _whose, _ in _LEVELS:
    auth.tenant_admin_allowed(
        api.route(
            "GET",
            _path,
            f"Show {_whose} outbound policy",
            ok={200: Reply("The policy", OutboundPolicy)},
        )(show)
    )
    auth.tenant_admin_allowed(
        api.with_body(
            "PATCH",
            _path,
            f"Set parts of {_whose} outbound policy: blocked categories and a whitelist",
            OutboundPolicyPatch,
            ok={200: Reply("The policy", OutboundPolicy)},
        )(patch)
    )

add_routes = api.add_to
