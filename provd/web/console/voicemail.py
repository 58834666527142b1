"""Voicemail of one tenant: each user's mailbox with its messages (caller, when, how
long, heard or new, a player), "mark heard" and "remove" per message, the address
copies of the user's messages are e-mailed to, the PIN that opens the mailbox with
*1233 (set or cleared, never shown) and the greeting callers hear (one of the tenant's
sounds).

The player streams the stored WAV from the API's audio route, which the console's
session opens for GET. Marking a message heard or removing it sends the user's phones
the mailbox's new counts (their lamp) when serve runs a PBX, as the API does; a PBX that
is down does not undo the change.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant (or a message of another
tenant) answers 404 as one that does not exist. ``?user=EXT`` shows one mailbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.services import voicemail
from provd.services.directory import Tenant, tenants, users
from provd.services.menus import sounds
from provd.services.voicemail import mailbox
from provd.web import auth, pages
from provd.web.auth import ACTOR
from provd.web.console import scope
from provd.web.console.helpers import (
    Errors,
    field_errors,
    form,
    no_errors,
    not_found,
    pbx_control,
    platform,
    query_flashes,
)
from provd.web.console.sounds import duration_text

Flashes = list[tuple[str, str]]
_REDIRECT_FLASHES = (
    ("heard", "ok", "Message {} marked heard."),
    ("removed", "ok", "Message {} removed."),
    ("emailed", "ok", "Copies of {}'s messages: address saved."),
    ("pin", "ok", "{}'s voicemail PIN set."),
    ("pin_cleared", "ok", "{}'s voicemail PIN cleared: *1233 no longer opens the mailbox."),
    ("greeted", "ok", "{}'s greeting saved."),
)


def local_time(iso: str, zone: str) -> str:
    """A message's time in the tenant's timezone, as the schedules page shows times."""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def caller_text(view: Mapping[str, Any]) -> str:
    """``Jan Jansen +31612345678``; ``unknown`` for a caller who sent nothing."""
    number = view["caller_number"] or view["caller"]
    return " ".join(x for x in (view["caller_name"], number) if x) or "unknown"


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    shown: str | None = None,
) -> web.Response:
    """``failed``: the extension whose e-mail form ``values`` and ``errors`` belong to;
    ``shown``: the one mailbox shown (``?user=`` when None, every mailbox when empty)."""
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    people = [u for u, _ in await users.list_users(tenant.slug)]
    shown = (request.query.get("user", "") if shown is None else shown).strip()
    user_error = ""
    if shown and shown not in {u.extension for u in people}:
        user_error = f"no user {shown} in tenant {tenant.slug}: every mailbox is shown"
        shown = ""
    settings = await mailbox.list_mailboxes(tenant.slug)
    by_mailbox: dict[str, list[dict[str, Any]]] = {u.extension: [] for u in people}
    for view in await voicemail.list_messages(tenant.slug):
        by_mailbox.setdefault(view["mailbox"], []).append(view)
    mailboxes = [
        {
            "extension": u.extension,
            "name": u.display_name,
            "email": u.voicemail_email or "",
            "pin_set": settings[u.extension]["pin_set"],
            "greeting": settings[u.extension]["greeting"] or "",
            "messages": by_mailbox[u.extension],
            "new": sum(1 for m in by_mailbox[u.extension] if not m["heard"]),
        }
        for u in people
        if not shown or u.extension == shown
    ]
    return pages.render(
        request,
        "console/voicemail.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        user_error=user_error,
        users=[(u.extension, u.display_name) for u in people],
        shown=shown,
        mailboxes=mailboxes,
        sound_names=[v["name"] for v in await sounds.list_sounds(tenant.slug)],
        failed=failed,
        values=values or {},
        errors=errors or no_errors(),
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        duration_text=duration_text,
        caller_text=caller_text,
        local=lambda iso: local_time(iso, tenant.timezone),
    )


@auth.tenant_admin_allowed
async def voicemail_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _back(tenant: Tenant, values: Mapping[str, str], key: str, value: object) -> str:
    """The page again, on the mailbox the form was posted from when one was shown."""
    query = {"tenant": tenant.slug}
    if values.get("user"):
        query["user"] = values["user"]
    query[key] = str(value)
    return f"/console/voicemail?{urlencode(query)}"


async def _message(tenant: Tenant, message_id: str) -> int:
    """The message's id; 404 for one that is not the tenant's."""
    try:
        view = await voicemail.show_message(tenant.slug, message_id)
    except NotFound as e:
        raise not_found(e) from e
    return int(view["id"])


@auth.tenant_admin_allowed
async def message_heard(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    message_id = await _message(tenant, request.match_info["id"])
    try:
        _, user = await voicemail.mark_heard(
            platform(request), request[ACTOR], tenant.slug, message_id
        )
    except ProvdError as e:
        flashes = [("error", f"Not marked heard: {e}")]
        return await _page(request, tenant, flashes=flashes, shown=values.get("user", ""))
    await voicemail.update_lamp(pbx_control(request), user)
    raise web.HTTPSeeOther(
        _back(tenant, values, "heard", message_id) + f"#mailbox-{user.extension}"
    )


@auth.tenant_admin_allowed
async def message_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    message_id = await _message(tenant, request.match_info["id"])
    try:
        user = await voicemail.remove_message(
            platform(request), request[ACTOR], tenant.slug, message_id
        )
    except ProvdError as e:
        flashes = [("error", f"The message was kept: {e}")]
        return await _page(request, tenant, flashes=flashes, shown=values.get("user", ""))
    await voicemail.update_lamp(pbx_control(request), user)
    raise web.HTTPSeeOther(
        _back(tenant, values, "removed", message_id) + f"#mailbox-{user.extension}"
    )


@auth.tenant_admin_allowed
async def email_set(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    extension = request.match_info["extension"]
    try:
        view = await voicemail.set_email(
            platform(request), request[ACTOR], tenant.slug, extension, values.get("email")
        )
    except NotFound as e:
        raise not_found(e) from e
    except ProvdError as e:
        errors = field_errors(e)
        message = f"The address was not saved: {next(iter(errors.values()), '')}"
        return await _page(
            request,
            tenant,
            flashes=[("error", message)],
            failed=extension,
            values=values,
            errors=errors,
            shown=values.get("user", ""),
        )
    raise web.HTTPSeeOther(
        _back(tenant, values, "emailed", view["extension"]) + f"#mailbox-{view['extension']}"
    )


async def _mailbox_form(
    request: web.Request, what: str, change: Any, done: str
) -> web.StreamResponse:
    """Apply one mailbox setting from a form; the page again with the error by its field
    (nothing stored) or a redirect that says it was done."""
    tenant = await scope.path_tenant(request)
    values = await form(request)
    extension = request.match_info["extension"]
    try:
        view = await change(request[ACTOR], tenant.slug, extension, values)
    except NotFound as e:
        if e.field != "greeting":
            raise not_found(e) from e
        errors = field_errors(e)
    except ProvdError as e:
        errors = field_errors(e)
    else:
        key = done if done != "pin" or view["pin_set"] else "pin_cleared"
        raise web.HTTPSeeOther(
            _back(tenant, values, key, view["extension"]) + f"#mailbox-{view['extension']}"
        )
    message = f"The {what} was not saved: {next(iter(errors.values()), '')}"
    # The PIN typed is never sent back to the browser.
    kept = {k: v for k, v in values.items() if k != "voicemail_pin"}
    return await _page(
        request,
        tenant,
        flashes=[("error", message)],
        failed=extension,
        values=kept,
        errors=errors,
        shown=values.get("user", ""),
    )


@auth.tenant_admin_allowed
async def pin_set(request: web.Request) -> web.StreamResponse:
    async def change(actor: Any, slug: str, ext: str, values: Mapping[str, str]) -> Any:
        pin = None if values.get("clear") else values.get("voicemail_pin", "")
        if pin is not None and not pin.strip():
            raise InvalidInput("voicemail_pin", "must not be empty (Clear removes the PIN)")
        return await mailbox.set_pin(actor, slug, ext, pin)

    return await _mailbox_form(request, "PIN", change, "pin")


@auth.tenant_admin_allowed
async def greeting_set(request: web.Request) -> web.StreamResponse:
    async def change(actor: Any, slug: str, ext: str, values: Mapping[str, str]) -> Any:
        return await mailbox.set_greeting(actor, slug, ext, values.get("greeting") or None)

    return await _mailbox_form(request, "greeting", change, "greeted")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/voicemail", voicemail_page)
    r.add_post("/console/voicemail/{tenant}/messages/{id}/heard", message_heard)
    r.add_post("/console/voicemail/{tenant}/messages/{id}/remove", message_remove)
    r.add_post("/console/voicemail/{tenant}/users/{extension}/email", email_set)
    r.add_post("/console/voicemail/{tenant}/users/{extension}/pin", pin_set)
    r.add_post("/console/voicemail/{tenant}/users/{extension}/greeting", greeting_set)
