"""Keeps the queue agents' login lamps (``provd.domain.queue_lamps``: ``*903*EXT``)
in Kamailio's presence server matching who is logged in: published when a login
changes (``*903`` / ``*904``, the console, the CLI or the API) and every few minutes
(provd.services.pbx.lamps). Called by serve's PBX watcher every poll, and at once
after a service code."""

from __future__ import annotations

from collections import defaultdict

from provd.db.models import QueueAgent
from provd.domain import queue_lamps
from provd.pbx.rpc import KamailioRpc
from provd.services.pbx.lamps import PublishedLamps


class AgentLamps:
    def __init__(self) -> None:
        self._lamps = PublishedLamps(queue_lamps.dialog_info)

    async def publish(self, rpc: KamailioRpc) -> int:
        """Publish the lamps that changed (all of them when due again); how many. A user
        who is an agent of no queue any more has no lamp: it goes dark, once."""
        agents: dict[str, set[str]] = defaultdict(set)
        logged_in: dict[str, set[str]] = defaultdict(set)
        for row in await QueueAgent.all().select_related("user", "queue__tenant"):
            domain = row.queue.tenant.sip_domain
            agents[domain].add(row.user.extension)
            if row.logged_in:
                logged_in[domain].add(row.user.extension)
        return await self._lamps.show(rpc, queue_lamps.lamps(agents, logged_in))
