"""REST routes for a tenant's call queues, their agents, logins and figures.

Tenant admins manage their own tenant's: another tenant named in the path answers
exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from provd.services import queues
from provd.services.queues import agents, stats
from provd.web import auth
from provd.web.app_keys import PLATFORM
from provd.web.contract import Api, Param, Reply
from provd.web.schemas.queues import (
    Agent,
    AgentIn,
    AgentsOrder,
    Login,
    Queue,
    QueueIn,
    QueuePut,
    QueueStats,
)
from provd.web.tenant_scope import path_tenant

api = Api()
_TENANT = Param("tenant", "path", required=True, description="The tenant's slug")
_QUEUE = [_TENANT, Param("extension", "path", required=True, description="The queue's extension")]
_AGENT = [*_QUEUE, Param("agent", "path", required=True, description="The agent's extension")]
_PERIOD = Param(
    "period",
    description="today (the default: since midnight in the tenant's time zone) or 7d",
)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/queues",
    "The tenant's call queues, by extension",
    ok={200: Reply("Queues", list[Queue])},
    parameters=[_TENANT],
)
async def list_queues(request: web.Request) -> web.Response:
    return web.json_response(await queues.list_queues(await path_tenant(request)))


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/tenants/{tenant}/queues",
    "Add a call queue at an extension no user, group, menu or queue of the tenant has;"
    " its agents start logged out",
    QueueIn,
    ok={201: Reply("Added", Queue)},
    parameters=[_TENANT],
)
async def add_queue(request: web.Request, body: QueueIn) -> web.Response:
    view = await queues.add_queue(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        body.extension,
        body.name,
        strategy=body.strategy,
        ring_seconds=body.ring_seconds,
        max_wait_seconds=body.max_wait_seconds,
        failover=body.failover,
        moh=body.moh,
        intro=body.intro,
        periodic=body.periodic,
        periodic_seconds=body.periodic_seconds,
        announce_position=body.announce_position,
        agents=body.agents,
    )
    return web.json_response(view, status=201)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/queues/{extension}",
    "Show a call queue",
    ok={200: Reply("The queue", Queue)},
    parameters=_QUEUE,
)
async def show_queue(request: web.Request) -> web.Response:
    view = await queues.show_queue(await path_tenant(request), request.match_info["extension"])
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/tenants/{tenant}/queues/{extension}",
    "Replace a queue's settings (its extension and agents stay); checked whole first",
    QueuePut,
    ok={200: Reply("The queue", Queue)},
    parameters=_QUEUE,
)
async def put_queue(request: web.Request, body: QueuePut) -> web.Response:
    view = await queues.update_queue(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        name=body.name,
        strategy=body.strategy,
        ring_seconds=body.ring_seconds,
        max_wait_seconds=body.max_wait_seconds,
        failover=body.failover or "none",
        moh=body.moh or "none",
        intro=body.intro or "none",
        periodic=body.periodic or "none",
        periodic_seconds=body.periodic_seconds,
        announce_position=body.announce_position,
    )
    return web.json_response(view)


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/queues/{extension}",
    "Remove a queue and its agents; refused while a number or a destination points at it",
    ok={204: Reply("Removed")},
    parameters=_QUEUE,
)
async def remove_queue(request: web.Request) -> web.Response:
    await queues.remove_queue(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
    )
    return web.Response(status=204)


# ---- agents ------------------------------------------------------------------------------


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/queues/{extension}/agents",
    "The queue's agents in order, and who is logged in",
    ok={200: Reply("Agents", list[Agent])},
    parameters=_QUEUE,
)
async def list_agents(request: web.Request) -> web.Response:
    view = await queues.show_queue(await path_tenant(request), request.match_info["extension"])
    return web.json_response(view["agents"])


@auth.tenant_admin_allowed
@api.with_body(
    "POST",
    "/tenants/{tenant}/queues/{extension}/agents",
    "Make a user an agent of the queue, last or at a position; logged out",
    AgentIn,
    ok={201: Reply("The queue's agents", list[Agent])},
    parameters=_QUEUE,
)
async def add_agent(request: web.Request, body: AgentIn) -> web.Response:
    view = await agents.add_agent(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        body.agent,
        position=body.position,
    )
    return web.json_response(view["agents"], status=201)


@auth.tenant_admin_allowed
@api.with_body(
    "PUT",
    "/tenants/{tenant}/queues/{extension}/agents",
    "Put the queue's agents in a new order (every agent, each once)",
    AgentsOrder,
    ok={200: Reply("The queue's agents", list[Agent])},
    parameters=_QUEUE,
)
async def order_agents(request: web.Request, body: AgentsOrder) -> web.Response:
    view = await agents.order_agents(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        body.agents,
    )
    return web.json_response(view["agents"])


@auth.tenant_admin_allowed
@api.route(
    "DELETE",
    "/tenants/{tenant}/queues/{extension}/agents/{agent}",
    "The user is an agent of the queue no more",
    ok={204: Reply("Removed")},
    parameters=_AGENT,
)
async def remove_agent(request: web.Request) -> web.Response:
    await agents.remove_agent(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["extension"],
        request.match_info["agent"],
    )
    return web.Response(status=204)


async def _login(request: web.Request, on: bool) -> web.Response:
    change = await agents.set_login(
        request.app[PLATFORM],
        request[auth.ACTOR],
        await path_tenant(request),
        request.match_info["agent"],
        on,
        queue=request.match_info["extension"],
    )
    return web.json_response(
        {
            "agent": change.agent,
            "logged_in": on,
            "changed": list(change.changed),
            "unchanged": list(change.unchanged),
        }
    )


@auth.tenant_admin_allowed
@api.route(
    "POST",
    "/tenants/{tenant}/queues/{extension}/agents/{agent}/login",
    "Log the agent in to the queue (as *903*EXT# does from the phone)",
    ok={200: Reply("What changed", Login)},
    parameters=_AGENT,
)
async def login(request: web.Request) -> web.Response:
    return await _login(request, True)


@auth.tenant_admin_allowed
@api.route(
    "POST",
    "/tenants/{tenant}/queues/{extension}/agents/{agent}/logout",
    "Log the agent out of the queue (as *904*EXT# does from the phone)",
    ok={200: Reply("What changed", Login)},
    parameters=_AGENT,
)
async def logout(request: web.Request) -> web.Response:
    return await _login(request, False)


@auth.tenant_admin_allowed
@api.route(
    "GET",
    "/tenants/{tenant}/queues/{extension}/stats",
    "The queue's figures for a period: answered, abandoned, failed over, waits, per agent;"
    " and the callers waiting now",
    ok={200: Reply("The figures", QueueStats)},
    parameters=[*_QUEUE, _PERIOD],
)
async def queue_stats(request: web.Request) -> web.Response:
    view = await stats.period_stats(
        request.app[PLATFORM],
        await path_tenant(request),
        request.match_info["extension"],
        request.query.get("period", "today"),
        datetime.now(UTC),
    )
    return web.json_response(view)


add_routes = api.add_to
