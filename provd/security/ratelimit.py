"""Blocking clients that keep failing authentication.

Online guessing against phone Digest credentials is the attack this slows down.
A client that fails ``max_failures`` times within ``window`` seconds is blocked
for ``block_seconds``; each further block of the same client doubles that, up to
``max_block_seconds``, until it has stayed out of trouble for ``forget_after``.

Meant for one event loop: no locking.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Client:
    failures: list[float] = field(default_factory=list)
    blocked_until: float = 0.0
    strikes: int = 0
    last_block_end: float = 0.0


class FailureLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: float = 60.0,
        block_seconds: float = 60.0,
        max_block_seconds: float = 3600.0,
        forget_after: float = 86400.0,
        max_clients: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or max_clients < 1:
            raise ValueError("max_failures and max_clients must be positive")
        self._max_failures = max_failures
        self._window = window
        self._block = block_seconds
        self._max_block = max_block_seconds
        self._forget_after = forget_after
        self._max_clients = max_clients
        self._clock = clock
        # Least recently failed first, so eviction drops the clients that matter least.
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def __len__(self) -> int:
        return len(self._clients)

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it is not blocked."""
        client = self._clients.get(key)
        if client is None:
            return 0.0
        return max(0.0, client.blocked_until - self._clock())

    def is_blocked(self, key: str) -> bool:
        return self.blocked_for(key) > 0

    def record_failure(self, key: str) -> bool:
        """Count a failure; True when this one started a block (log it then, once)."""
        now = self._clock()
        client = self._clients.get(key)
        if client is None:
            self._make_room(now)
            client = self._clients[key] = _Client()
        else:
            self._clients.move_to_end(key)
        if client.blocked_until > now:
            # A blocked client should have been turned away before trying; if one
            # slipped through, its failures must not lengthen a block it cannot see.
            return False
        horizon = now - self._window
        client.failures = [t for t in client.failures if t > horizon]
        client.failures.append(now)
        if len(client.failures) < self._max_failures:
            return False
        if now - client.last_block_end > self._forget_after:
            client.strikes = 0
        client.strikes += 1
        duration = min(self._block * 2 ** (client.strikes - 1), self._max_block)
        client.blocked_until = client.last_block_end = now + duration
        client.failures.clear()
        return True

    def record_success(self, key: str) -> None:
        """Forget the failures of a client that is not blocked.

        A success while blocked changes nothing: one good guess among many must not
        lift the block, and a blocked client is not supposed to be checked at all.
        """
        client = self._clients.get(key)
        if client is None or client.blocked_until > self._clock():
            return
        client.failures.clear()
        if client.strikes == 0:
            del self._clients[key]

    def _make_room(self, now: float) -> None:
        # Clients with nothing left to remember go first; past the cap, the least
        # recently failing one goes even if that lifts its block early.
        while self._clients:
            oldest = next(iter(self._clients.values()))
            if len(self._clients) < self._max_clients and not self._forgettable(oldest, now):
                return
            self._clients.popitem(last=False)

    def _forgettable(self, client: _Client, now: float) -> bool:
        if client.blocked_until > now or any(t > now - self._window for t in client.failures):
            return False
        return client.strikes == 0 or now - client.last_block_end > self._forget_after


def client_key(address: str) -> str:
    """The limiter key for a peer address.

    An IPv6 host usually owns a whole /64 and can pick a fresh address for every
    attempt, so IPv6 peers are grouped by /64; IPv4-mapped addresses count as the
    IPv4 address they carry.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
