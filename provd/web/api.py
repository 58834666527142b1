"""The REST API under /api/v1: JSON in and out, bearer-token authentication.

This module holds the tenants, users, devices and audit routes; the other
``api_*`` modules one resource each. Every route is declared with its models
(provd/web/contract.py, provd/web/schemas/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from provd.domain.errors import Conflict, InvalidInput, NotFound, Throttled
from provd.services import audit, devices
from provd.services.directory import tenants, users
from provd.web import auth, openapi
from provd.web.app_keys import PLATFORM
from provd.web.contract import PREFIX, Api, Param, Reply, error_response
from provd.web.schemas import audit as audit_schemas
from provd.web.schemas.devices import Device, DeviceCreated, DeviceIn, DevicePatch
from provd.web.schemas.tenants import Tenant, TenantCreated, TenantIn, TenantPatch
from provd.web.schemas.users import User, UserCreated, UserIn

__all__ = ["ACTOR", "PREFIX", "PRINCIPAL", "api_middleware"]
ACTOR = auth.ACTOR
PRINCIPAL = auth.PRINCIPAL
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request ids and the mapping of domain errors to JSON 4xx (outside the auth check)."""
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    request_id = auth.request_id(request)
    response: web.StreamResponse
    try:
        response = await handler(request)
    except Throttled as e:
        response = error_response(429, e.message, e.field)
        response.headers["Retry-After"] = str(e.retry_after)
    except Conflict as e:
        response = error_response(409, e.message, e.field)
    except InvalidInput as e:
        row = {"row": e.row} if e.row is not None else {}
        response = error_response(400, e.message, e.field, **row)
    except NotFound as e:
        response = error_response(404, str(e), e.field)
    response.headers["X-Request-Id"] = request_id
    return response


api = Api()
_TENANT_Q = Param("tenant", description="Only this tenant's")


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
    "Change a tenant's phone defaults (VLANs, LLDP, SIP proxy, pickup code, time zone)",
    TenantPatch,
    ok={200: Reply("The tenant", Tenant)},
)
async def patch_tenant(request: web.Request, body: TenantPatch) -> web.Response:
    tenant = await tenants.update_tenant(
        request.app[PLATFORM], request[ACTOR], request.match_info["slug"], **body.model_dump()
    )
    return web.json_response(tenants.tenant_view(tenant))


@api.route(
    "GET", "/users", "List users", ok={200: Reply("Users", list[User])}, parameters=[_TENANT_Q]
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


@api.route("DELETE", "/users/{tenant}/{extension}", "Remove a user", ok={204: Reply("Removed")})
async def remove_user(request: web.Request) -> web.Response:
    await users.remove_user(
        request.app[PLATFORM],
        request[ACTOR],
        request.match_info["tenant"],
        request.match_info["extension"],
    )
    return web.Response(status=204)


@api.route(
    "GET",
    "/devices",
    "List devices",
    ok={200: Reply("Devices", list[Device])},
    parameters=[_TENANT_Q],
)
async def list_devices(request: web.Request) -> web.Response:
    rows = await devices.list_devices(request.query.get("tenant"))
    return web.json_response([await devices.device_view(d) for d in rows])


@api.with_body(
    "POST",
    "/devices",
    "Add a device; the answer carries its provisioning credentials",
    DeviceIn,
    ok={201: Reply("Created", DeviceCreated)},
)
async def add_device(request: web.Request, body: DeviceIn) -> web.Response:
    device, credential = await devices.add_device(
        request.app[PLATFORM],
        request[ACTOR],
        body.mac,
        body.model,
        tenant_slug=body.tenant or tenants.DEFAULT_TENANT,
        users=body.users,
        password=body.password,
        name=body.name or "",
    )
    view = await devices.device_view(device)
    view["provisioning"] = {
        "url": credential.url,
        "username": credential.username,
        "password": credential.password,
    }
    return web.json_response(view, status=201)


@api.route("GET", "/devices/{mac}", "Show a device", ok={200: Reply("The device", Device)})
async def show_device(request: web.Request) -> web.Response:
    device = await devices.get_device(request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


@api.route("DELETE", "/devices/{mac}", "Remove a device", ok={204: Reply("Removed")})
async def remove_device(request: web.Request) -> web.Response:
    await devices.remove_device(request[ACTOR], request.match_info["mac"])
    return web.Response(status=204)


@api.with_body(
    "PATCH",
    "/devices/{mac}",
    "Change a device's expansion modules and VLAN/LLDP overrides",
    DevicePatch,
    ok={200: Reply("The device", Device)},
)
async def patch_device(request: web.Request, body: DevicePatch) -> web.Response:
    device = await devices.update_device(
        request[ACTOR], request.match_info["mac"], **body.model_dump()
    )
    return web.json_response(await devices.device_view(device))


@api.route(
    "POST",
    "/devices/{mac}/reset",
    "Unseal a device so that its tenant's bootstrap credential works again",
    ok={200: Reply("The device", Device)},
)
async def reset_device(request: web.Request) -> web.Response:
    device = await devices.reset_device(request[ACTOR], request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


@api.route(
    "GET",
    "/audit",
    "Recent changes, newest first",
    ok={200: Reply("Audit rows", list[audit_schemas.AuditRow])},
    parameters=[Param("limit", type="integer", description="1 to 1000; default 100")],
)
async def list_audit(request: web.Request) -> web.Response:
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
    except ValueError:
        raise InvalidInput("limit", "must be a whole number") from None
    return web.json_response(await audit.recent(limit))


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "/openapi.json", openapi_document)
    api.add_to(app)
