"""REST routes for a tenant's IVR menus and the sounds they play.

Tenant admins manage their own tenant's: another tenant named in the path answers
exactly as one that does not exist. A sound is uploaded as a multipart form (fields
``name`` and ``file``) and converted to 8 kHz mono WAV; what cannot be converted is
refused with nothing stored.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from provd.domain.errors import InvalidInput
from provd.services import menus
from provd.services.menus import sounds
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import DEFAULT_ERRORS, Api, ErrorReply, Param, Reply, error_response
from provd.web.schemas.menus import Menu, MenuIn, MenuPut, Sound
from provd.web.tenant_scope import path_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")
_MENU = [_TENANT, Param("extension", "path", required=True, description="The menu's extension")]
_SOUND = [_TENANT, Param("name", "path", required=True, description="The sound's name")]
# The file, its part headers and the name field.
_FORM_BOUND = sounds.MAX_UPLOAD + 64 * 1024
_MAX_NAME_FIELD = 1024
_TOO_LARGE = f"is larger than {sounds.MAX_UPLOAD // (1024 * 1024)} MB: nothing was stored"


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/menus",
    "The tenant's IVR menus, by extension",
    ok={200: Reply("Menus", list[Menu])},
    parameters=[_TENANT],
)
async def list_menus(request: web.Request) -> web.Response:
    return web.json_response(await menus.list_menus(await path_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/tenants/{tenant}/menus",
    "Add an IVR menu at an extension no user, group or menu of the tenant has; checked whole"
    " (keys, sounds, destinations) before anything is stored",
    MenuIn,
    ok={201: Reply("Added", Menu)},
    parameters=[_TENANT],
)
async def add_menu(request: web.Request, body: MenuIn) -> web.Response:
    view = await menus.add_menu(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        body.extension,
        body.name,
        body.greeting,
        invalid_sound=body.invalid_sound,
        timeout_seconds=body.timeout_seconds,
        max_attempts=body.max_attempts,
        dial_length=body.dial_length,
        default=body.default,
        keys=body.keys,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/menus/{extension}",
    "Show an IVR menu",
    ok={200: Reply("The menu", Menu)},
    parameters=_MENU,
)
async def show_menu(request: web.Request) -> web.Response:
    view = await menus.show_menu(await path_tenant(request), request.match_info["extension"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/tenants/{tenant}/menus/{extension}",
    "Replace a menu's settings and keys (its extension stays); checked whole first",
    MenuPut,
    ok={200: Reply("The menu", Menu)},
    parameters=_MENU,
)
async def put_menu(request: web.Request, body: MenuPut) -> web.Response:
    view = await menus.update_menu(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        name=body.name,
        greeting=body.greeting,
        invalid_sound=body.invalid_sound or "none",
        timeout_seconds=body.timeout_seconds,
        max_attempts=body.max_attempts,
        dial_length=body.dial_length,
        default=body.default or "none",
        keys=body.keys,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/menus/{extension}",
    "Remove a menu; refused while a number, a destination or another menu's key points at it",
    ok={204: Reply("Removed")},
    parameters=_MENU,
)
async def remove_menu(request: web.Request) -> web.Response:
    await menus.remove_menu(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
    )
    return web.Response(status=204)


# ---- sounds ------------------------------------------------------------------------------


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/sounds",
    "The tenant's sounds, by name",
    ok={200: Reply("Sounds", list[Sound])},
    parameters=[_TENANT],
)
async def list_sounds(request: web.Request) -> web.Response:
    return web.json_response(await sounds.list_sounds(await path_tenant(request)))


class _TooLarge(Exception):
    pass


async def _form(request: web.Request) -> tuple[str, bytes, str]:
    """The form's ``name``, ``file`` and the file's name, each read within its bound
    (``request.post()`` would spool the file to disk up to the app's limit)."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput("file", "send the sound as multipart/form-data fields name and file")
    if (request.content_length or 0) > _FORM_BOUND:
        raise _TooLarge
    name: str | None = None
    found: bytes | None = None
    filename = ""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("file", "send the sound as the form field file, not a nested form")
        bound = sounds.MAX_UPLOAD if part.name == "file" else _MAX_NAME_FIELD
        data = bytearray()
        while chunk := await part.read_chunk():
            async for decoded in part.decode_iter(chunk):
                data += decoded
            if len(data) > bound or request.content.total_bytes > _FORM_BOUND:
                if part.name == "file":
                    raise _TooLarge
                raise InvalidInput(part.name or "body", "is too long")
        if part.name == "file" and found is None:
            found, filename = bytes(data), part.filename or ""
        elif part.name == "name" and name is None:
            name = data.decode(errors="replace")
    if name is None:
        raise InvalidInput("name", "is required: the form field name")
    if found is None:
        raise InvalidInput("file", "is required: the form field file")
    return name, found, filename


@auth.tenant_admin_allowed
@api.route(
    "POST",
    "/tenants/{tenant}/sounds",
    "Upload a sound (WAV, MP3, OGG, … up to 20 MB and 10 minutes) under a name; it is"
    " stored as 8 kHz mono 16-bit WAV. What cannot be read as audio is 400 on field file,"
    " with nothing stored",
    ok={
        201: Reply("Added", Sound),
        413: Reply("Nothing stored: the upload is larger than 20 MB", ErrorReply),
    },
    errors=DEFAULT_ERRORS,
    parameters=[_TENANT],
    raw_body={
        "multipart/form-data": {
            "type": "object",
            "required": ["name", "file"],
            "properties": {
                "name": {"type": "string"},
                "file": {"type": "string", "format": "binary"},
            },
        }
    },
)
async def add_sound(request: web.Request) -> web.Response:
    tenant = await path_tenant(request)
    try:
        name, data, filename = await _form(request)
    except _TooLarge:
        return error_response(413, _TOO_LARGE, "file")
    except (OSError, web.RequestPayloadError):
        raise InvalidInput("file", "the upload ended before the end of the file") from None
    except ValueError:
        # aiohttp's word for a form cut short or garbled.
        raise InvalidInput("file", "is not a complete multipart form (cut short?)") from None
    view = await sounds.add_sound(
        request.app[PLATFORM], request[auth.ACTOR], tenant, name, data, filename
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/sounds/{name}",
    "A sound's name, duration and size",
    ok={200: Reply("The sound", Sound)},
    parameters=_SOUND,
)
async def show_sound(request: web.Request) -> web.Response:
    view = await sounds.show_sound(await path_tenant(request), request.match_info["name"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/sounds/{name}/audio",
    "The stored WAV (8 kHz mono 16-bit PCM), to listen to",
    ok={200: Reply("The WAV", media_type="audio/wav", schema={"type": "string"})},
    parameters=_SOUND,
)
async def sound_audio(request: web.Request) -> web.StreamResponse:
    path = await sounds.sound_audio(
        request.app[PLATFORM], await path_tenant(request), request.match_info["name"]
    )
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/sounds/{name}",
    "Remove a sound and its file; refused while a menu plays it",
    ok={204: Reply("Removed")},
    parameters=_SOUND,
)
async def remove_sound(request: web.Request) -> web.Response:
    await sounds.remove_sound(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["name"],
    )
    return web.Response(status=204)


add_routes = api.add_to
