"""Keeps every process's TLS ticket keys those of the current window (security/tls_tickets),
derived from one platform secret, so a phone's ticket opens on any worker or node."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time

from provd.security import tls_tickets
from provd.security.secretbox import SecretBox
from provd.services.cluster.platform_secrets import platform_secret

log = logging.getLogger(__name__)

TICKET_SECRET = "tls-ticket-secret"


class SharedTicketKeys:
    def __init__(self, context: ssl.SSLContext, secret: bytes) -> None:
        self._context = context
        self._secret = secret
        self.window: int | None = None

    @classmethod
    async def load(cls, context: ssl.SSLContext, box: SecretBox) -> SharedTicketKeys:
        return cls(context, await platform_secret(box, TICKET_SECRET))

    def apply(self, now: float) -> bool:
        """Install the keys of the window ``now`` falls in; False where this Python's
        ssl cannot take them (each process then keeps OpenSSL's own)."""
        window = tls_tickets.window_at(now)
        if not tls_tickets.install(self._context, tls_tickets.keys_for(self._secret, window)):
            return False
        self.window = window
        return True

    async def keep(self) -> None:
        """After ``apply``: rotate at every window's start, as every other process does,
        until cancelled."""
        while True:
            next_start = (tls_tickets.window_at(time.time()) + 1) * tls_tickets.ROTATE_S
            await asyncio.sleep(max(next_start - time.time(), 0.0) + 0.05)
            if not self.apply(time.time()):
                log.error("TLS ticket keys could not be rotated: tickets stay per process")
                return
