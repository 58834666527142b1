"""REST routes for phones seen on the network but not claimed yet.

Installers may list them (they claim from this list, and a discovered phone belongs to
no tenant yet); forgetting them is for admins.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import discovery
from provd.web import auth, openapi
from provd.web.api import ACTOR, PREFIX

_NULL_STR = {"type": ["string", "null"]}
_SCHEMAS = {
    "DiscoveredPhone": {
        "type": "object",
        "description": "What the phone's own packets said: any host on the LAN can send them",
        "properties": {
            "mac": {"type": "string", "description": "12 lower-case hex digits"},
            "ip": _NULL_STR,
            "vendor": {**_NULL_STR, "description": "yealink or snom by the MAC's prefix"},
            "model": {**_NULL_STR, "description": "As the phone names it (PnP, Snom DHCP)"},
            "vendor_class": {**_NULL_STR, "description": "DHCP option 60"},
            "hostname": {**_NULL_STR, "description": "DHCP option 12"},
            "requested_options": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "DHCP option 55; 66 or 43 means it looks for a provisioning URL",
            },
            "source": {"type": "string", "description": "dhcp, pnp or dhcp,pnp"},
            "first_seen_at": {"type": "string", "format": "date-time"},
            "last_seen_at": {"type": "string", "format": "date-time"},
            "seen_count": {"type": "integer"},
        },
    }
}


@auth.installer_allowed
async def list_discovered(request: web.Request) -> web.Response:
    rows = await discovery.list_unclaimed()
    return web.json_response([discovery.discovered_view(d) for d in rows])


async def forget_discovered(request: web.Request) -> web.Response:
    await discovery.forget(request[ACTOR], request.match_info["mac"])
    return web.Response(status=204)


openapi.document(
    {
        "/api/v1/discovered": {
            "get": openapi.operation(
                "Phones seen by DHCP or SIP plug-and-play that are not devices yet "
                "(installers too)",
                {
                    "200": openapi.json_content(
                        {"type": "array", "items": openapi.ref("DiscoveredPhone")},
                        "Most recently seen first",
                    )
                },
            )
        },
        "/api/v1/discovered/{mac}": {
            "delete": openapi.operation(
                "Forget a discovered phone (it reappears when it is seen again)",
                {"204": {"description": "Forgotten"}},
                parameters=[openapi.MAC_PARAMETER],
            )
        },
    },
    _SCHEMAS,
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "/discovered", list_discovered)
    app.router.add_delete(PREFIX + "/discovered/{mac}", forget_discovered)
