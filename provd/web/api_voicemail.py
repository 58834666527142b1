"""REST routes for the voicemail messages of a tenant's users.

Tenant admins see their own tenant's: another tenant named in the path answers
exactly as one that does not exist. Marking a message heard or removing it sends the
user's phones the mailbox's new counts (their lamp) when serve runs a PBX.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import voicemail
from provd.web import auth
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.voicemail import Heard, VoicemailMessage
from provd.web.tenant_scope import path_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")
_MESSAGE = [_TENANT, Param("id", "path", required=True, description="The message's id")]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/voicemail",
    "The tenant's voicemail messages, newest first",
    ok={200: Reply("Messages", list[VoicemailMessage])},
    parameters=[_TENANT, Param("user", description="Only this user's (an extension)")],
)
async def list_messages(request: web.Request) -> web.Response:
    views = await voicemail.list_messages(
        await path_tenant(request), request.query.get("user") or None
    )
    return web.json_response(views)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/voicemail/{id}/audio",
    "The message's recording (8 kHz mono 16-bit PCM WAV)",
    ok={200: Reply("The WAV", media_type="audio/wav", schema={"type": "string"})},
    parameters=_MESSAGE,
)
async def message_audio(request: web.Request) -> web.StreamResponse:
    path = await voicemail.message_audio(
        request.app[PLATFORM], await path_tenant(request), request.match_info["id"]
    )
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@auth.tenant_admin_allowed
@api.route(
    "POST",
    "/tenants/{tenant}/voicemail/{id}/heard",
    "Mark a message heard; the user's phones are sent the new counts",
    ok={200: Reply("Heard", Heard)},
    parameters=_MESSAGE,
)
async def mark_heard(request: web.Request) -> web.Response:
    view, user = await voicemail.mark_heard(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["id"],
    )
    lamp = await voicemail.update_lamp(request.app.get(PBX), user)
    return web.json_response({**view, "lamp": lamp})


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/voicemail/{id}",
    "Remove a message and its recording; the user's phones are sent the new counts",
    ok={204: Reply("Removed")},
    parameters=_MESSAGE,
)
async def remove_message(request: web.Request) -> web.Response:
    user = await voicemail.remove_message(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["id"],
    )
    await voicemail.update_lamp(request.app.get(PBX), user)
    return web.Response(status=204)


add_routes = api.add_to
