"""REST routes for the directory: tenants, their users, and each user's forwarding and
do-not-disturb (tenant admins may set those for their own tenant's users)."""

from __future__ import annotations

from aiohttp import web

from provd.services.directory import forwarding, tenants, user_view, users
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.auth import ACTOR
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.forwarding import DndIn, Forwarding, ForwardingPatch
from provd.web.schemas.tenants import Tenant, TenantCreated, TenantIn, TenantPatch
from provd.web.schemas.users import User, UserCreated, UserIn, UserPatch
from provd.web.tenant_scope import path_tenant

api = Api()


@api.route("GET", "/tenants", "List tenants", ok={200: Reply("Tenants", list[Tenant])})
async def list_tenants(request: web.Request) -> web.Response:
    return web.json_response([tenants.tenant_view(t) for t in await tenants.list_tenants()])


@api.with_body(
    "POST",
    "/tenants",
    "Add a tenant; the answer carries its bootstrap password once",
    TenantIn,
    ok={201: Reply("Created", TenantCreated)},
)
async def add_tenant(request: web.Request, body: TenantIn) -> web.Response:
    tenant, credential = await tenants.add_tenant(
        request.app[PLATFORM],
        request[ACTOR],
        body.slug,
        name=body.name,
        sip_domain=body.sip_domain,
        timezone=body.timezone or "Europe/Amsterdam",
    )
    view = tenants.tenant_view(tenant) | {"bootstrap_password": credential.password}
    return web.json_response(view, status=201)


@api.with_body(
    "PATCH",
    "/tenants/{slug}",
    "Change a tenant's phone defaults (VLANs, LLDP, SIP proxy, pickup code, time zone)"
    " and numbering (country, number display form, main number)",
    TenantPatch,
    ok={200: Reply("The tenant", Tenant)},
)
async def patch_tenant(request: web.Request, body: TenantPatch) -> web.Response:
    tenant = await tenants.update_tenant(
        request.app[PLATFORM], request[ACTOR], request.match_info["slug"], **body.model_dump()
    )
    return web.json_response(tenants.tenant_view(tenant))


@api.route(
    "GET",
    "/users",
    "List users",
    ok={200: Reply("Users", list[User])},
    parameters=[Param("tenant", description="Only this tenant's")],
)
async def list_users(request: web.Request) -> web.Response:
    rows = await users.list_users(request.query.get("tenant"))
    return web.json_response([users.user_view(u, t) for u, t in rows])


@api.with_body(
    "POST",
    "/users",
    "Add a user",
    UserIn,
    ok={201: Reply("Created, with its SIP password", UserCreated)},
)
async def add_user(request: web.Request, body: UserIn) -> web.Response:
    user, password = await users.add_user(
        request.app[PLATFORM],
        request[ACTOR],
        body.tenant or tenants.DEFAULT_TENANT,
        body.extension,
        body.name,
        sip_password=body.sip_password,
    )
    await user.fetch_related("tenant")
    return web.json_response(
        users.user_view(user, user.tenant) | {"sip_password": password}, status=201
    )


@api.route("GET", "/users/{tenant}/{extension}", "Show a user", ok={200: Reply("The user", User)})
async def show_user(request: web.Request) -> web.Response:
    tenant = await tenants.get_tenant(request.match_info["tenant"])
    user = await users.get_user(tenant, request.match_info["extension"], field="extension")
    return web.json_response(users.user_view(user, tenant))


@api.with_body(
    "PATCH",
    "/users/{tenant}/{extension}",
    "Rename a user, give it another extension, or hide or show its number on outside calls",
    UserPatch,
    ok={200: Reply("The user", User)},
)
async def patch_user(request: web.Request, body: UserPatch) -> web.Response:
    tenant = await tenants.get_tenant(request.match_info["tenant"])
    user = await user_view.update_user(
        request.app[PLATFORM],
        request[ACTOR],
        tenant.slug,
        request.match_info["extension"],
        name=body.name,
        new_extension=body.extension,
        hide_caller_id=body.hide_caller_id,
        may_switch_night=body.may_switch_night,
    )
    return web.json_response(users.user_view(user, tenant))


@api.route("DELETE", "/users/{tenant}/{extension}", "Remove a user", ok={204: Reply("Removed")})
async def remove_user(request: web.Request) -> web.Response:
    await users.remove_user(
        request.app[PLATFORM],
        request[ACTOR],
        request.match_info["tenant"],
        request.match_info["extension"],
    )
    return web.Response(status=204)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/users/{tenant}/{extension}/forwarding",
    "Show a user's call forwarding and do-not-disturb",
    ok={200: Reply("The forwarding", Forwarding)},
)
async def show_forwarding(request: web.Request) -> web.Response:
    view = await forwarding.get_forwarding(
        await path_tenant(request), request.match_info["extension"]
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PATCH",
    "/users/{tenant}/{extension}/forwarding",
    "Set forwards (a destination, or 'none'), clear them, or set the no-answer ring time",
    ForwardingPatch,
    ok={200: Reply("The forwarding", Forwarding)},
)
async def patch_forwarding(request: web.Request, body: ForwardingPatch) -> web.Response:
    changes = body.model_dump()
    view = await forwarding.set_forwarding(
        request.app[PLATFORM],
        request[ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        **(changes | {"clear": changes["clear"] or ()}),
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/users/{tenant}/{extension}/dnd",
    "Turn a user's do-not-disturb on or off",
    DndIn,
    ok={200: Reply("The forwarding", Forwarding)},
)
async def put_dnd(request: web.Request, body: DndIn) -> web.Response:
    view = await forwarding.set_dnd(
        request.app[PLATFORM],
        request[ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        body.dnd,
    )
    return web.json_response(view)


def add_routes(app: web.Application) -> None:
    api.add_to(app)
