"""Sounds of one tenant, the recordings its IVR menus play: each with its duration and
size and a player; upload one (any format ffmpeg reads, converted by the service) and
remove one nothing plays. The tenant's music on hold is picked here too: its sounds in
order, one select per place (``moh_1``, ``moh_2``, …; an empty one is skipped).

The player streams the stored WAV from the API's audio route, which the console's
session opens for GET. An upload is read by the CSRF check's form parse, so it is bound
by the application's body limit (:data:`MAX_FORM_MB`), below the service's own.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, ProvdError
from provd.services import moh
from provd.services.directory import Tenant, tenants
from provd.services.menus import sounds
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    platform,
    query_flashes,
    segment,
)

Flashes = list[tuple[str, str]]
MAX_FORM_MB = 16
"""The application's body limit (provd.web.app), which the upload form meets first."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Sound {} added."),
    ("removed", "ok", "Sound {} removed."),
    ("moh", "ok", "Music on hold {}."),
)
MOH_SPARE = 2
"""Empty places the music on hold form offers after the sounds it has."""


def duration_text(ms: int) -> str:
    """``1.0 s``, ``1 min 05.2 s``: to a tenth of a second, as a greeting is timed."""
    minutes, rest = divmod(ms, 60_000)
    seconds = f"{rest / 1000:.1f} s"
    return f"{minutes} min {rest / 1000:04.1f} s" if minutes else seconds


def size_text(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024**2:.1f} MB"


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> web.Response:
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    return pages.render(
        request,
        "console/sounds.html",
        status=status,
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        sounds=await sounds.list_sounds(tenant.slug),
        moh=(playlist := await moh.show_moh(tenant.slug)),
        moh_places=min(len(playlist["sounds"]) + MOH_SPARE, moh.MAX_SOUNDS),
        values=values or {},
        errors=errors or no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        duration_text=duration_text,
        size_text=size_text,
        segment=segment,
        max_mb=MAX_FORM_MB,
        max_minutes=sounds.MAX_DURATION_MS // 60_000,
    )


@auth.tenant_admin_allowed
async def sounds_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _refused(
    request: web.Request,
    tenant: Tenant,
    e: ProvdError,
    what: str,
    values: dict[str, str] | None = None,
) -> web.Response:
    errors = field_errors(e)
    message = f"{what}: {next(iter(errors.values()), '')}"
    return await _page(request, tenant, flashes=[("error", message)], values=values, errors=errors)


async def _upload(request: web.Request) -> tuple[bytes, str]:
    """The posted ``file`` and its name; InvalidInput on field file without one."""
    posted = (await request.post()).get("file")
    if not isinstance(posted, web.FileField):
        raise InvalidInput("file", "choose a file to upload")
    # A spooled temporary file: read off the event loop.
    data = await asyncio.to_thread(posted.file.read)
    return data, posted.filename or ""


@auth.tenant_admin_allowed
async def sound_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        sounds.check_sound_name(values.get("name", ""))
        data, filename = await _upload(request)
        view = await sounds.add_sound(
            platform(request), request[ACTOR], tenant.slug, values.get("name", ""), data, filename
        )
    except ProvdError as e:
        return await _refused(request, tenant, e, "The sound was not added", values)
    query = urlencode({"tenant": tenant.slug, "added": view["name"]})
    raise web.HTTPSeeOther(f"/console/sounds?{query}#sound-{view['name']}")


@auth.tenant_admin_allowed
async def sound_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    try:
        name = (await sounds.show_sound(tenant.slug, request.match_info["name"]))["name"]
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e
    try:
        await sounds.remove_sound(platform(request), request[ACTOR], tenant.slug, name)
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Sound {name} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": name})
    raise web.HTTPSeeOther(f"/console/sounds?{query}")


def _playlist(values: dict[str, str]) -> list[str]:
    """The names picked in the music on hold form, in place order."""
    places = sorted(
        (int(key[4:]), value.strip())
        for key, value in values.items()
        if key.startswith("moh_") and key[4:].isdigit() and value.strip()
    )
    return [name for _, name in places]


@auth.tenant_admin_allowed
async def moh_set(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        await moh.set_moh(platform(request), request[ACTOR], tenant.slug, _playlist(values))
    except ProvdError as e:
        return await _refused(request, tenant, e, "The music on hold was not saved")
    query = urlencode({"tenant": tenant.slug, "moh": "saved"})
    raise web.HTTPSeeOther(f"/console/sounds?{query}#moh")


@auth.tenant_admin_allowed
async def moh_clear(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    await moh.clear_moh(platform(request), request[ACTOR], tenant.slug)
    query = urlencode({"tenant": tenant.slug, "moh": "back to the default"})
    raise web.HTTPSeeOther(f"/console/sounds?{query}#moh")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/sounds", sounds_page)
    r.add_post("/console/sounds/{tenant}/moh", moh_set)
    r.add_post("/console/sounds/{tenant}/moh/clear", moh_clear)
    r.add_post("/console/sounds/{tenant}", sound_add)
    r.add_post("/console/sounds/{tenant}/{name}/remove", sound_remove)
