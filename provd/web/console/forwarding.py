"""A user's call forwarding, do-not-disturb and incoming blocks, set from their page.

Each forward (always, busy, no answer after N seconds, unreachable) is a destination or
none; only what the form changes is given to the service, so saving an unchanged form
writes nothing. A block matches anonymous callers, a number or a prefix, optionally only
while a schedule is in a state. Tenant admins reach their own tenant's users only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain.errors import InvalidInput, NotFound, ProvdError
from provd.services import blocking
from provd.services.directory import Tenant, User, forwarding
from provd.web import auth
from provd.web.auth import ACTOR
from provd.web.console import destinations, user_page
from provd.web.console.helpers import field_errors, form, platform, whole_number

_DND = {"on": True, "off": False}


def _done(tenant: Tenant, user: User, key: str, value: str) -> web.HTTPSeeOther:
    query = urlencode({key: value})
    return web.HTTPSeeOther(f"/console/users/{tenant.slug}/{user.extension}?{query}")


async def _refused(
    request: web.Request,
    user: User,
    tenant: Tenant,
    e: ProvdError,
    what: str,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    errors = field_errors(e)
    return await user_page.render(
        request,
        user,
        tenant,
        failed=failed,
        values=values,
        errors=errors,
        flashes=[("error", f"{what}: {next(iter(errors.values()), '')}")],
    )


def _forward_changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for case, _ in user_page.FORWARDS:
        text = destinations.from_form(values, case.value)
        if f"{case.value}_kind" in values and text != destinations.text_of(view[case.value]):
            changes[case.value] = text
    seconds = values.get("no_answer_seconds", "").strip()
    if seconds and seconds != str(view["no_answer_seconds"]):
        changes["no_answer_seconds"] = whole_number(seconds, "no_answer_seconds")
    return changes


@auth.tenant_admin_allowed
async def forwarding_save(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_page.user_in_path(request)
    values = await form(request)
    try:
        view = await forwarding.get_forwarding(tenant.slug, user.extension)
        changes = _forward_changes(view, values)
        if not changes:
            return await user_page.render(
                request, user, tenant, flashes=[("warn", "Nothing changed.")]
            )
        await forwarding.set_forwarding(
            platform(request), request[ACTOR], tenant.slug, user.extension, **changes
        )
    except ProvdError as e:
        return await _refused(
            request,
            user,
            tenant,
            e,
            "The forwarding was not saved",
            failed=user_page.FORWARDING,
            values=values,
        )
    raise _done(tenant, user, "forwarding", "1")


@auth.tenant_admin_allowed
async def dnd_set(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_page.user_in_path(request)
    setting = (await form(request)).get("dnd", "").strip().lower()
    try:
        if setting not in _DND:
            raise InvalidInput("dnd", f"{setting!r} is not on or off")
        await forwarding.set_dnd(
            platform(request), request[ACTOR], tenant.slug, user.extension, _DND[setting]
        )
    except ProvdError as e:
        return await _refused(request, user, tenant, e, "Do-not-disturb was not changed")
    raise _done(tenant, user, "dnd", setting)


def _pattern(values: dict[str, str]) -> dict[str, Any]:
    """The block's match as the service takes it: anonymous, a number or a prefix."""
    match = values.get("match", "")
    pattern = values.get("pattern", "").strip()
    if match == "anonymous":
        return {"anonymous": True}
    if match in ("number", "prefix"):
        return {match: pattern}
    raise InvalidInput("match", f"{match!r} is not anonymous, number or prefix")


@auth.tenant_admin_allowed
async def block_add(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_page.user_in_path(request)
    values = await form(request)
    try:
        await blocking.add_block(
            platform(request),
            request[ACTOR],
            tenant.slug,
            user=user.extension,
            when=values.get("when", "").strip() or None,
            **_pattern(values),
        )
    except ProvdError as e:
        return await _refused(
            request,
            user,
            tenant,
            e,
            "The block was not added",
            failed=user_page.BLOCK,
            values=values,
        )
    raise _done(tenant, user, "blocked", "1")


@auth.tenant_admin_allowed
async def block_remove(request: web.Request) -> web.StreamResponse:
    user, tenant = await user_page.user_in_path(request)
    block_id = request.match_info["block_id"]
    try:
        # The user's own blocks only: the page removes what it lists.
        mine = {str(b["id"]) for b in await user_page.user_blocks(tenant, user)}
        if block_id not in mine:
            raise NotFound("block", block_id, field="id")
        await blocking.remove_block(platform(request), request[ACTOR], block_id, tenant.slug)
    except ProvdError as e:
        return await _refused(request, user, tenant, e, "The block was kept")
    raise _done(tenant, user, "unblocked", "1")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/console/users/{tenant}/{extension}/forwarding", forwarding_save)
    r.add_post("/console/users/{tenant}/{extension}/dnd", dnd_set)
    r.add_post("/console/users/{tenant}/{extension}/blocks", block_add)
    r.add_post("/console/users/{tenant}/{extension}/blocks/{block_id}/remove", block_remove)
