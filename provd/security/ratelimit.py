"""Blocking clients that keep failing authentication.

Online guessing is the attack this slows down. A key (an address, a user name, or
both) that fails ``max_failures`` times within ``window`` seconds is blocked for
``block_seconds``; each further block of the same key doubles that, up to
``max_block_seconds``, until it has stayed out of trouble for ``forget_after``.
:class:`FailureRule` is that rule, applied to one key's :class:`FailureState`;
:class:`FailureLimiter` keeps the states of many keys in this process's memory, and
``services/cluster/throttle`` keeps them in the database, shared by every process
serving the platform. :class:`AuthThrottle` combines three such counts for the
phone path.

Meant for one event loop: no locking.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class FailureState:
    """What is remembered of one key."""

    failures: deque[float] = field(default_factory=deque)
    """When it failed, oldest first; only failures within the window matter."""
    blocked_until: float = 0.0
    strikes: int = 0
    last_block_end: float = 0.0


@dataclass(frozen=True, slots=True)
class FailureRule:
    max_failures: int = 10
    window: float = 60.0
    block_seconds: float = 60.0
    max_block_seconds: float = 3600.0
    forget_after: float = 86400.0

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be positive")

    def blocked_for(self, state: FailureState, now: float) -> float:
        return max(0.0, state.blocked_until - now)

    def fail(self, state: FailureState, now: float) -> bool:
        """Count a failure; True when this one started a block."""
        if state.blocked_until > now:
            # Attempts made during a block do not lengthen it: a client that is told
            # to wait and does not is answered the same until the block ends.
            return False
        horizon = now - self.window
        failures = state.failures
        while failures and failures[0] <= horizon:
            failures.popleft()
        failures.append(now)
        if len(failures) < self.max_failures:
            return False
        if now - state.last_block_end > self.forget_after:
            state.strikes = 0
        state.strikes += 1
        duration = min(self.block_seconds * 2 ** (state.strikes - 1), self.max_block_seconds)
        state.blocked_until = state.last_block_end = now + duration
        failures.clear()
        return True

    def succeed(self, state: FailureState, now: float) -> bool:
        """Forget the failures of a key that is not blocked; False when it is blocked
        (then nothing changes: one good guess among many must not lift a block)."""
        if state.blocked_until > now:
            return False
        state.failures.clear()
        return True

    def forget_at(self, state: FailureState) -> float:
        """From when on the state says nothing an absent one would not."""
        last_failure = state.failures[-1] if state.failures else 0.0
        offence = state.last_block_end + self.forget_after if state.strikes else 0.0
        return max(state.blocked_until, last_failure + self.window, offence)


class FailureLimiter:
    """The states of many keys, in this process's memory, bounded."""

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
        self.rule = FailureRule(
            max_failures=max_failures,
            window=window,
            block_seconds=block_seconds,
            max_block_seconds=max_block_seconds,
            forget_after=forget_after,
        )
        self._max_clients = max_clients
        self._clock = clock
        # Least recently failed first, so eviction drops the clients that matter least.
        self._clients: OrderedDict[str, FailureState] = OrderedDict()

    @classmethod
    def with_rule(
        cls,
        rule: FailureRule,
        *,
        max_clients: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> FailureLimiter:
        return cls(
            max_failures=rule.max_failures,
            window=rule.window,
            block_seconds=rule.block_seconds,
            max_block_seconds=rule.max_block_seconds,
            forget_after=rule.forget_after,
            max_clients=max_clients,
            clock=clock,
        )

    def __len__(self) -> int:
        return len(self._clients)

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it is not blocked."""
        client = self._clients.get(key)
        if client is None:
            return 0.0
        return self.rule.blocked_for(client, self._clock())

    def is_blocked(self, key: str) -> bool:
        return self.blocked_for(key) > 0

    def record_failure(self, key: str) -> bool:
        """Count a failure; True when this one started a block (log it then, once)."""
        now = self._clock()
        client = self._clients.get(key)
        if client is None:
            self._make_room(now)
            client = self._clients[key] = FailureState()
        else:
            self._clients.move_to_end(key)
        return self.rule.fail(client, now)

    def record_success(self, key: str) -> None:
        """Forget the failures of a client that is not blocked.

        A success while blocked changes nothing: one good guess among many must not
        lift the block, and a blocked client is not supposed to be checked at all.
        """
        client = self._clients.get(key)
        if client is None or not self.rule.succeed(client, self._clock()):
            return
        if client.strikes == 0:
            del self._clients[key]

    def _make_room(self, now: float) -> None:
        # Clients with nothing left to remember go first; past the cap, the least
        # recently failing one goes even if that lifts its block early.
        while self._clients:
            oldest = next(iter(self._clients.values()))
            if len(self._clients) < self._max_clients and self.rule.forget_at(oldest) >= now:
                return
            self._clients.popitem(last=False)


class Limiter(Protocol):
    """A :class:`FailureLimiter`'s questions, asked of wherever the states are kept."""

    async def blocked_for(self, key: str) -> float: ...

    async def record_failure(self, key: str) -> bool: ...

    async def record_success(self, key: str) -> None: ...


LimiterFactory = Callable[[str, FailureRule], Limiter]
"""Makes the limiter of one scope (a name unique among the platform's limiters)."""


class LocalLimiter:
    """A :class:`Limiter` over a :class:`FailureLimiter` of this process."""

    def __init__(self, memory: FailureLimiter) -> None:
        self.memory = memory

    async def blocked_for(self, key: str) -> float:
        return self.memory.blocked_for(key)

    async def record_failure(self, key: str) -> bool:
        return self.memory.record_failure(key)

    async def record_success(self, key: str) -> None:
        self.memory.record_success(key)


def local_limiters(
    *, max_clients: int = 10000, clock: Callable[[], float] = time.monotonic
) -> LimiterFactory:
    """Limiters that count in this process only (one process, or a test)."""

    def make(scope: str, rule: FailureRule) -> Limiter:
        return LocalLimiter(FailureLimiter.with_rule(rule, max_clients=max_clients, clock=clock))

    return make


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


@dataclass(frozen=True, slots=True)
class Throttled:
    """What the throttle makes of one failed attempt."""

    retry_after: float
    """Seconds the client should wait; 0 when it is not throttled."""
    started: tuple[str, ...] = ()
    """The scopes whose block this very failure started, to log once."""


_MAX_USERNAME = 128


class AuthThrottle:
    """Slows down clients that keep failing authentication, and nobody else.

    Consulted only for an attempt whose credentials have already been found wrong:
    a request with valid credentials is answered on its merits however blocked its
    address or user name is, so no failing client, however busy, can lock another
    out. Each failure counts under three keys:

    - address and user name, low: the one client that keeps failing (a guesser, or
      a factory-reset phone retrying its sealed MAC with the bootstrap credential)
      is told to back off without touching its neighbours behind the same NAT;
    - user name alone, across addresses: guessing one user from many addresses;
    - address alone, a ceiling far above what a site with hundreds of phones fails
      at: one address spraying many user names.

    A failure is answered as throttled when any of its keys is blocked; an unknown
    user name counts exactly as a known one, so a throttle tells nothing about
    which names exist. ``limiters`` says where the counts are kept (this process by
    default; ``services/cluster/throttle`` shares them between processes).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        per_source_user: int = 10,
        per_user: int = 50,
        per_source: int = 300,
        window: float = 60.0,
        max_clients: int = 10000,
        limiters: LimiterFactory | None = None,
    ) -> None:
        make = limiters or local_limiters(max_clients=max_clients, clock=clock)

        def limiter(scope: str, max_failures: int, max_block: float) -> Limiter:
            rule = FailureRule(
                max_failures=max_failures,
                window=window,
                block_seconds=60.0,
                max_block_seconds=max_block,
            )
            return make(f"phone {scope}", rule)

        self.by_source_user = limiter("address and user", per_source_user, 3600.0)
        self.by_user = limiter("user", per_user, 3600.0)
        # An address stands for a whole site behind NAT: its block stays short.
        self.by_source = limiter("address", per_source, 900.0)

    async def failed(self, source: str, username: str | None) -> Throttled:
        """Count a failed attempt from ``source`` (a :func:`client_key`) for
        ``username`` (None when the request named nobody, e.g. a malformed header)."""
        keys: list[tuple[str, Limiter, str]] = [("address", self.by_source, source)]
        if username is not None:
            # Stored names are far shorter; a cut bounds what a key can cost in memory.
            username = username[:_MAX_USERNAME]
            # NUL cannot occur in a parsed Digest user name, so keys cannot collide.
            keys.append(("address and user", self.by_source_user, f"{source}\0{username}"))
            keys.append(("user", self.by_user, username))
        started = tuple([scope for scope, lim, key in keys if await lim.record_failure(key)])
        wait = max([await lim.blocked_for(key) for _, lim, key in keys])
        return Throttled(wait, started)
