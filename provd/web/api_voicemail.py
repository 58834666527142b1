"""REST routes for the voicemail messages of a tenant's users, and each user's mailbox
settings: the PIN that opens it with *1233 (write-only: a reply says only whether one
is set) and the greeting.

Tenant admins see their own tenant's: another tenant named in the path answers
exactly as one that does not exist. Marking a message heard or removing it sends the
user's phones the mailbox's new counts (their lamp) when serve runs a PBX.
"""

from __future__ import annotations

from aiohttp import web

from provd.services import voicemail
from provd.services.voicemail import mailbox
from provd.web import auth
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.voicemail import GreetingIn, Heard, Mailbox, PinIn, VoicemailMessage
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


_MAILBOX = [_TENANT, Param("extension", "path", required=True, description="The user's extension")]


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/users/{tenant}/{extension}/voicemail",
    "The user's mailbox: whether a PIN is set, the greeting, the e-mail copies",
    ok={200: Reply("The mailbox", Mailbox)},
    parameters=_MAILBOX,
)
async def show_mailbox(request: web.Request) -> web.Response:
    view = await mailbox.show_mailbox(await path_tenant(request), request.match_info["extension"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/users/{tenant}/{extension}/voicemail/pin",
    "Set the PIN the user types after dialling *1233",
    PinIn,
    ok={200: Reply("The mailbox", Mailbox)},
    parameters=_MAILBOX,
)
async def put_pin(request: web.Request, body: PinIn) -> web.Response:
    view = await mailbox.set_pin(
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        body.voicemail_pin,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/users/{tenant}/{extension}/voicemail/pin",
    "Clear the PIN: *1233 no longer opens the mailbox",
    ok={200: Reply("The mailbox", Mailbox)},
    parameters=_MAILBOX,
)
async def clear_pin(request: web.Request) -> web.Response:
    view = await mailbox.set_pin(
        request[auth.ACTOR], await path_tenant(request), request.match_info["extension"], None
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/users/{tenant}/{extension}/voicemail/greeting",
    "Set the greeting callers to the mailbox hear before the tone (null: none)",
    GreetingIn,
    ok={200: Reply("The mailbox", Mailbox)},
    parameters=_MAILBOX,
)
async def put_greeting(request: web.Request, body: GreetingIn) -> web.Response:
    view = await mailbox.set_greeting(
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        body.greeting,
    )
    return web.json_response(view)


add_routes = api.add_to
