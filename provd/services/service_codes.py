"""Service codes dialled on a phone, carried out as the user who dialled them.

The routing decision recognises a code (``provd.domain.service_codes``); this module
makes the change through the same services the CLI, API and console use, so it is
validated and audited the same way (the actor is ``phone:EXT@TENANT``), then rebuilds
the routing table so the next call follows it. The call itself gets the outcome as
its final reply: there is no media server to answer it, and the phone shows the
reason text (``Done: forward always to 0612345678``). ``refresh`` is serve's: it also
rewrites queues.json and the agents' lamps, so a ``*903`` takes calls at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provd.db.models import HuntGroup, QueueAgent, Schedule, Tenant, User
from provd.domain import night_switch, queue_lamps
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.routing import Service
from provd.domain.service_codes import (
    CODES,
    ClearForward,
    FlipNightSwitch,
    QueueLogin,
    SetDnd,
    SetForward,
)
from provd.services import audit, schedules
from provd.services.directory import forwarding
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.queues import agents as queue_agents

DONE = 480
"""The final reply to a code that worked: a call that was never going to connect. 480
ends it quietly on every phone; the reason says what was done."""
REFUSED = 403
BAD_INPUT = 484
MAX_EXTENSION = 5


@dataclass(frozen=True)
class Outcome:
    code: int
    reason: str


class ServiceCodes:
    def __init__(self, platform: Platform, refresh: Callable[[], Awaitable[object]]) -> None:
        self.platform = platform
        self._refresh = refresh

    async def carry_out(self, service: Service) -> Outcome:
        actor = audit.Actor(f"phone:{service.extension}@{service.tenant}")
        try:
            done = await self._apply(actor, service)
        except Conflict as e:
            return Outcome(REFUSED, f"Not done: {e}"[:120])
        except InvalidInput as e:
            return Outcome(BAD_INPUT, f"Not done: {e}"[:120])
        except (NotFound, PermissionError) as e:
            return Outcome(REFUSED, f"Not done: {e}"[:120])
        await self._refresh()
        return Outcome(DONE, f"Done: {done}"[:120])

    async def _apply(self, actor: audit.Actor, service: Service) -> str:
        code, tenant_slug, ext = service.code, service.tenant, service.extension
        p = self.platform
        if isinstance(code, SetForward):
            target = await _destination(tenant_slug, code.target)
            await forwarding.set_forwarding(
                p,
                actor,
                tenant_slug,
                ext,
                always=target if code.case == "always" else None,
                busy=target if code.case == "busy" else None,
                no_answer=target if code.case == "no-answer" else None,
                unreachable=target if code.case == "unreachable" else None,
            )
            return f"forward {code.case} to {code.target}"
        if isinstance(code, ClearForward):
            await forwarding.set_forwarding(p, actor, tenant_slug, ext, clear=[code.case])
            return f"forward {code.case} cleared"
        if isinstance(code, SetDnd):
            await forwarding.set_dnd(p, actor, tenant_slug, ext, code.on)
            return f"do-not-disturb {'on' if code.on else 'off'}"
        if isinstance(code, FlipNightSwitch):
            return await _flip_night_switch(p, actor, tenant_slug, ext, code.schedule)
        if isinstance(code, QueueLogin):
            return await _queue_login(p, actor, tenant_slug, ext, code)
        raise AssertionError(code)


async def _destination(tenant_slug: str, dialled: str) -> str:
    """What a dialled target names: an extension of a user or group, else a number."""
    if len(dialled) > MAX_EXTENSION:
        return f"external:{dialled}"
    tenant = await Tenant.get(slug=tenant_slug)
    if await User.exists(tenant=tenant, extension=dialled):
        return f"user:{dialled}"
    if await HuntGroup.exists(tenant=tenant, extension=dialled):
        return f"group:{dialled}"
    return f"external:{dialled}"


async def _flip_night_switch(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, position: int
) -> str:
    tenant = await Tenant.get(slug=tenant_slug)
    user = await User.get(tenant=tenant, extension=extension)
    if not user.may_switch_night:
        raise PermissionError("this phone may not switch the night switch")
    names = await Schedule.filter(tenant=tenant).order_by("name").values_list("name", flat=True)
    if not 1 <= position <= len(names):
        raise NotFound("schedule", str(position), field="schedule")
    name = str(names[position - 1])
    row = await Schedule.get(tenant=tenant, name=name)
    setting = "auto" if row.override_state == "closed" else "on"
    await schedules.set_night_switch(p, actor, tenant_slug, name, setting)
    return f"night switch {name} {setting}"


async def _queue_login(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, code: QueueLogin
) -> str:
    """``*903`` / ``*904`` for every queue of the agent, ``*903*Q#`` / ``*904*Q#`` for
    queue Q; ``*903*EXT#`` with the dialler's own extension is their lamp's key
    (provd.domain.queue_lamps): out of every queue when in any, else in to every one."""
    on, queue = code.on, code.queue
    if queue_lamps.is_toggle(extension, queue):
        queue = None
        if on:
            on = not await queue_agents.is_logged_in(tenant_slug, extension)
    change = await queue_agents.set_login(p, actor, tenant_slug, extension, on, queue=queue)
    done = "logged in to" if on else "logged out of"
    if change.changed:
        return f"{done} queue {', '.join(change.changed)}"
    return f"{'already ' if change.unchanged else ''}{done} queue {', '.join(change.unchanged)}"


async def tenant_codes(tenant_slug: str, *, at: datetime | None = None) -> dict[str, Any]:
    """What a tenant's users may dial, and what for this tenant: the codes, its night
    switches by number (each also a BLF lamp, provd.domain.night_switch) with their
    state now, the users allowed to flip them, its queue agents' login lamps
    (provd.domain.queue_lamps) with their state now, and the pickup prefix of BLF keys."""
    tenant = await get_tenant(tenant_slug)
    now = at or datetime.now(UTC)
    rows = await Schedule.filter(tenant=tenant).order_by("name")
    overrides = [(row.name, schedules.override_of(row)) for row in rows]
    switches = [
        {"code": lamp.user, "schedule": lamp.schedule, "on": lamp.lit}
        for lamp in night_switch.lamps(overrides, now)
    ]
    allowed = await User.filter(tenant=tenant, may_switch_night=True).order_by("extension")
    agents = await QueueAgent.filter(queue__tenant=tenant).select_related("user")
    lit: dict[str, tuple[str, bool]] = {}
    for agent in agents:
        name, on = lit.get(agent.user.extension, (agent.user.display_name, False))
        lit[agent.user.extension] = (name, on or agent.logged_in)
    return {
        "tenant": tenant.slug,
        "codes": [{"code": c.code, "meaning": c.meaning} for c in CODES],
        "night_switches": switches,
        "may_switch_night": [{"extension": u.extension, "name": u.display_name} for u in allowed],
        "agent_lamps": [
            {"code": queue_lamps.presentity(ext), "agent": ext, "name": name, "logged_in": on}
            for ext, (name, on) in sorted(lit.items())
        ],
        "pickup_code": tenant.pickup_code,
    }
