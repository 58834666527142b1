"""Keeps the night-switch lamps (``provd.domain.night_switch``) in Kamailio's presence
server matching the schedules: each lamp is published when it changes (a switch set
from the console, the CLI, the API or by ``*915``, or a setting's end time passing)
and every few minutes whatever changed, well before a publication expires: a Kamailio
restarted by its supervisor has an empty presence server, and its lamps come back
within that time. Called by serve's PBX watcher every poll."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime

from provd.db.models import Schedule
from provd.domain import night_switch
from provd.domain.schedules import Override
from provd.pbx.presence import publish_dialog_info
from provd.pbx.rpc import KamailioRpc
from provd.services.schedules import override_of

log = logging.getLogger(__name__)

EXPIRES_S = 900
REPUBLISH_S = 300.0


class NightSwitchLamps:
    def __init__(self) -> None:
        self._shown: dict[str, bool] = {}
        self._version = 0
        self._published_at = 0.0

    async def publish(self, rpc: KamailioRpc, *, at: datetime | None = None) -> int:
        """Publish the lamps that changed (all of them when due again); how many."""
        now = at or datetime.now(UTC)
        due = time.monotonic() - self._published_at >= REPUBLISH_S
        by_domain: dict[str, list[tuple[str, Override | None]]] = defaultdict(list)
        for row in await Schedule.all().prefetch_related("tenant"):
            by_domain[row.tenant.sip_domain].append((row.name, override_of(row)))
        wanted = {
            lamp.uri(domain): lamp.lit
            for domain, rows in by_domain.items()
            for lamp in night_switch.lamps(rows, now)
        }
        count = 0
        for uri, lit in sorted(wanted.items()):
            if not due and self._shown.get(uri) == lit:
                continue
            self._version += 1
            body = night_switch.dialog_info(uri, lit, self._version)
            await publish_dialog_info(rpc, uri, body, expires_s=EXPIRES_S)
            self._shown[uri] = lit
            count += 1
        if due:
            self._published_at = time.monotonic()
        # A schedule removed (or renumbered away): its lamp goes dark, once.
        for uri in sorted(set(self._shown) - set(wanted)):
            self._version += 1
            body = night_switch.dialog_info(uri, False, self._version)
            await publish_dialog_info(rpc, uri, body, expires_s=EXPIRES_S)
            del self._shown[uri]
            count += 1
        return count
