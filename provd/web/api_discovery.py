"""REST routes for phones seen on the network but not claimed yet.

Installers may list them (they claim from this list, and a discovered phone belongs to
no tenant yet); forgetting them is for admins.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import discovery
from provd.web import auth
from provd.web.contract import Api, Reply
from provd.web.schemas.discovery import DiscoveredPhone

api = Api()


@auth.installer_allowed
@api.route(
    "GET",
    "/discovered",
    "Phones seen by DHCP or SIP plug-and-play that are not devices yet (installers too)",
    ok={200: Reply("Most recently seen first", list[DiscoveredPhone])},
)
async def list_discovered(request: web.Request) -> web.Response:
    rows = await discovery.list_unclaimed()
    return web.json_response([discovery.discovered_view(d) for d in rows])


@api.route(
    "DELETE",
    "/discovered/{mac}",
    "Forget a discovered phone (it reappears when it is seen again)",
    ok={204: Reply("Forgotten")},
)
async def forget_discovered(request: web.Request) -> web.Response:
    await discovery.forget(request[auth.ACTOR], request.match_info["mac"])
    return web.Response(status=204)


add_routes = api.add_to
