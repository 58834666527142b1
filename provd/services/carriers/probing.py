"""The carrier prober: each enabled carrier's OPTIONS keepalive while provd serves the PBX.

One round probes all enabled carriers at once (a dead one holds its probe for tm's
fr_timer, 5 s; the others need not wait behind it; Kamailio answers the RPCs as their
transactions end, without holding a worker meanwhile) and stores each answer in the
carrier's probe columns (read by :mod:`provd.services.carriers.state`). The next round
starts ``interval_s`` after one ends, so rounds never overlap.

A carrier going down or coming back changes the order calls try carriers in (a down
one is tried last, :func:`provd.services.routing.load_table`), so a round that flips
one calls ``on_change`` (serve passes the routing table's refresh) at once rather than
leaving the old order until something else rebuilds the table.

No audit row is written: the probe columns are observed state, like a phone's
registration, not a change a person made, and a row per carrier every round would
bury the changes the log is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from provd.db.models import Carrier
from provd.pbx import PbxError, ProbeResult
from provd.services.carriers import carrier_address

log = logging.getLogger("provd.carriers")

DEFAULT_INTERVAL_S = 30.0
_REASON_MAX = 128
"""The probe_reason column's length."""

Probe = Callable[[str, str], Awaitable[ProbeResult]]
"""(``host:port``, transport) → the carrier's answer; PbxControl.probe_carrier."""


def routes_as_up(probe_up: bool | None) -> bool:
    """Whether routing treats a carrier as up: a carrier never probed counts as up."""
    return probe_up is not False


class CarrierProber:
    def __init__(
        self,
        probe: Probe,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        on_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._probe = probe
        self._interval_s = interval_s
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    async def probe_all(self) -> list[str]:
        """One round; the names of the carriers that went down or came back.

        When Kamailio could not be asked about a carrier its columns are left as they
        were (that says nothing about the carrier); the other answers are stored, then
        the first such error is raised.
        """
        rows = await Carrier.filter(enabled=True).order_by("priority", "name")
        results = await asyncio.gather(
            *(self._probe(carrier_address(r), r.transport) for r in rows), return_exceptions=True
        )
        now = datetime.now(UTC)
        flipped: list[str] = []
        failure: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failure = failure or result
                continue
            # By id and these columns only: a carrier removed or edited during the
            # round is neither recreated nor set back.
            await Carrier.filter(id=row.id).update(
                probe_up=result.up,
                probe_status=result.status,
                probe_reason=result.reason[:_REASON_MAX],
                probed_at=now,
            )
            if routes_as_up(row.probe_up) != result.up:
                flipped.append(row.name)
            _log_answer(row, result)
        if flipped and self._on_change is not None:
            await self._on_change()
        if failure is not None:
            raise failure
        return flipped

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="carrier-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.probe_all()
            except Exception as e:
                # Retried every round; logged once per failure streak.
                if not failing:
                    if isinstance(e, PbxError):
                        log.warning("carrier probe: %s; retrying every %gs", e, self._interval_s)
                    else:
                        log.exception("carrier probe failed; retrying")
                failing = True
            else:
                if failing:
                    log.info("carrier probe works again")
                failing = False
            await asyncio.sleep(self._interval_s)


def _log_answer(row: Carrier, result: ProbeResult) -> None:
    if routes_as_up(row.probe_up) and not result.up:
        log.warning("carrier %s is down (%s): calls try it last", row.name, result.describe())
    elif row.probe_up is False and result.up:
        log.info("carrier %s is up again (%s)", row.name, result.describe())
