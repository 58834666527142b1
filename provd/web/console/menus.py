"""IVR menus of one tenant: each with its greeting, timing, default destination and
keys; add, edit and remove a menu.

A menu's form has a row per key (0-9, * and #): an action picked from a list, and for a
transfer the destination (the same kind and key as a group's overflow), for a submenu
the other menu. The form is read back as the key texts the service takes
(``user:201``, ``submenu:710``, ``repeat``, …) and the service checks the menu whole;
a refusal names the field (``keys.1`` for key 1's row).

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain import ivr
from provd.domain.destinations import NONE
from provd.domain.errors import InvalidInput, ProvdError
from provd.services import menus
from provd.services.destinations import describe
from provd.services.directory import Tenant, tenants
from provd.services.menus import sounds
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import destinations, scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    platform,
    query_flashes,
    whole_number,
)

Flashes = list[tuple[str, str]]
ADD_FORM = "add"
"""``failed`` for the add-a-menu form; a menu's edit form uses its extension."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Menu {} added."),
    ("saved", "ok", "Menu {} saved."),
    ("removed", "ok", "Menu {} removed."),
)
ACTIONS: tuple[tuple[str, str], ...] = (
    (NONE, "nothing (the invalid-key notice)"),
    (menus.TRANSFER, "transfer to a destination"),
    (menus.SUBMENU, "submenu"),
    (menus.REPEAT, "repeat the greeting"),
    (menus.HANG_UP, "hang up"),
    (menus.DIAL_EXTENSION, "dial an extension"),
)
"""A key's actions as its row offers them, with what people call them."""
_KEY_NAMES = {"*": "star", "#": "hash"}
_COUNTS = ("timeout_seconds", "max_attempts", "dial_length")
_NO_GREETING = "pick a sound (upload one on the Sounds page first)"


def key_slug(key: str) -> str:
    """A key as form names and element ids spell it: ``1``, ``star``, ``hash``."""
    return _KEY_NAMES.get(key, key)


def _key_text(values: Mapping[str, str], key: str) -> str:
    """The service's text for one key's row; InvalidInput naming ``keys.KEY``."""
    slug = key_slug(key)
    action = values.get(f"key_{slug}_action", NONE).strip().lower() or NONE
    if action == menus.TRANSFER:
        destination = destinations.from_form(values, f"key_{slug}")
        if destination == NONE:
            raise InvalidInput(f"keys.{key}", "pick where the key transfers the call")
        return destination
    if action == menus.SUBMENU:
        return f"{menus.SUBMENU}:{values.get(f'key_{slug}_menu', '').strip()}"
    if action == NONE or action in (menus.REPEAT, menus.HANG_UP, menus.DIAL_EXTENSION):
        return action
    raise InvalidInput(f"keys.{key}", f"{action!r} is not a key's action")


def keys_from_form(values: Mapping[str, str]) -> dict[str, str]:
    """Every key's text, ``none`` for a key that does nothing."""
    return {key: _key_text(values, key) for key in ivr.KEYS}


def _key_values(key: str, view: Mapping[str, Any] | None) -> dict[str, str]:
    """One stored key (its view, or None) as its row's inputs."""
    slug = key_slug(key)
    out = {f"key_{slug}_action": NONE, f"key_{slug}_menu": ""}
    out.update(destinations.form_values(f"key_{slug}", None))
    if view is None:
        return out
    out[f"key_{slug}_action"] = view["action"]
    if view["action"] == menus.TRANSFER:
        out.update(destinations.form_values(f"key_{slug}", view["destination"]))
    elif view["action"] == menus.SUBMENU:
        out[f"key_{slug}_menu"] = view["menu"]
    return out


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    """A menu's edit form filled with what it is now."""
    out = {
        "name": view["name"],
        "greeting": view["greeting"],
        "invalid_sound": view["invalid_sound"] or "",
        **{field: str(view[field]) for field in _COUNTS},
        **destinations.form_values("default", view["default"]),
    }
    for key in ivr.KEYS:
        out.update(_key_values(key, view["keys"].get(key)))
    return out


def _add_defaults() -> dict[str, str]:
    out = {
        "timeout_seconds": str(menus.DEFAULT_TIMEOUT_SECONDS),
        "max_attempts": str(menus.DEFAULT_MAX_ATTEMPTS),
        "dial_length": str(menus.DEFAULT_DIAL_LENGTH),
    }
    for key in ivr.KEYS:
        out.update(_key_values(key, None))
    return out


def key_summary(entry: Mapping[str, Any]) -> str:
    """What a stored key does, for people."""
    action = str(entry["action"])
    if action == menus.TRANSFER:
        return f"to {describe(entry['destination'])}"
    if action == menus.SUBMENU:
        return f"submenu {entry['menu']}"
    return dict(ACTIONS).get(action, action)


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> web.Response:
    """``failed``: the form ``values`` and ``errors`` belong to (ADD_FORM or a menu's
    extension)."""
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    views = await menus.list_menus(tenant.slug)
    return pages.render(
        request,
        "console/menus.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        menus=views,
        sounds=[s["name"] for s in await sounds.list_sounds(tenant.slug)],
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        actions=ACTIONS,
        keys=ivr.KEYS,
        key_slug=key_slug,
        key_summary=key_summary,
        timeout_range=ivr.TIMEOUT_RANGE,
        attempts_range=ivr.ATTEMPTS_RANGE,
        dial_length_range=ivr.DIAL_LENGTH_RANGE,
        failed=failed,
        values=values or {},
        add_defaults=_add_defaults(),
        edit_values=_edit_values,
        errors=errors or no_errors(),
        clean=no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        describe=describe,
    )


@auth.tenant_admin_allowed
async def menus_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str) -> web.HTTPSeeOther:
    query = urlencode({"tenant": tenant.slug, key: value})
    return web.HTTPSeeOther(f"/console/menus?{query}#menu-{value}")


async def _refused(
    request: web.Request,
    tenant: Tenant,
    e: ProvdError,
    what: str,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    errors = field_errors(e)
    message = f"{what}: {next(iter(errors.values()), '')}"
    return await _page(
        request, tenant, flashes=[("error", message)], failed=failed, values=values, errors=errors
    )


def _sound(values: Mapping[str, str], field: str) -> str:
    """A sound picked from a list; nothing picked reads as ``none``."""
    return values.get(field, "").strip() or NONE


@auth.tenant_admin_allowed
async def menu_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        greeting = values.get("greeting", "").strip()
        if not greeting:
            raise InvalidInput("greeting", _NO_GREETING)
        keys = {k: text for k, text in keys_from_form(values).items() if text != NONE}
        view = await menus.add_menu(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("extension", ""),
            values.get("name", ""),
            greeting,
            invalid_sound=_sound(values, "invalid_sound"),
            timeout_seconds=whole_number(values.get("timeout_seconds", ""), "timeout_seconds"),
            max_attempts=whole_number(values.get("max_attempts", ""), "max_attempts"),
            dial_length=whole_number(values.get("dial_length", ""), "dial_length"),
            default=destinations.from_form(values, "default"),
            keys=keys,
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, "The menu was not added", failed=ADD_FORM, values=values
        )
    raise _done(tenant, "added", view["extension"])


async def _menu(tenant: Tenant, extension: str) -> dict[str, Any]:
    """The menu's view; a menu the tenant does not have answers 404."""
    try:
        return await menus.show_menu(tenant.slug, extension)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


def _changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the edit form changes, in the service's terms; what it leaves alone is not
    given, so an unchanged menu is not saved (nor audited)."""
    changes: dict[str, Any] = {}
    if "greeting" in values and not values["greeting"].strip():
        raise InvalidInput("greeting", _NO_GREETING)
    for key in ("name", "greeting"):
        if key in values and values[key].strip() != view[key]:
            changes[key] = values[key]
    if "invalid_sound" in values and _sound(values, "invalid_sound") != (
        view["invalid_sound"] or NONE
    ):
        changes["invalid_sound"] = _sound(values, "invalid_sound")
    for key in _COUNTS:
        if key in values and values[key].strip() != str(view[key]):
            changes[key] = whole_number(values[key], key)
    default = destinations.from_form(values, "default")
    if "default_kind" in values and default != destinations.text_of(view["default"]):
        changes["default"] = default
    keys = keys_from_form(values)
    now = {key: entry["text"] for key, entry in view["keys"].items()}
    if {k: text for k, text in keys.items() if text != NONE} != now:
        changes["keys"] = keys
    return changes


@auth.tenant_admin_allowed
async def menu_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _menu(tenant, request.match_info["extension"])
    extension = view["extension"]
    values = await form(request)
    try:
        changes = _changes(view, values)
        if not changes:
            return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
        await menus.update_menu(
            platform(request), request[ACTOR], tenant.slug, extension, **changes
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, f"Menu {extension} was not saved", failed=extension, values=values
        )
    raise _done(tenant, "saved", extension)


@auth.tenant_admin_allowed
async def menu_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _menu(tenant, request.match_info["extension"]))["extension"]
    try:
        await menus.remove_menu(platform(request), request[ACTOR], tenant.slug, extension)
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Menu {extension} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": extension})
    raise web.HTTPSeeOther(f"/console/menus?{query}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/menus", menus_page)
    r.add_post("/console/menus/{tenant}", menu_add)
    r.add_post("/console/menus/{tenant}/{extension}", menu_save)
    r.add_post("/console/menus/{tenant}/{extension}/remove", menu_remove)
