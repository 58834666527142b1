"""The installer's page: pick a user and a model, scan labels, watch phones come alive.

``GET /install/`` renders the page (query ``tenant`` for admins, ``extension``
and ``model`` preselect, as the printable sheet's QR codes do). The scanning,
claiming and live status run in ``static/installer.js`` against the installer
API. ``POST /install/`` is the same claim as a plain form (a typed MAC or a
photo) for a browser without JavaScript: it answers with the page and a flash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from provd.domain.access import Principal
from provd.domain.errors import InvalidInput, NotFound
from provd.drivers.registry import get_model
from provd.services import installer
from provd.services.directory.tenants import list_tenants
from provd.services.installer import labels
from provd.web import auth
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM
from provd.web.pages import render

DISCOVERED_API = "/api/v1/discovered"
DEFAULT_MODEL = "yealink-t46g"
_PAGE_USERS = 50


def discovery_available(app: web.Application, principal: Principal) -> bool:
    """Whether ``GET /api/v1/discovered`` exists and this principal may call it: the page
    shows the section only then, so the browser never meets a 404 or 403 for it."""
    for resource in app.router.resources():
        if resource.canonical != DISCOVERED_API:
            continue
        for route in resource:
            if route.method == "GET":
                return principal.is_admin or auth.installer_may_call(route.handler)
    return False


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip()[:64] if isinstance(value, str) else ""


async def _context(
    request: web.Request,
    query: Mapping[str, Any],
    flashes: list[tuple[str, str]],
    claimed: list[dict[str, Any]],
) -> dict[str, Any]:
    """``query``: the preselection (the page's query, or the form just posted)."""
    principal = request[auth.PRINCIPAL]
    try:
        tenant = await installer.tenant_in_scope(principal, _text(query, "tenant") or None)
    except (InvalidInput, NotFound) as e:
        flashes.append(("error", str(e)))
        tenant = await installer.tenant_in_scope(principal, None)
    users = await installer.search_users(principal, tenant.slug, "")
    extension = _text(query, "extension")
    if extension and extension not in {u["extension"] for u in users}:
        found = await installer.search_users(principal, tenant.slug, extension)
        match = [u for u in found if u["extension"] == extension]
        if match:
            users = match + users[: _PAGE_USERS - 1]
        else:
            flashes.append(("warn", f"no user has extension {extension} here: pick one below"))
            extension = ""
    model = _text(query, "model") or DEFAULT_MODEL
    try:
        model = get_model(model).id
    except InvalidInput:
        flashes.append(("warn", f"unknown model {model!r}: pick one below"))
        model = DEFAULT_MODEL
    tenants = [t.slug for t in await list_tenants()] if principal.is_admin else []
    return {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "tenants": tenants,
        "users": users,
        "selected_extension": extension,
        "spare": _text(query, "spare") == "1",
        "models": installer.models_view(),
        "selected_model": model,
        "discovered": discovery_available(request.app, principal),
        "flashes": flashes,
        "claimed": claimed,
    }


async def scan_page(request: web.Request) -> web.Response:
    context = await _context(request, request.query, [], [])
    return render(request, "install/scan.html", **context)


async def claim_form(request: web.Request) -> web.Response:
    """The no-JavaScript claim: MAC typed or taken from a photo of the label."""
    form = await request.post()
    flashes: list[tuple[str, str]] = []
    claimed: list[dict[str, Any]] = []
    mac = _text(form, "mac")
    photo = form.get("photo")
    try:
        if not mac and isinstance(photo, web.FileField):
            reading = await labels.read_label(photo.file.read(labels.MAX_BYTES + 1))
            if reading.mac is None:
                raise InvalidInput("photo", reading.message)
            mac = reading.mac
        if not mac:
            raise InvalidInput("mac", "type the MAC from the label or take a photo of it")
        extension = _text(form, "extension")
        result = await installer.claim(
            request.app[PLATFORM],
            request[auth.ACTOR],
            request[auth.PRINCIPAL],
            request.app.get(PBX),
            mac=mac,
            model=_text(form, "model"),
            extension=extension or None,
            tenant_slug=_text(form, "tenant") or None,
        )
        who = result["user"]["extension"] if result["user"] else "spare"
        flashes.append(("ok", f"claimed {result['mac']} for {who}: plug it in"))
        claimed.append(result)
    except (InvalidInput, NotFound) as e:
        flashes.append(("error", str(e)))
    context = await _context(request, form, flashes, claimed)
    return render(request, "install/scan.html", **context)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/install/", scan_page)
    app.router.add_post("/install/", claim_form)
