"""A user's page: name and extension, devices, numbers and caller ID, call forwarding
and do-not-disturb, the user's incoming blocks and own outbound policy.

Every form on the page (directory's edit, forwarding's forwarding, do-not-disturb and
blocks) renders it through :func:`render`, so that a refusal is shown on the form that
was sent, with what was typed, and the others as stored.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import NotFound
from provd.domain.forwarding import NO_ANSWER_SECONDS, ForwardCase
from provd.services import blocking, outbound, schedules
from provd.services.destinations import ROUTE_STATES, describe
from provd.services.directory import Tenant, User, forwarding, user_view, users
from provd.web import pages
from provd.web.console import destinations, scope
from provd.web.console.helpers import Errors, mac_text, no_errors, query_flashes
from provd.web.console.numbers import caller_id

Flashes = list[tuple[str, str]]
EDIT, FORWARDING, BLOCK = "edit", "forwarding", "block"
"""The forms on the page, as ``failed`` names them."""
FORWARDS: tuple[tuple[ForwardCase, str], ...] = (
    (ForwardCase.ALWAYS, "Always"),
    (ForwardCase.BUSY, "When busy"),
    (ForwardCase.NO_ANSWER, "When not answered"),
    (ForwardCase.UNREACHABLE, "When unreachable (no phone registered)"),
)
BLOCK_MATCHES = (
    ("anonymous", "anonymous callers"),
    ("number", "a number"),
    ("prefix", "numbers starting with"),
)
_REDIRECT_FLASHES = (
    ("saved", "ok", "Saved."),
    ("forwarding", "ok", "Forwarding saved."),
    ("dnd", "ok", "Do-not-disturb is {}."),
    ("blocked", "ok", "Block added."),
    ("unblocked", "ok", "Block removed."),
)


async def user_in_path(request: web.Request) -> tuple[User, Tenant]:
    """The user ``{tenant}/{extension}`` names, if the principal administers the tenant;
    else 404, as a user that does not exist."""
    try:
        tenant = await scope.tenant_named(request, request.match_info["tenant"])
        return await users.get_user(tenant, request.match_info["extension"]), tenant
    except NotFound as e:
        raise web.HTTPNotFound(text=str(e)) from e


def forward_values(view: dict[str, Any]) -> dict[str, str]:
    """The forwarding form filled with what is stored."""
    values = {"no_answer_seconds": str(view["no_answer_seconds"])}
    for case, _ in FORWARDS:
        values.update(destinations.form_values(case.value, view[case.value]))
    return values


async def user_blocks(tenant: Tenant, user: User) -> list[dict[str, Any]]:
    """The blocks of this user alone (the tenant's own apply to every user)."""
    return [b for b in await blocking.list_blocks(tenant.slug) if b["user"] == user.extension]


async def render(
    request: web.Request,
    user: User,
    tenant: Tenant,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    flashes: Flashes | None = None,
) -> web.Response:
    """``failed``: the form (EDIT, FORWARDING, BLOCK) ``values`` and ``errors`` are of."""
    rows, _ = await user_view.search_users(user.extension, tenant.slug)
    placed = next((r.devices for r in rows if r.user.id == user.id), [])
    view = await forwarding.get_forwarding(tenant.slug, user.extension)
    given = values or {}
    stored = {"name": user.display_name, "extension": user.extension}
    shown = errors or no_errors()
    clean = no_errors()
    return pages.render(
        request,
        "console/user.html",
        user=user,
        tenant=tenant,
        devices=placed,
        caller=await caller_id(tenant, user),
        values=given if failed == EDIT else stored,
        errors=shown if failed == EDIT else clean,
        failed=failed,
        forwarding=view,
        forwards=FORWARDS,
        forward_values=given if failed == FORWARDING else forward_values(view),
        forward_errors=shown if failed == FORWARDING else clean,
        no_answer_range=NO_ANSWER_SECONDS,
        blocks=await user_blocks(tenant, user),
        block_matches=BLOCK_MATCHES,
        block_values=given if failed == BLOCK else {"match": "number"},
        block_errors=shown if failed == BLOCK else clean,
        block_when=[
            (f"{s['name']}:{state}", f"while {s['name']} is {state}")
            for s in await schedules.list_schedules(tenant.slug)
            for state in ROUTE_STATES
        ],
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        describe=describe,
        flashes=(flashes or []) + query_flashes(request, _REDIRECT_FLASHES),
        mac_text=mac_text,
        outbound=await outbound.show_policy(tenant.slug, user=user.extension),
    )
