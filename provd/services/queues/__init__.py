"""Call queues: an extension of a tenant that the media application answers, holding
callers (music on hold, an introduction, their position, a periodic message) while it
offers them to the queue's logged-in agents by the queue's strategy, until one answers
or the maximum wait passes and the caller goes to the failover destination
(provd.domain.queues has the rules).

A queue shares its tenant's extensions with users, groups and menus. Its sounds are
the tenant's (uploaded for menus too); its failover is any destination but the queue
itself. Its agents, their order and their logins are :mod:`.agents`; the figures are
:mod:`.stats`, counted from the callers' records :mod:`.collector` files; what the media
application reads is :mod:`.media`.

Every change is checked whole before anything is saved and is one transaction with its
audit row (object ``queue``, the queue's view before and after). A queue something
points at (a number, a destination) cannot be removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import PhoneNumber, Queue, QueueAgent, Sound, Tenant, User
from provd.domain import queues
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import NONE, QueueDestination
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.tenancy import check_display_name, check_extension
from provd.services import audit
from provd.services.destinations import (
    Names,
    references_to,
    refuse_if_used,
    resolve_destination,
)
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import check_free_extension, get_user
from provd.services.menus.sounds import get_sound
from provd.services.platform import Platform

OBJECT = "queue"
MEDIA_OBJECTS = ("queue", "sound", "tenant", "user")
"""Audit object types whose changes change what queues.json says (a queue, an agent's
login, a sound a queue plays, a tenant's domain)."""
SOUND_ROLES = ("moh", "intro", "periodic")
"""A queue's sounds, each a nullable reference to one of the tenant's sounds."""
DEFAULT_STRATEGY = queues.Strategy.RING_ALL


async def get_queue(tenant: Tenant, extension: str, *, field: str = "queue") -> Queue:
    try:
        valid = check_extension(extension, field=field)
    except InvalidInput:
        raise NotFound("queue", f"{extension} in tenant {tenant.slug}", field=field) from None
    queue = await Queue.get_or_none(tenant=tenant, extension=valid)
    if queue is None:
        raise NotFound("queue", f"{extension} in tenant {tenant.slug}", field=field)
    return queue


# ---- views -------------------------------------------------------------------------


def agent_view(agent: QueueAgent, user: User) -> dict[str, Any]:
    return {
        "extension": user.extension,
        "name": user.display_name,
        "position": agent.position,
        "logged_in": agent.logged_in,
        "logged_in_at": agent.logged_in_at.isoformat() if agent.logged_in_at else None,
    }


async def queue_view(queue: Queue, tenant: Tenant, names: Names | None = None) -> dict[str, Any]:
    names = names or await Names.of(tenant)
    sounds = {s.id: s.name for s in await Sound.filter(tenant=tenant)}
    agents = await QueueAgent.filter(queue=queue).select_related("user").order_by("position")
    numbers = PhoneNumber.filter(assigned_queue=queue).order_by("e164")
    view: dict[str, Any] = {
        "tenant": tenant.slug,
        "extension": queue.extension,
        "name": queue.name,
        "strategy": queue.strategy,
        "ring_seconds": queue.ring_seconds,
        "max_wait_seconds": queue.max_wait_seconds,
        "failover": names.view(queue.failover),
    }
    for role in SOUND_ROLES:
        sound_id = getattr(queue, f"{role}_id")
        view[role] = sounds.get(sound_id) if sound_id is not None else None
    view["periodic_seconds"] = queue.periodic_seconds
    view["announce_position"] = queue.announce_position
    view["agents"] = [agent_view(a, a.user) for a in agents]
    view["numbers"] = list(await numbers.values_list("e164", flat=True))
    return view


async def list_queues(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every queue (of one tenant, if named), by tenant and extension."""
    query = Queue.all().select_related("tenant").order_by("tenant__slug", "extension")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    names: dict[int, Names] = {}
    views = []
    for queue in await query:
        tenant = queue.tenant
        if tenant.id not in names:
            names[tenant.id] = await Names.of(tenant)
        views.append(await queue_view(queue, tenant, names[tenant.id]))
    return views


async def show_queue(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await queue_view(await get_queue(tenant, extension, field="extension"), tenant)


# ---- checking what an admin wrote --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Settings:
    """A queue's settings as they are to be stored (ids resolved)."""

    name: str
    strategy: queues.Strategy
    ring_seconds: int
    max_wait_seconds: int
    failover: dict[str, Any] | None
    moh: Sound | None
    intro: Sound | None
    periodic: Sound | None
    periodic_seconds: int
    announce_position: bool


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"{value!r} is not true or false")
    return value


async def _sound(tenant: Tenant, text: str | None, field: str) -> Sound | None:
    """A sound of the tenant by name; ``none`` (or empty) for none."""
    if text is None or text.strip().lower() in ("", NONE):
        return None
    return await get_sound(tenant, text, field=field)


async def agent_users(
    tenant: Tenant, extensions: Sequence[str], *, field: str = "agents"
) -> list[User]:
    """The users of ``extensions``, in that order: each once, at most MAX_AGENTS."""
    if isinstance(extensions, str) or not isinstance(extensions, Sequence):
        raise InvalidInput(field, "must list users' extensions")
    if len(extensions) > queues.MAX_AGENTS:
        raise InvalidInput(field, f"a queue has at most {queues.MAX_AGENTS} agents")
    users: list[User] = []
    for extension in extensions:
        if not isinstance(extension, str):
            raise InvalidInput(field, f"{extension!r} is not an extension")
        user = await get_user(tenant, extension, field=field)
        if any(u.id == user.id for u in users):
            raise InvalidInput(field, f"user {user.extension} is listed twice")
        users.append(user)
    return users


async def _stored_settings(queue: Queue) -> _Settings:
    await queue.fetch_related(*SOUND_ROLES)
    return _Settings(
        name=queue.name,
        strategy=queues.Strategy(queue.strategy),
        ring_seconds=queue.ring_seconds,
        max_wait_seconds=queue.max_wait_seconds,
        failover=queue.failover,
        moh=queue.moh,
        intro=queue.intro,
        periodic=queue.periodic,
        periodic_seconds=queue.periodic_seconds,
        announce_position=queue.announce_position,
    )


def _apply(queue: Queue, settings: _Settings) -> None:
    queue.name = settings.name
    queue.strategy = settings.strategy.value
    queue.ring_seconds = settings.ring_seconds
    queue.max_wait_seconds = settings.max_wait_seconds
    queue.failover = settings.failover
    queue.moh = settings.moh
    queue.intro = settings.intro
    queue.periodic = settings.periodic
    queue.periodic_seconds = settings.periodic_seconds
    queue.announce_position = settings.announce_position


# ---- changes -------------------------------------------------------------------------


async def add_queue(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    name: str,
    *,
    strategy: str = DEFAULT_STRATEGY.value,
    ring_seconds: object = queues.DEFAULT_RING_SECONDS,
    max_wait_seconds: object = queues.DEFAULT_MAX_WAIT_SECONDS,
    failover: str | None = None,
    moh: str | None = None,
    intro: str | None = None,
    periodic: str | None = None,
    periodic_seconds: object = queues.DEFAULT_PERIODIC_SECONDS,
    announce_position: bool = False,
    agents: Sequence[str] = (),
) -> dict[str, Any]:
    """Create a queue at an extension no user, group, menu or queue of the tenant has,
    with ``agents`` (users' extensions) in that order, none logged in."""
    name = check_display_name(name)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        extension = await check_free_extension(tenant, extension)
        ring = queues.check_ring_seconds(ring_seconds)
        settings = _Settings(
            name=name,
            strategy=queues.check_strategy(strategy),
            ring_seconds=ring,
            max_wait_seconds=queues.check_max_wait(max_wait_seconds, ring),
            # The queue has no id yet: nothing can name it, so no loop to refuse.
            failover=(
                await resolve_destination(tenant, failover, field="failover")
                if failover is not None
                else None
            ),
            moh=await _sound(tenant, moh, "moh"),
            intro=await _sound(tenant, intro, "intro"),
            periodic=await _sound(tenant, periodic, "periodic"),
            periodic_seconds=queues.check_periodic_seconds(periodic_seconds),
            announce_position=_flag(announce_position, "announce_position"),
        )
        users = await agent_users(tenant, agents)
        queue = Queue(tenant=tenant, extension=extension)
        _apply(queue, settings)
        await queue.save()
        for position, user in enumerate(users, start=1):
            await QueueAgent.create(queue=queue, user=user, position=position)
        view = await queue_view(queue, tenant)
        await audit.record(
            actor, AuditAction.QUEUE_ADD, OBJECT, f"{tenant.slug}/{extension}", after=view
        )
    return view


async def update_queue(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    name: str | None = None,
    strategy: str | None = None,
    ring_seconds: object = None,
    max_wait_seconds: object = None,
    failover: str | None = None,
    moh: str | None = None,
    intro: str | None = None,
    periodic: str | None = None,
    periodic_seconds: object = None,
    announce_position: bool | None = None,
) -> dict[str, Any]:
    """Change what is given: ``failover`` and the sounds ``"none"`` clear them. Checked
    whole (the maximum wait against the ring time) before anything is saved."""
    given = (
        name, strategy, ring_seconds, max_wait_seconds, failover, moh, intro, periodic,
        periodic_seconds, announce_position,
    )  # fmt: skip
    if all(v is None for v in given):
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        queue = await get_queue(tenant, extension, field="extension")
        before = await queue_view(queue, tenant)
        now = await _stored_settings(queue)
        ring = (
            queues.check_ring_seconds(ring_seconds)
            if ring_seconds is not None
            else now.ring_seconds
        )
        settings = _Settings(
            name=check_display_name(name) if name is not None else now.name,
            strategy=queues.check_strategy(strategy) if strategy is not None else now.strategy,
            ring_seconds=ring,
            max_wait_seconds=queues.check_max_wait(
                max_wait_seconds if max_wait_seconds is not None else now.max_wait_seconds,
                ring,
                # A new ring time longer than the stored wait is the ring time's fault.
                field="max_wait_seconds" if max_wait_seconds is not None else "ring_seconds",
            ),
            failover=(
                await resolve_destination(
                    tenant, failover, field="failover", itself=QueueDestination(queue.id)
                )
                if failover is not None
                else now.failover
            ),
            moh=await _sound(tenant, moh, "moh") if moh is not None else now.moh,
            intro=await _sound(tenant, intro, "intro") if intro is not None else now.intro,
            periodic=(
                await _sound(tenant, periodic, "periodic") if periodic is not None else now.periodic
            ),
            periodic_seconds=(
                queues.check_periodic_seconds(periodic_seconds)
                if periodic_seconds is not None
                else now.periodic_seconds
            ),
            announce_position=(
                _flag(announce_position, "announce_position")
                if announce_position is not None
                else now.announce_position
            ),
        )
        _apply(queue, settings)
        await queue.save()
        after = await queue_view(queue, tenant)
        await audit.record(
            actor,
            AuditAction.QUEUE_SET,
            OBJECT,
            f"{tenant.slug}/{queue.extension}",
            before=before,
            after=after,
        )
    return after


async def remove_queue(p: Platform, actor: audit.Actor, tenant_slug: str, extension: str) -> None:
    """Remove a queue and its agents; refused while a number or a destination points at
    it. Its callers' records stay (QueueCall.queue goes null): the tenant's figures keep
    them."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        queue = await get_queue(tenant, extension, field="extension")
        uses = await references_to(tenant, QueueDestination(queue.id))
        refuse_if_used(f"queue {queue.extension}", uses, field="extension")
        before = await queue_view(queue, tenant)
        await queue.delete()
        await audit.record(
            actor,
            AuditAction.QUEUE_REMOVE,
            OBJECT,
            f"{tenant.slug}/{queue.extension}",
            before=before,
        )
