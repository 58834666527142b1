"""What every use case needs: the data directory, settings, the secret box and hooks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from provd.security.ratelimit import LimiterFactory
from provd.security.secretbox import SecretBox
from provd.settings import Settings

ChangeHook = Callable[[], Awaitable[None]]
HostResolver = Callable[[str, int], Awaitable[None]]
"""Raises OSError (``socket.gaierror``) or TimeoutError when the host does not resolve."""
FirmwareFetchHook = Callable[[int, int], Awaitable[None]]
"""Called with (device id, firmware image id) after a phone downloaded a firmware file."""


RESOLVE_TIMEOUT = 3.0
"""Seconds a host name (a carrier's) may take to resolve when it is entered."""


async def _getaddrinfo(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM), timeout=RESOLVE_TIMEOUT
    )


@dataclass(slots=True)
class Platform:
    data_dir: Path
    settings: Settings
    box: SecretBox
    on_accounts_changed: list[ChangeHook] = field(default_factory=list)
    """Called after users or their SIP secrets change (the PBX layer re-syncs its tables)."""
    on_firmware_fetched: list[FirmwareFetchHook] = field(default_factory=list)
    """Called after a phone downloaded a firmware file (rollouts advance on it)."""
    resolve_host: HostResolver = _getaddrinfo
    """How a host name entered for a carrier is checked (tests keep it off the network)."""
    limiters: LimiterFactory | None = None
    """Where failed authentications are counted: None for this process's memory;
    ``serve`` counts them in the database (services/cluster/throttle), so the phone
    throttle and the console lockout hold across every worker and node."""

    async def firmware_fetched(self, device_id: int, image_id: int) -> None:
        for hook in self.on_firmware_fetched:
            await hook(device_id, image_id)

    async def accounts_changed(self) -> None:
        for hook in self.on_accounts_changed:
            await hook()
