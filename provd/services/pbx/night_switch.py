"""Keeps the night-switch lamps (``provd.domain.night_switch``) in Kamailio's presence
server matching the schedules: each lamp is published when it changes (a switch set
from the console, the CLI, the API or by ``*915``, or a setting's end time passing)
and every few minutes (provd.services.pbx.lamps). Called by serve's PBX watcher every
poll."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from provd.db.models import Schedule
from provd.domain import night_switch
from provd.domain.schedules import Override
from provd.pbx.rpc import KamailioRpc
from provd.services.pbx.lamps import EXPIRES_S, REPUBLISH_S, PublishedLamps
from provd.services.schedules import override_of

__all__ = ["EXPIRES_S", "REPUBLISH_S", "NightSwitchLamps"]


class NightSwitchLamps:
    def __init__(self) -> None:
        self._lamps = PublishedLamps(night_switch.dialog_info)

    async def publish(self, rpc: KamailioRpc, *, at: datetime | None = None) -> int:
        """Publish the lamps that changed (all of them when due again); how many."""
        now = at or datetime.now(UTC)
        by_domain: dict[str, list[tuple[str, Override | None]]] = defaultdict(list)
        for row in await Schedule.all().prefetch_related("tenant"):
            by_domain[row.tenant.sip_domain].append((row.name, override_of(row)))
        wanted = {
            lamp.uri(domain): lamp.lit
            for domain, rows in by_domain.items()
            for lamp in night_switch.lamps(rows, now)
        }
        # A schedule removed (or renumbered away): its lamp goes dark, once.
        return await self._lamps.show(rpc, wanted)
