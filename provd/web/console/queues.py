"""Call queues of one tenant: the list with what is happening now (callers waiting,
agents logged in, ringing or talking, from the media application's queue-live.json),
each queue's settings and agents (add, order, remove, log in and out), its figures for
today and the last seven days (per agent too), and adding and removing a queue.

A refusal names the field on the form it came from, as the services name it.

A platform admin picks the tenant (``?tenant=``, the default tenant otherwise); a
tenant admin sees their own, and a path naming another tenant answers 404 as a tenant
that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from provd.domain import queues as rules
from provd.domain.destinations import NONE
from provd.domain.errors import InvalidInput, ProvdError
from provd.services import queues
from provd.services.destinations import describe
from provd.services.directory import Tenant, tenants, users
from provd.services.menus import sounds
from provd.services.queues import agents, stats
from provd.services.queues.media import live, media_dir_of
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
"""``failed`` for the add-a-queue form; a queue's forms use its extension (settings) or
``agents-EXT`` (its agents)."""
_REDIRECT_FLASHES = (
    ("added", "ok", "Queue {} added."),
    ("saved", "ok", "Queue {} saved."),
    ("removed", "ok", "Queue {} removed."),
    ("agents", "ok", "Agents of queue {} saved."),
    ("logged_in", "ok", "Agent {} logged in."),
    ("logged_out", "ok", "Agent {} logged out."),
    ("agent_removed", "ok", "Agent {} removed."),
)
STRATEGIES: tuple[tuple[str, str], ...] = (
    (rules.Strategy.RING_ALL.value, "ring all free agents at once"),
    (rules.Strategy.LONGEST_IDLE.value, "longest idle first"),
    (rules.Strategy.FEWEST_CALLS.value, "fewest calls first"),
    (rules.Strategy.RANDOM.value, "random"),
    (rules.Strategy.LEAST_TALK_TIME.value, "least talk time first"),
)
"""The strategies as the form offers them, with what people call them."""
_COUNTS = ("ring_seconds", "max_wait_seconds", "periodic_seconds")
_SOUNDS = ("moh", "intro", "periodic")
AGENT_STATES = {"ringing": "ringing", "talking": "on a queue call"}


def _edit_values(view: dict[str, Any]) -> dict[str, str]:
    """A queue's settings form filled with what it is now."""
    return {
        "name": view["name"],
        "strategy": view["strategy"],
        **{field: str(view[field]) for field in _COUNTS},
        **{field: view[field] or "" for field in _SOUNDS},
        "announce_position": "on" if view["announce_position"] else "",
        **destinations.form_values("failover", view["failover"]),
    }


def _add_defaults() -> dict[str, str]:
    return {
        "strategy": queues.DEFAULT_STRATEGY.value,
        "ring_seconds": str(rules.DEFAULT_RING_SECONDS),
        "max_wait_seconds": str(rules.DEFAULT_MAX_WAIT_SECONDS),
        "periodic_seconds": str(rules.DEFAULT_PERIODIC_SECONDS),
    }


def _sound(values: dict[str, str], field: str) -> str:
    """A sound picked from a list; nothing picked reads as ``none``."""
    return values.get(field, "").strip() or NONE


def _settings(values: dict[str, str]) -> dict[str, Any]:
    """Every setting of the form, in the service's terms."""
    return {
        "strategy": values.get("strategy", ""),
        **{field: whole_number(values.get(field, ""), field) for field in _COUNTS},
        **{field: _sound(values, field) for field in _SOUNDS},
        "failover": destinations.from_form(values, "failover"),
        "announce_position": values.get("announce_position") == "on",
    }


def _changes(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the settings form changes; what it leaves alone is not given, so an
    unchanged queue is not saved (nor audited)."""
    wanted = {"name": values.get("name", ""), **_settings(values)}
    now = {
        "name": view["name"],
        "strategy": view["strategy"],
        **{field: view[field] for field in _COUNTS},
        **{field: view[field] or NONE for field in _SOUNDS},
        "failover": destinations.text_of(view["failover"]),
        "announce_position": view["announce_position"],
    }
    changes = {}
    for key, value in wanted.items():
        same = value.strip() == now[key] if isinstance(value, str) else value == now[key]
        if not same:
            changes[key] = value
    return changes


async def _figures(tenant: Tenant, views: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each queue's figures for today and the last seven days."""
    now = datetime.now(UTC)
    out: dict[str, dict[str, Any]] = {}
    for view in views:
        ext = view["extension"]
        out[ext] = {
            period: await stats.queue_stats(
                tenant.slug, ext, stats.window(tenant, period, now).since, now
            )
            for period in stats.PERIODS
        }
    return out


async def _page(
    request: web.Request,
    tenant: Tenant | None = None,
    *,
    flashes: Flashes | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
) -> web.Response:
    list_error = ""
    if tenant is None:
        tenant, list_error = await scope.shown_tenant(request)
    own = await scope.own_tenant(request)
    slugs = [t.slug for t in await tenants.list_tenants()] if own is None else [tenant.slug]
    views = await queues.list_queues(tenant.slug)
    now = live(media_dir_of(platform(request))).get(tenant.sip_domain.lower(), {})
    return pages.render(
        request,
        "console/queues.html",
        tenant=tenant,
        tenants=slugs,
        list_error=list_error,
        queues=views,
        live=now,
        figures=await _figures(tenant, views),
        periods=(("today", "Today"), ("7d", "7 days")),
        users=[(u.extension, u.display_name) for u, _ in await users.list_users(tenant.slug)],
        sounds=[s["name"] for s in await sounds.list_sounds(tenant.slug)],
        choices=await destinations.choices(tenant),
        kinds=destinations.KINDS,
        strategies=STRATEGIES,
        agent_states=AGENT_STATES,
        ring_range=rules.RING_SECONDS,
        wait_range=rules.MAX_WAIT_SECONDS,
        periodic_range=rules.PERIODIC_SECONDS,
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
async def queues_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _done(tenant: Tenant, key: str, value: str, anchor: str) -> web.HTTPSeeOther:
    query = urlencode({"tenant": tenant.slug, key: value})
    return web.HTTPSeeOther(f"/console/queues?{query}#queue-{anchor}")


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


async def _queue(tenant: Tenant, extension: str) -> dict[str, Any]:
    """The queue's view; a queue the tenant does not have answers 404."""
    try:
        return await queues.show_queue(tenant.slug, extension)
    except ProvdError as e:
        raise web.HTTPNotFound(text=str(e)) from e


@auth.tenant_admin_allowed
async def queue_add(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    values = await form(request)
    try:
        agent = values.get("agent", "").strip()
        view = await queues.add_queue(
            platform(request),
            request[ACTOR],
            tenant.slug,
            values.get("extension", ""),
            values.get("name", ""),
            **_settings(values),
            agents=[agent] if agent else [],
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, "The queue was not added", failed=ADD_FORM, values=values
        )
    raise _done(tenant, "added", view["extension"], view["extension"])


@auth.tenant_admin_allowed
async def queue_save(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    view = await _queue(tenant, request.match_info["extension"])
    extension = view["extension"]
    values = await form(request)
    try:
        changes = _changes(view, values)
        if not changes:
            return await _page(request, tenant, flashes=[("warn", "Nothing changed.")])
        await queues.update_queue(
            platform(request), request[ACTOR], tenant.slug, extension, **changes
        )
    except ProvdError as e:
        return await _refused(
            request, tenant, e, f"Queue {extension} was not saved", failed=extension, values=values
        )
    raise _done(tenant, "saved", extension, extension)


@auth.tenant_admin_allowed
async def queue_remove(request: web.Request) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _queue(tenant, request.match_info["extension"]))["extension"]
    try:
        await queues.remove_queue(platform(request), request[ACTOR], tenant.slug, extension)
    except ProvdError as e:
        return await _refused(request, tenant, e, f"Queue {extension} was kept")
    query = urlencode({"tenant": tenant.slug, "removed": extension})
    raise web.HTTPSeeOther(f"/console/queues?{query}")


def _position(text: str) -> int | None:
    return whole_number(text, "position") if text.strip() else None


@auth.tenant_admin_allowed
async def agents_save(request: web.Request) -> web.StreamResponse:
    """The agents form: add one (at a position), or put them in a new order."""
    tenant = await scope.path_tenant(request)
    extension = (await _queue(tenant, request.match_info["extension"]))["extension"]
    values = await form(request)
    try:
        agent = values.get("agent", "").strip()
        order = values.get("order", "").strip()
        if agent:
            await agents.add_agent(
                platform(request),
                request[ACTOR],
                tenant.slug,
                extension,
                agent,
                position=_position(values.get("position", "")),
            )
        elif order:
            wanted = [e.strip() for e in order.replace(",", " ").split() if e.strip()]
            await agents.order_agents(
                platform(request), request[ACTOR], tenant.slug, extension, wanted
            )
        else:
            raise InvalidInput("agent", "pick a user to add, or give the agents' new order")
    except ProvdError as e:
        return await _refused(
            request,
            tenant,
            e,
            f"The agents of queue {extension} were not saved",
            failed=f"agents-{extension}",
            values=values,
        )
    raise _done(tenant, "agents", extension, extension)


async def _agent_action(request: web.Request, action: str) -> web.StreamResponse:
    tenant = await scope.path_tenant(request)
    extension = (await _queue(tenant, request.match_info["extension"]))["extension"]
    agent = request.match_info["agent"]
    p, actor = platform(request), request[ACTOR]
    try:
        if action == "remove":
            await agents.remove_agent(p, actor, tenant.slug, extension, agent)
            key = "agent_removed"
        else:
            on = action == "login"
            await agents.set_login(p, actor, tenant.slug, agent, on, queue=extension)
            key = "logged_in" if on else "logged_out"
    except ProvdError as e:
        return await _refused(
            request, tenant, e, f"Agent {agent} of queue {extension}: not done",
            failed=f"agents-{extension}",
        )  # fmt: skip
    raise _done(tenant, key, f"{agent} of queue {extension}", extension)


@auth.tenant_admin_allowed
async def agent_remove(request: web.Request) -> web.StreamResponse:
    return await _agent_action(request, "remove")


@auth.tenant_admin_allowed
async def agent_login(request: web.Request) -> web.StreamResponse:
    return await _agent_action(request, "login")


@auth.tenant_admin_allowed
async def agent_logout(request: web.Request) -> web.StreamResponse:
    return await _agent_action(request, "logout")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/queues", queues_page)
    r.add_post("/console/queues/{tenant}", queue_add)
    r.add_post("/console/queues/{tenant}/{extension}", queue_save)
    r.add_post("/console/queues/{tenant}/{extension}/remove", queue_remove)
    r.add_post("/console/queues/{tenant}/{extension}/agents", agents_save)
    r.add_post("/console/queues/{tenant}/{extension}/agents/{agent}/remove", agent_remove)
    r.add_post("/console/queues/{tenant}/{extension}/agents/{agent}/login", agent_login)
    r.add_post("/console/queues/{tenant}/{extension}/agents/{agent}/logout", agent_logout)
