"""REST routes for carriers: the platform's, so admins only. No answer holds a password."""

from __future__ import annotations

from aiohttp import web

from provd.services import carriers
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Reply
from provd.web.schemas.carriers import Carrier, CarrierIn

api = Api()


@api.route(
    "GET",
    "/carriers",
    "Carriers in the order they are tried (lowest priority first)",
    ok={200: Reply("Carriers", list[Carrier])},
)
async def list_carriers(request: web.Request) -> web.Response:
    return web.json_response([carriers.carrier_view(c) for c in await carriers.list_carriers()])


@api.with_body(
    "POST",
    "/carriers",
    "Add a carrier; its host must resolve",
    CarrierIn,
    ok={201: Reply("Added", Carrier)},
)
async def add_carrier(request: web.Request, body: CarrierIn) -> web.Response:
    row = await carriers.add_carrier(
        request.app[PLATFORM],
        request[auth.ACTOR],
        body.name,
        body.host,
        transport=body.transport,
        username=body.username,
        password=body.password,
        inbound_from=body.inbound_from,
        priority=body.priority,
    )
    return web.json_response(carriers.carrier_view(row), status=201)


@api.route(
    "DELETE",
    "/carriers/{name}",
    "Remove a carrier",
    ok={204: Reply("Removed")},
)
async def remove_carrier(request: web.Request) -> web.Response:
    await carriers.remove_carrier(
        request.app[PLATFORM], request[auth.ACTOR], request.match_info["name"]
    )
    return web.Response(status=204)


add_routes = api.add_to
