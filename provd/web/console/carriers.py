"""Carriers (platform admins only): each with its address, order, registration, the
networks its calls come from, and whether it answered its last OPTIONS probe."""

from __future__ import annotations

import re

from aiohttp import web

from provd.domain.errors import InvalidInput, ProvdError
from provd.services import carriers
from provd.services.carriers.state import CarrierState, probe_answer
from provd.web import pages
from provd.web.auth import ACTOR
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    platform,
    query_flashes,
    when,
)

Flashes = list[tuple[str, str]]
DEFAULT_PRIORITY = "10"
_NETWORK_SEPARATORS = re.compile(r"[\s,]+")
_STATE_BADGES = {CarrierState.UP: "ok", CarrierState.DOWN: "bad", CarrierState.UNKNOWN: "idle"}
_REDIRECT_FLASHES = (
    ("added", "ok", "Carrier {} added."),
    ("removed", "ok", "Carrier {} removed."),
)
_FORM_FIELDS = ("name", "host", "transport", "priority", "inbound_from", "username")


async def _page(
    request: web.Request,
    *,
    flashes: Flashes | None = None,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    rows = [
        (carriers.carrier_view(c), carriers.carrier_address(c), probe_answer(c))
        for c in await carriers.list_carriers()
    ]
    return pages.render(
        request,
        "console/carriers.html",
        rows=rows,
        transports=[t.value for t in carriers.Transport],
        badges=_STATE_BADGES,
        # The password is never sent back, not even to the form that was refused.
        values=values or {"transport": carriers.Transport.UDP.value, "priority": DEFAULT_PRIORITY},
        errors=errors or no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        when=when,
    )


async def carriers_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _priority(text: str) -> int:
    text = text.strip() or DEFAULT_PRIORITY
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("priority", f"{text!r} is not a whole number")
    return int(text)


def _networks(text: str) -> list[str]:
    """One per line, or separated by commas or spaces, as people paste them."""
    return [n for n in _NETWORK_SEPARATORS.split(text) if n]


def _optional(text: str | None) -> str | None:
    return text if text else None


async def carrier_add(request: web.Request) -> web.StreamResponse:
    values = await form(request)
    try:
        carrier = await carriers.add_carrier(
            platform(request),
            request[ACTOR],
            values.get("name", ""),
            values.get("host", ""),
            transport=values.get("transport", "") or carriers.Transport.UDP.value,
            username=_optional(values.get("username", "").strip()),
            password=_optional(values.get("password")),
            inbound_from=_networks(values.get("inbound_from", "")),
            priority=_priority(values.get("priority", "")),
        )
    except ProvdError as e:
        errors = field_errors(e)
        return await _page(
            request,
            flashes=[("error", "The carrier was not added: " + next(iter(errors.values()), ""))],
            errors=errors,
            values={k: values.get(k, "") for k in _FORM_FIELDS},
        )
    raise web.HTTPSeeOther(f"/console/carriers?added={carrier.name}")


async def carrier_remove(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    try:
        await carriers.remove_carrier(platform(request), request[ACTOR], name)
    except ProvdError as e:
        message = next(iter(field_errors(e).values()), "")
        return await _page(request, flashes=[("error", "Not removed: " + message)])
    raise web.HTTPSeeOther(f"/console/carriers?removed={name.strip().lower()}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/carriers", carriers_page)
    r.add_post("/console/carriers", carrier_add)
    r.add_post("/console/carriers/{name}/remove", carrier_remove)
