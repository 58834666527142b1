"""A queue's agents: who takes its calls, in what order, and who is logged in now.

An agent is a user of the queue's tenant. Admins add, remove and order them, and log
them in or out; an agent logs in and out from the phone with ``*903`` / ``*904``
(provd.services.service_codes, as ``phone:EXT@TENANT``). Only logged-in agents are
offered calls; their figures since logging in (provd.services.queues.media) order the
offers. Every change is one transaction with its audit row (object ``queue``, the
queue's view before and after, one row per queue changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Queue, QueueAgent, Tenant
from provd.domain import queues
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.platform import Platform
from provd.services.queues import OBJECT, agent_users, get_queue, queue_view


async def _renumber(queue: Queue, order: Sequence[int]) -> None:
    """Positions 1, 2, … in ``order`` (agent ids); two passes, as (queue, position)
    may one day be unique."""
    for position, agent_id in enumerate(order, start=1):
        await QueueAgent.filter(id=agent_id, queue=queue).update(position=position)


async def _record(
    actor: audit.Actor,
    action: AuditAction,
    queue: Queue,
    tenant: Tenant,
    before: dict[str, Any],
) -> dict[str, Any]:
    after = await queue_view(queue, tenant)
    await audit.record(
        actor, action, OBJECT, f"{tenant.slug}/{queue.extension}", before=before, after=after
    )
    return after


async def add_agent(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    agent: str,
    *,
    position: int | None = None,
) -> dict[str, Any]:
    """Make the user at ``agent`` an agent of the queue, last or at ``position`` (1 is
    first), logged out."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        queue = await get_queue(tenant, extension, field="extension")
        user = await get_user(tenant, agent, field="agent")
        rows = await QueueAgent.filter(queue=queue).order_by("position")
        if any(r.user_id == user.id for r in rows):  # type: ignore[attr-defined]
            raise Conflict(
                "agent", f"user {user.extension} is already an agent of queue {queue.extension}"
            )
        if len(rows) >= queues.MAX_AGENTS:
            raise InvalidInput("agent", f"a queue has at most {queues.MAX_AGENTS} agents")
        if position is not None and (
            isinstance(position, bool)
            or not isinstance(position, int)
            or not 1 <= position <= len(rows) + 1
        ):
            raise InvalidInput("position", f"{position!r} is not from 1 to {len(rows) + 1}")
        before = await queue_view(queue, tenant)
        row = await QueueAgent.create(queue=queue, user=user, position=len(rows) + 1)
        order = [r.id for r in rows]
        order.insert((position or len(rows) + 1) - 1, row.id)
        await _renumber(queue, order)
        return await _record(actor, AuditAction.QUEUE_AGENT_ADD, queue, tenant, before)


async def remove_agent(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, agent: str
) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        queue = await get_queue(tenant, extension, field="extension")
        user = await get_user(tenant, agent, field="agent")
        row = await QueueAgent.get_or_none(queue=queue, user=user)
        if row is None:
            raise NotFound("agent", f"{user.extension} of queue {queue.extension}", field="agent")
        before = await queue_view(queue, tenant)
        await row.delete()
        rest = await QueueAgent.filter(queue=queue).order_by("position")
        await _renumber(queue, [r.id for r in rest])
        return await _record(actor, AuditAction.QUEUE_AGENT_REMOVE, queue, tenant, before)


async def order_agents(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, agents: Sequence[str]
) -> dict[str, Any]:
    """Put the queue's agents in the order of ``agents``: every agent, each once (adding
    and removing is :func:`add_agent` and :func:`remove_agent`)."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        queue = await get_queue(tenant, extension, field="extension")
        users = await agent_users(tenant, agents)
        rows = {r.user_id: r for r in await QueueAgent.filter(queue=queue)}  # type: ignore[attr-defined]
        strangers = [u.extension for u in users if u.id not in rows]
        if strangers:
            raise InvalidInput("agents", f"user {strangers[0]} is not an agent of the queue")
        if len(users) != len(rows):
            raise InvalidInput("agents", "list every agent of the queue, each once")
        before = await queue_view(queue, tenant)
        if [a["extension"] for a in before["agents"]] == [u.extension for u in users]:
            return before
        await _renumber(queue, [rows[u.id].id for u in users])
        return await _record(actor, AuditAction.QUEUE_AGENTS_ORDER, queue, tenant, before)


@dataclass(frozen=True, slots=True)
class LoginChange:
    """What a login or logout did: the queues whose agent's state changed."""

    agent: str
    on: bool
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


async def set_login(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    agent: str,
    on: bool,
    *,
    queue: str | None = None,
    at: datetime | None = None,
) -> LoginChange:
    """Log the user at ``agent`` in (``on``) or out of ``queue``, or of every queue they
    are an agent of when None. A queue they are not an agent of is refused, naming it;
    being an agent of none is refused too. Logging in again keeps the first login time
    (an agent's figures count from it)."""
    tenant = await get_tenant(tenant_slug)
    now = at or datetime.now(UTC)
    async with in_transaction():
        user = await get_user(tenant, agent, field="agent")
        rows = QueueAgent.filter(user=user, queue__tenant=tenant).select_related("queue")
        if queue is not None:
            target = await get_queue(tenant, queue, field="queue")
            rows = rows.filter(queue=target)
            if not await rows.exists():
                raise Conflict(
                    "queue", f"user {user.extension} is not an agent of queue {target.extension}"
                )
        found = await rows.order_by("queue__extension")
        if not found:
            raise Conflict("agent", f"user {user.extension} is not an agent of any queue")
        changed: list[str] = []
        unchanged: list[str] = []
        for row in found:
            if row.logged_in == on:
                unchanged.append(row.queue.extension)
                continue
            before = await queue_view(row.queue, tenant)
            row.logged_in = on
            row.logged_in_at = now if on else None
            await row.save(update_fields=["logged_in", "logged_in_at"])
            action = AuditAction.QUEUE_LOGIN if on else AuditAction.QUEUE_LOGOUT
            await _record(actor, action, row.queue, tenant, before)
            changed.append(row.queue.extension)
    return LoginChange(user.extension, on, tuple(changed), tuple(unchanged))


async def is_logged_in(tenant_slug: str, agent: str) -> bool:
    """Whether the user at ``agent`` is logged in to at least one queue (their lamp)."""
    tenant = await get_tenant(tenant_slug)
    user = await get_user(tenant, agent, field="agent")
    return await QueueAgent.filter(user=user, logged_in=True).exists()
