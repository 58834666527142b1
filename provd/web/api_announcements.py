"""REST routes for a tenant's announcements (an extension that plays a sound and hangs
up). Tenant admins manage their own tenant's: another tenant named in the path answers
exactly as one that does not exist."""

from __future__ import annotations

from aiohttp import web

from provd.services import announcements
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.announcements import Announcement, AnnouncementIn, AnnouncementPut
from provd.web.tenant_scope import path_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")
_ONE = [
    _TENANT,
    Param("extension", "path", required=True, description="The announcement's extension"),
]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/announcements",
    "The tenant's announcements, by extension",
    ok={200: Reply("Announcements", list[Announcement])},
    parameters=[_TENANT],
)
async def list_announcements(request: web.Request) -> web.Response:
    found = await announcements.list_announcements(await path_tenant(request))
    return web.json_response(found)


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/tenants/{tenant}/announcements",
    "Add an announcement at an extension nothing of the tenant has: it plays one of the"
    " tenant's sounds 1 to 5 times and hangs up",
    AnnouncementIn,
    ok={201: Reply("Added", Announcement)},
    parameters=[_TENANT],
)
async def add_announcement(request: web.Request, body: AnnouncementIn) -> web.Response:
    view = await announcements.add_announcement(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        body.extension,
        body.name,
        body.sound,
        plays=body.plays,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/announcements/{extension}",
    "Show an announcement",
    ok={200: Reply("The announcement", Announcement)},
    parameters=_ONE,
)
async def show_announcement(request: web.Request) -> web.Response:
    view = await announcements.show_announcement(
        await path_tenant(request), request.match_info["extension"]
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/tenants/{tenant}/announcements/{extension}",
    "Replace an announcement's name, sound and plays (its extension stays)",
    AnnouncementPut,
    ok={200: Reply("The announcement", Announcement)},
    parameters=_ONE,
)
async def put_announcement(request: web.Request, body: AnnouncementPut) -> web.Response:
    view = await announcements.update_announcement(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        name=body.name,
        sound=body.sound,
        plays=body.plays,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/announcements/{extension}",
    "Remove an announcement; refused while a number or a destination points at it",
    ok={204: Reply("Removed")},
    parameters=_ONE,
)
async def remove_announcement(request: web.Request) -> web.Response:
    await announcements.remove_announcement(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
    )
    return web.Response(status=204)


add_routes = api.add_to
