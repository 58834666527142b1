"""REST routes for key layouts: programmable keys and expansion-module pages per level."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.services import layouts
from provd.web.auth import ACTOR
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.layouts import (
    Cleared,
    DeviceLayout,
    Key,
    KeyIn,
    Layout,
    LayoutIn,
    Page,
    PageIn,
)

api = Api()
_SCOPE = [
    Param("platform", type="boolean"),
    Param("tenant"),
    Param("user", description="EXT or TENANT/EXT"),
    Param("device", description="MAC"),
    Param("model", description="Implied by device"),
]


async def _scope(request: web.Request) -> layouts.Scope:
    q = request.query
    return await layouts.resolve_scope(
        platform=q.get("platform") in ("1", "true", "yes"),
        tenant=q.get("tenant"),
        user=q.get("user"),
        device=q.get("device"),
    )


@api.route(
    "GET",
    "/layouts",
    "A level's layout (exactly one of platform, tenant, user, device); "
    "for a device also the effective keys",
    ok={200: Reply("The layout", DeviceLayout)},
    parameters=_SCOPE,
)
async def get_layout(request: web.Request) -> web.Response:
    scope = await _scope(request)
    view: dict[str, Any] = await layouts.export_layout(scope, request.query.get("model"))
    if scope.device is not None:
        view["effective"] = await layouts.effective_keys_view(scope.device)
    return web.json_response(view)


@api.with_body(
    "PUT",
    "/layouts",
    "Replace a level's layout, all or nothing; errors name the row",
    LayoutIn,
    ok={200: Reply("The new layout", Layout)},
    parameters=_SCOPE,
)
async def put_layout(request: web.Request, body: LayoutIn) -> web.Response:
    scope = await _scope(request)
    data = body.model_dump(exclude_unset=True)
    if body.model is None and request.query.get("model"):
        data["model"] = request.query["model"]
    await layouts.import_layout(request[ACTOR], scope, data)
    return web.json_response(await layouts.export_layout(scope, data.get("model")))


@api.with_body(
    "POST",
    "/layouts/keys",
    "Program one key",
    KeyIn,
    ok={200: Reply("The key", Key)},
    parameters=_SCOPE,
)
async def set_key(request: web.Request, body: KeyIn) -> web.Response:
    scope = await _scope(request)
    spec = await layouts.set_key(
        request[ACTOR],
        scope,
        body.model or request.query.get("model"),
        body.key,
        body.function,
        target=body.target or "",
        label=body.label or "",
        locked=body.locked,
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


@api.route(
    "DELETE",
    "/layouts/keys",
    "Clear one key (key=line:N|exp:M:N) or the whole layout",
    ok={200: Reply("How many keys were cleared", Cleared)},
    parameters=[*_SCOPE, Param("key", description="line:N or exp:MODULE:N")],
)
async def clear_keys(request: web.Request) -> web.Response:
    scope = await _scope(request)
    count = await layouts.clear_keys(
        request[ACTOR], scope, request.query.get("model"), request.query.get("key")
    )
    return web.json_response({"cleared": count})


@api.with_body(
    "POST",
    "/layouts/pages",
    "Describe one expansion-module page",
    PageIn,
    ok={200: Reply("The page", Page)},
    parameters=_SCOPE,
)
async def set_page(request: web.Request, body: PageIn) -> web.Response:
    scope = await _scope(request)
    await layouts.set_page_label(
        request[ACTOR],
        scope,
        body.model or request.query.get("model"),
        body.module,
        body.page,
        body.description,
    )
    return web.json_response(
        {"module": body.module, "page": body.page, "description": body.description}
    )


add_routes = api.add_to
