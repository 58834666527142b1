"""What only the leader runs (services/cluster/leader): the PBX with its route listener
and audit watcher, the rollout engine, discovery, and the shared tables' housekeeping.

Started when this process takes the leader lease, at ``serve``'s start or later when
the previous leader died; stopped when the process stops or loses the lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from provd.discovery import runner as discovery_runner
from provd.discovery.runner import DiscoveryOptions
from provd.pbx.settings import PbxSecrets
from provd.services.cluster.housekeeping import Housekeeping
from provd.services.cluster.leader import Stop
from provd.services.pbx import PbxRuntime
from provd.services.pbx.serve import ServedPbx
from provd.services.platform import Platform
from provd.services.rollouts.engine import RolloutEngine
from provd.services.routing import LiveTable
from provd.services.service_codes import ServiceCodes
from provd.web.pbx_routing import start_routing_site

log = logging.getLogger("provd.server")


class LeaderServices:
    def __init__(
        self,
        platform: Platform,
        *,
        pbx: PbxRuntime | None,
        pbx_export_dir: Path | None,
        discovery: DiscoveryOptions | None,
    ) -> None:
        self.platform = platform
        self.pbx = pbx
        self.pbx_export_dir = pbx_export_dir
        self.discovery = discovery
        self.sites_up = False
        """Set once this process serves phones: a leader starting later says so itself."""

    async def start(self) -> Stop:
        stack = contextlib.AsyncExitStack()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        log.info("leader (pid %d): %s", os.getpid(), self._what())
        if self.sites_up:
            self.announce()
        return stack.aclose

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        platform, pbx = self.platform, self.pbx
        if pbx is not None:
            routing = LiveTable(keep_answers=True)
            served_pbx = ServedPbx(platform, pbx, export_dir=self.pbx_export_dir, routing=routing)
            control = await served_pbx.start()
            stack.push_async_callback(served_pbx.stop)
            # Kamailio asks this listener where each call goes; the leader alone listens,
            # and between two leaders a call gets a fast 503, never a guess.
            pbx_settings = pbx.settings
            route_runner = await start_routing_site(
                routing,
                PbxSecrets.load_or_create(pbx_settings.pbx_dir).route_token,
                pbx_settings.route_host,
                pbx_settings.route_port,
                ServiceCodes(platform, served_pbx.after_service_code),
            )
            stack.push_async_callback(route_runner.cleanup)
            # Rollouts need the PBX to notify phones; the engine resumes any left running.
            # Firmware downloads are recorded by whichever process serves them.
            engine = RolloutEngine(platform, control, record_fetches=False)
            await engine.start()
            stack.push_async_callback(engine.stop)
        if self.discovery is not None and self.discovery.enabled:
            await discovery_runner.start(platform, self.discovery, stack)
        housekeeping = Housekeeping()
        housekeeping.start()
        stack.push_async_callback(housekeeping.stop)

    def _what(self) -> str:
        parts = []
        if self.pbx is not None:
            parts += ["the PBX", "rollouts"]
        if self.discovery is not None and self.discovery.enabled:
            parts.append("discovery")
        return ", ".join([*parts, "housekeeping"])

    def announce(self) -> None:
        """The line operators (and tests) wait for: the PBX is up and phones are served."""
        if self.pbx is not None:
            host, port = self.pbx.sip_proxy
            log.info("phones register at %s port %d (%s PBX)", host, port, self.pbx.mode.value)
