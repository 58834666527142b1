"""What provd and the media application tell each other about queues
(provd.media.queue_files has the formats): the queues as the media application runs
them (``queues.json``, written by serve when a queue, a login or a sound changes) and
what is happening in them now (``queue-live.json``, the media application's, read for
the console and ``/metrics``).

Each logged-in agent goes with their figures since logging in, counted from the
queue's callers' records: the media application orders its offers by them (fewest
calls, least talk time, longest idle) and counts on from there itself.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from provd.db.models import Queue, QueueAgent, QueueCall, Sound, Tenant
from provd.domain import queues
from provd.media import queue_files
from provd.pbx.media_app import MEDIA_SUBDIR
from provd.pbx.settings import PBX_DIR
from provd.services.menus.sounds import media_name
from provd.services.platform import Platform

log = logging.getLogger("provd.queues")


async def _agent_stats(agent: QueueAgent, since: datetime) -> queues.AgentStats:
    answered = await QueueCall.filter(
        queue_id=agent.queue_id,  # type: ignore[attr-defined]
        agent_id=agent.user_id,  # type: ignore[attr-defined]
        outcome="answered",
        left_at__gte=since,
    )
    return queues.AgentStats(
        since=since,
        calls=len(answered),
        talk_s=sum(r.talk_ms for r in answered) / 1000,
        last_call_end=max((r.left_at for r in answered), default=None),
    )


async def media_queues() -> dict[str, dict[str, queue_files.QueueConfig]]:
    """Every tenant's queues as the media application runs them: by the tenant's SIP
    domain, then by extension, with their logged-in agents in the queue's order."""
    tenants = {t.id: t for t in await Tenant.all()}
    sounds = {s.id: s for s in await Sound.all()}
    logged_in: dict[int, list[QueueAgent]] = defaultdict(list)
    rows = QueueAgent.filter(logged_in=True).select_related("user").order_by("position")
    for agent in await rows:
        logged_in[agent.queue_id].append(agent)  # type: ignore[attr-defined]
    out: dict[str, dict[str, queue_files.QueueConfig]] = {}
    for queue in await Queue.all().order_by("extension"):
        tenant: Tenant = tenants[queue.tenant_id]  # type: ignore[attr-defined]

        def sound(role: str, q: Queue = queue, t: Tenant = tenant) -> str | None:
            sound_id = getattr(q, f"{role}_id")
            return media_name(t, sounds[sound_id]) if sound_id is not None else None

        agents = []
        for agent in logged_in[queue.id]:
            # Logged in without a time (written behind the services' back): from now on.
            since = agent.logged_in_at or datetime.now().astimezone()
            agents.append(queues.Agent(agent.user.extension, await _agent_stats(agent, since)))
        out.setdefault(tenant.sip_domain, {})[queue.extension] = queue_files.QueueConfig(
            tenant=tenant.slug,
            name=queue.name,
            strategy=queues.Strategy(queue.strategy),
            ring_s=queue.ring_seconds,
            max_wait_s=queue.max_wait_seconds,
            has_failover=queue.failover is not None,
            moh=sound("moh"),
            intro=sound("intro"),
            periodic=sound("periodic"),
            periodic_s=queue.periodic_seconds,
            announce_position=queue.announce_position,
            agents=tuple(agents),
        )
    return out


async def write_media_queues(media_dir: Path) -> Path:
    """Replace ``queues.json`` in the media application's directory."""
    return queue_files.write_queues(media_dir, await media_queues())


def media_dir_of(p: Platform) -> Path:
    """Where ``serve --pbx`` runs the media application for ``p``'s data directory: any
    process (a worker, the CLI) reads what it wrote from there."""
    return p.data_dir / PBX_DIR / MEDIA_SUBDIR


def live(
    media_dir: Path | None, *, now: datetime | None = None
) -> dict[str, dict[str, queue_files.LiveQueue]]:
    """What the media application last said is happening in its queues, by SIP domain
    and extension; nothing when it runs nowhere here, has written nothing yet, wrote
    something unreadable (logged: the console shows no figures rather than wrong ones),
    or has not written for :data:`queue_files.LIVE_STALE_S` (it has stopped, and its
    callers with it: the last figures would say someone still waits)."""
    if media_dir is None:
        return {}
    try:
        read = queue_files.read_live(media_dir)
    except (queue_files.QueueFileError, OSError) as exc:
        log.warning("queues: %s is unreadable: %s", queue_files.LIVE_FILE, exc)
        return {}
    if read is None:
        return {}
    written_at, tenants = read
    age = ((now or datetime.now(UTC)) - written_at).total_seconds()
    if age > queue_files.LIVE_STALE_S:
        log.info(
            "queues: %s is %.0f s old; the media application is not running",
            queue_files.LIVE_FILE,
            age,
        )
        return {}
    return tenants


def live_queue(p: Platform, domain: str, extension: str) -> queue_files.LiveQueue:
    """One queue now; an empty one when the media application said nothing of it."""
    return live(media_dir_of(p)).get(domain.lower(), {}).get(extension, queue_files.LiveQueue())
