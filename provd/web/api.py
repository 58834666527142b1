"""The REST API under /api/v1: JSON in and out, bearer-token authentication."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from provd.domain.errors import Conflict, InvalidInput, NotFound, Throttled
from provd.services import audit, devices
from provd.services.directory import tenants, users
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.openapi import OPENAPI

PREFIX = "/api/v1"
ACTOR = auth.ACTOR
PRINCIPAL = auth.PRINCIPAL
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, field: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"message": message, **extra}
    if field is not None:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


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
        response = _error(429, e.message, e.field)
        response.headers["Retry-After"] = str(e.retry_after)
    except Conflict as e:
        response = _error(409, e.message, e.field)
    except InvalidInput as e:
        row = {"row": e.row} if e.row is not None else {}
        response = _error(400, e.message, e.field, **row)
    except NotFound as e:
        response = _error(404, str(e), e.field)
    response.headers["X-Request-Id"] = request_id
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        # ValueError: a syntax error, bytes that are not UTF-8, or an integer longer
        # than Python converts (4,300 digits); RecursionError: nesting too deep.
        raise InvalidInput("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    return data


def _str(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(key, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(key, "must be a string")
    return value


def _required(data: dict[str, Any], key: str) -> str:
    value = _str(data, key)
    assert value is not None
    return value


def _check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidInput(key, "is not a known field")


async def list_tenants(request: web.Request) -> web.Response:
    return web.json_response([tenants.tenant_view(t) for t in await tenants.list_tenants()])


async def add_tenant(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"slug", "name", "sip_domain", "timezone"})
    tenant, credential = await tenants.add_tenant(
        request.app[PLATFORM],
        request[ACTOR],
        _required(data, "slug"),
        name=_str(data, "name", required=False),
        sip_domain=_str(data, "sip_domain", required=False),
        timezone=_str(data, "timezone", required=False) or "Europe/Amsterdam",
    )
    view = tenants.tenant_view(tenant) | {"bootstrap_password": credential.password}
    return web.json_response(view, status=201)


async def list_users(request: web.Request) -> web.Response:
    rows = await users.list_users(request.query.get("tenant"))
    return web.json_response([users.user_view(u, t) for u, t in rows])


async def add_user(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"tenant", "extension", "name", "sip_password"})
    user, password = await users.add_user(
        request.app[PLATFORM],
        request[ACTOR],
        _str(data, "tenant", required=False) or tenants.DEFAULT_TENANT,
        _required(data, "extension"),
        _required(data, "name"),
        sip_password=_str(data, "sip_password", required=False),
    )
    await user.fetch_related("tenant")
    return web.json_response(
        users.user_view(user, user.tenant) | {"sip_password": password}, status=201
    )


async def show_user(request: web.Request) -> web.Response:
    tenant = await tenants.get_tenant(request.match_info["tenant"])
    user = await users.get_user(tenant, request.match_info["extension"], field="extension")
    return web.json_response(users.user_view(user, tenant))


async def remove_user(request: web.Request) -> web.Response:
    await users.remove_user(
        request.app[PLATFORM],
        request[ACTOR],
        request.match_info["tenant"],
        request.match_info["extension"],
    )
    return web.Response(status=204)


async def list_devices(request: web.Request) -> web.Response:
    rows = await devices.list_devices(request.query.get("tenant"))
    return web.json_response([await devices.device_view(d) for d in rows])


async def add_device(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"mac", "model", "tenant", "users", "password", "name"})
    line_users = data.get("users", [])
    if not isinstance(line_users, list) or not all(isinstance(u, str) for u in line_users):
        raise InvalidInput("users", "must be a list of extensions (strings)")
    device, credential = await devices.add_device(
        request.app[PLATFORM],
        request[ACTOR],
        _required(data, "mac"),
        _required(data, "model"),
        tenant_slug=_str(data, "tenant", required=False) or tenants.DEFAULT_TENANT,
        users=line_users,
        password=_str(data, "password", required=False),
        name=_str(data, "name", required=False) or "",
    )
    view = await devices.device_view(device)
    view["provisioning"] = {
        "url": credential.url,
        "username": credential.username,
        "password": credential.password,
    }
    return web.json_response(view, status=201)


async def show_device(request: web.Request) -> web.Response:
    device = await devices.get_device(request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


async def remove_device(request: web.Request) -> web.Response:
    await devices.remove_device(request[ACTOR], request.match_info["mac"])
    return web.Response(status=204)


async def reset_device(request: web.Request) -> web.Response:
    device = await devices.reset_device(request[ACTOR], request.match_info["mac"])
    return web.json_response(await devices.device_view(device))


async def list_audit(request: web.Request) -> web.Response:
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
    except ValueError:
        raise InvalidInput("limit", "must be a whole number") from None
    return web.json_response(await audit.recent(limit))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/openapi.json", openapi)
    r.add_get(PREFIX + "/tenants", list_tenants)
    r.add_post(PREFIX + "/tenants", add_tenant)
    r.add_get(PREFIX + "/users", list_users)
    r.add_post(PREFIX + "/users", add_user)
    r.add_get(PREFIX + "/users/{tenant}/{extension}", show_user)
    r.add_delete(PREFIX + "/users/{tenant}/{extension}", remove_user)
    r.add_get(PREFIX + "/devices", list_devices)
    r.add_post(PREFIX + "/devices", add_device)
    r.add_get(PREFIX + "/devices/{mac}", show_device)
    r.add_delete(PREFIX + "/devices/{mac}", remove_device)
    r.add_post(PREFIX + "/devices/{mac}/reset", reset_device)
    r.add_get(PREFIX + "/audit", list_audit)
