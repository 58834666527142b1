"""A queue's figures over a period, counted from its callers' records (QueueCall rows,
filed by provd.services.queues.collector): answered, abandoned, failed over, the
average and longest wait (provd.domain.queues.summarise), and per agent the calls they
answered and their talk time. A caller counts in the period they entered the queue in.

Periods are named as the console offers them: ``today`` (since midnight in the
tenant's time zone) and ``7d`` (the last seven days up to now), or given as times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tortoise.functions import Sum

from provd.db.models import QueueAgent, QueueCall, Tenant
from provd.domain import queues
from provd.domain.errors import InvalidInput
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.queues import get_queue
from provd.services.queues.media import live_queue

Period = Literal["today", "7d"]
PERIODS: tuple[Period, ...] = ("today", "7d")


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime
    until: datetime


def window(tenant: Tenant, period: str, now: datetime) -> Window:
    """The times a named period covers for ``tenant`` at ``now``."""
    if period == "today":
        local = now.astimezone(ZoneInfo(tenant.timezone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return Window(midnight, now)
    if period == "7d":
        return Window(now - timedelta(days=7), now)
    raise InvalidInput("period", f"{period!r} is not a period: use {', '.join(PERIODS)}")


def _as_outcome(text: str) -> queues.Outcome:
    for outcome in queues.OUTCOMES:
        if outcome == text:
            return outcome
    raise ValueError(f"not an outcome: {text!r}")


async def queue_stats(
    tenant_slug: str, extension: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """The queue's figures for the callers who entered it from ``since`` to ``until``."""
    tenant = await get_tenant(tenant_slug)
    queue = await get_queue(tenant, extension, field="extension")
    rows = await QueueCall.filter(queue=queue, entered_at__gte=since, entered_at__lt=until)
    summary = queues.summarise([(_as_outcome(r.outcome), r.wait_ms / 1000) for r in rows])
    answered: dict[str, int] = {}
    talk: dict[str, float] = {}
    for row in rows:
        if row.outcome == "answered" and row.agent_extension:
            answered[row.agent_extension] = answered.get(row.agent_extension, 0) + 1
            talk[row.agent_extension] = talk.get(row.agent_extension, 0.0) + row.talk_ms / 1000
    agents = await QueueAgent.filter(queue=queue).select_related("user").order_by("position")
    names = {a.user.extension: a.user.display_name for a in agents}
    # Current agents in the queue's order, then anyone who answered and is one no more.
    order = [*names, *sorted(set(answered) - set(names))]
    return {
        "tenant": tenant.slug,
        "queue": queue.extension,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "offered": summary.offered,
        "answered": summary.answered,
        "abandoned": summary.abandoned,
        "failed_over": summary.failed_over,
        "average_wait_s": round(summary.average_wait_s, 1),
        "longest_wait_s": round(summary.longest_wait_s, 1),
        "agents": [
            {
                "extension": ext,
                "name": names.get(ext, ""),
                "answered": answered.get(ext, 0),
                "talk_s": round(talk.get(ext, 0.0), 1),
            }
            for ext in order
        ],
    }


async def period_stats(
    p: Platform, tenant_slug: str, extension: str, period: str, now: datetime
) -> dict[str, Any]:
    """The queue's figures for a named period, and how many callers wait in it now
    (the media application's last word)."""
    tenant = await get_tenant(tenant_slug)
    span = window(tenant, period, now)
    stats = await queue_stats(tenant_slug, extension, span.since, span.until)
    waiting = live_queue(p, tenant.sip_domain, stats["queue"]).waiting
    return {**stats, "period": period, "waiting": waiting}


async def calls_by_outcome() -> dict[str, int]:
    """Every queue call ever filed, by outcome (``/metrics``' counter: rows are never
    removed, not even with their queue, so it only goes up)."""
    return {o: await QueueCall.filter(outcome=o).count() for o in queues.OUTCOMES}


async def wait_ms_by_outcome() -> dict[str, int]:
    """The waits of every queue call ever filed, summed by outcome (``/metrics``: with
    :func:`calls_by_outcome` it gives the average wait over any range)."""
    totals: dict[str, int] = {}
    for outcome in queues.OUTCOMES:
        summed = (
            await QueueCall.filter(outcome=outcome)
            .annotate(total=Sum("wait_ms"))
            .first()
            .values_list("total", flat=True)
        )
        totals[outcome] = int(summed or 0)  # type: ignore[arg-type]
    return totals
