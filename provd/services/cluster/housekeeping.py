"""Deleting what the shared tables no longer need, once a minute, in one process:
claims of expired nonces, and failure counts that say nothing any more.

Claims of expired nonces go a minute after their nonce expired: node clocks that
disagree by less than that never see a claim deleted while one of them still
accepts its nonce (which would let a replay pass there as a first use).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from provd.security.digest import NONCE_LIFETIME
from provd.services.cluster import nonces, throttle

log = logging.getLogger("provd.cluster")

CLOCK_SKEW_S = 60.0
"""How far apart the clocks of the nodes sharing a database may be (keep them on NTP)."""


class Housekeeping:
    def __init__(self, *, every_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self._every_s = every_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> None:
        """One round: every table, now."""
        now = self._clock()
        await nonces.delete_expired(int((now - NONCE_LIFETIME - CLOCK_SKEW_S) * 1000))
        await throttle.delete_forgotten(now - CLOCK_SKEW_S)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                # The tables only grow until the next round: not worth stopping for.
                log.exception("housekeeping of the shared tables failed; retrying")
            await asyncio.sleep(self._every_s)
