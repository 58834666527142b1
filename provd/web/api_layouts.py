"""REST routes for key layouts, tenant phone defaults and device settings."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import devices, layouts
from provd.services.directory import tenants
from provd.web.api import ACTOR, PREFIX, _body, _check_keys, _str
from provd.web.app_keys import PLATFORM


async def _scope(request: web.Request) -> layouts.Scope:
    q = request.query
    return await layouts.resolve_scope(
        platform=q.get("platform") in ("1", "true", "yes"),
        tenant=q.get("tenant"),
        user=q.get("user"),
        device=q.get("device"),
    )


async def get_layout(request: web.Request) -> web.Response:
    scope = await _scope(request)
    view: dict[str, Any] = await layouts.export_layout(scope, request.query.get("model"))
    if scope.device is not None:
        view["effective"] = await layouts.effective_keys_view(scope.device)
    return web.json_response(view)


async def put_layout(request: web.Request) -> web.Response:
    scope = await _scope(request)
    data = await _body(request)
    if "model" not in data and request.query.get("model"):
        data["model"] = request.query["model"]
    count = await layouts.import_layout(request[ACTOR], scope, data)
    return web.json_response(
        {"keys": count, **await layouts.export_layout(scope, data.get("model"))}
    )


async def set_key(request: web.Request) -> web.Response:
    scope = await _scope(request)
    data = await _body(request)
    _check_keys(data, {"model", "key", "function", "target", "label", "locked"})
    locked = data.get("locked", False)
    if not isinstance(locked, bool):
        raise InvalidInput("locked", "must be true or false")
    key, function = _str(data, "key"), _str(data, "function")
    assert key is not None and function is not None
    spec = await layouts.set_key(
        request[ACTOR],
        scope,
        _str(data, "model", required=False) or request.query.get("model"),
        key,
        function,
        target=_str(data, "target", required=False) or "",
        label=_str(data, "label", required=False) or "",
        locked=locked,
    )
    return web.json_response(
        {
            "key": str(spec.location),
            "function": spec.function.value,
            "target": spec.target,
            "label": spec.label,
            "locked": spec.locked,
        }
    )


async def clear_keys(request: web.Request) -> web.Response:
    scope = await _scope(request)
    count = await layouts.clear_keys(
        request[ACTOR], scope, request.query.get("model"), request.query.get("key")
    )
    return web.json_response({"cleared": count})


async def set_page(request: web.Request) -> web.Response:
    scope = await _scope(request)
    data = await _body(request)
    _check_keys(data, {"model", "module", "page", "description"})
    module, page = data.get("module"), data.get("page")
    if not isinstance(module, int) or not isinstance(page, int):
        raise InvalidInput("module" if not isinstance(module, int) else "page", "must be a number")
    description = _str(data, "description")
    assert description is not None
    await layouts.set_page_label(
        request[ACTOR],
        scope,
        _str(data, "model", required=False) or request.query.get("model"),
        module,
        page,
        description,
    )
    return web.json_response({"module": module, "page": page, "description": description})


async def patch_tenant(request: web.Request) -> web.Response:
    data = await _body(request)
    allowed = {"vlan_lan", "vlan_pc", "lldp", "sip_proxy", "pickup_code", "timezone"}
    _check_keys(data, allowed)
    values = {k: _str(data, k, required=False) for k in allowed}
    tenant = await tenants.update_tenant(
        request.app[PLATFORM], request[ACTOR], request.match_info["slug"], **values
    )
    return web.json_response(tenants.tenant_view(tenant))


async def patch_device(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"expansion_modules", "vlan_lan", "vlan_pc", "lldp"})
    modules = data.get("expansion_modules")
    if modules is not None and (not isinstance(modules, int) or isinstance(modules, bool)):
        raise InvalidInput("expansion_modules", "must be a number")
    device = await devices.update_device(
        request[ACTOR],
        request.match_info["mac"],
        expansion_modules=modules,
        vlan_lan=_str(data, "vlan_lan", required=False),
        vlan_pc=_str(data, "vlan_pc", required=False),
        lldp=_str(data, "lldp", required=False),
    )
    return web.json_response(await devices.device_view(device))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/layouts", get_layout)
    r.add_put(PREFIX + "/layouts", put_layout)
    r.add_post(PREFIX + "/layouts/keys", set_key)
    r.add_delete(PREFIX + "/layouts/keys", clear_keys)
    r.add_post(PREFIX + "/layouts/pages", set_page)
    r.add_patch(PREFIX + "/tenants/{slug}", patch_tenant)
    r.add_patch(PREFIX + "/devices/{mac}", patch_device)
