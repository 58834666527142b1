"""REST routes for spend and call limits: the tenant's and a trunk's, and the alerts
they raised. Tenant admins read theirs; only platform admins change them, since the
limits are the platform's brake on a tenant's spend."""

from __future__ import annotations

from aiohttp import web

from provd.services import limits
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Reply
from provd.web.schemas.limits import LimitAlerts, LimitsPatch, LimitsView
from provd.web.tenant_scope import path_tenant

api = Api()

_LEVELS = (
    ("/limits/{tenant}", "the tenant's"),
    ("/limits/{tenant}/trunks/{name}", "a trunk's own"),
)


async def show(request: web.Request) -> web.Response:
    view = await limits.show_limits(
        await path_tenant(request), trunk=request.match_info.get("name")
    )
    return web.json_response(view)


async def patch(request: web.Request, body: LimitsPatch) -> web.Response:
    view = await limits.set_limits(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        {name: getattr(body, name) for name in body.model_fields_set},
        trunk=request.match_info.get("name"),
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/limits/{tenant}/alerts",
    "The tenant's limit alerts, newest first",
    ok={200: Reply("The alerts", LimitAlerts)},
)
async def alerts(request: web.Request) -> web.Response:
    return web.json_response({"alerts": await limits.list_alerts(await path_tenant(request))})


for _path, _whose in _LEVELS:
    auth.tenant_admin_allowed(
        api.route(
            "GET",
            _path,
            f"Show {_whose} spend and call limits",
            ok={200: Reply("The limits", LimitsView)},
        )(show)
    )
    api.with_body(
        "PATCH",
        _path,
        f"Set {_whose} spend and call limits per hour, day and week",
        LimitsPatch,
        ok={200: Reply("The limits", LimitsView)},
    )(patch)

add_routes = api.add_to
