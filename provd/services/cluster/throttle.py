"""Failure counts in the database, shared by every worker and node of the platform.

One row per limiter scope and key (``AuthFailures``, keyed by a hash of both): the
key's :class:`~provd.security.ratelimit.FailureState`, read, moved on by the same
:class:`~provd.security.ratelimit.FailureRule` a single process uses, and written
back only if no other process wrote it meanwhile (compare-and-set on a version,
retried). So "10 failures in 60 s" counts the failures every process saw, and a block
holds everywhere from the next attempt on: there is no propagation delay to document.

Only failures write, and failures are the attack path: a phone with valid credentials
never gets here, and a console sign-in reads one row by primary key before its
password hash. A block a process has seen is remembered there until it ends, so a
blocked client hammering away costs no database access at all.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tortoise.exceptions import IntegrityError

from provd.db.models import AuthFailures
from provd.security.ratelimit import FailureRule, FailureState, Limiter, LimiterFactory

log = logging.getLogger("provd.cluster")

_TRIES = 10
"""Compare-and-set rounds per failure: each round one of the contending writers wins."""
_MAX_KNOWN_BLOCKS = 10000


def _state(row: AuthFailures) -> FailureState:
    return FailureState(
        deque(float(t) for t in row.failures),
        row.blocked_until,
        row.strikes,
        row.last_block_end,
    )


class SharedLimiter:
    """:class:`~provd.security.ratelimit.Limiter` over the ``auth_failures`` table."""

    def __init__(
        self, scope: str, rule: FailureRule, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.scope = scope
        self.rule = rule
        # Wall time: the rows are read by other processes and other hosts.
        self._clock = clock
        self._blocked: dict[str, float] = {}

    def _row_key(self, key: str) -> str:
        # Hashed: any length and any character fits, and no address or user name is
        # stored in the clear.
        return hashlib.sha256(f"{self.scope}\0{key}".encode()).hexdigest()

    def _known_block(self, row_key: str, now: float) -> float:
        until = self._blocked.get(row_key, 0.0)
        return until - now if until > now else 0.0

    def _learn(self, row_key: str, state: FailureState, now: float) -> float:
        wait = self.rule.blocked_for(state, now)
        if wait > 0:
            if len(self._blocked) >= _MAX_KNOWN_BLOCKS:
                self._blocked = {k: u for k, u in self._blocked.items() if u > now}
                if len(self._blocked) >= _MAX_KNOWN_BLOCKS:
                    self._blocked.clear()  # only a saving: the table still says
            self._blocked[row_key] = state.blocked_until
        return wait

    async def blocked_for(self, key: str) -> float:
        row_key, now = self._row_key(key), self._clock()
        if known := self._known_block(row_key, now):
            return known
        row = await AuthFailures.get_or_none(key=row_key)
        return 0.0 if row is None else self._learn(row_key, _state(row), now)

    async def record_failure(self, key: str) -> bool:
        row_key, now = self._row_key(key), self._clock()
        if self._known_block(row_key, now):
            return False
        for _ in range(_TRIES):
            row = await AuthFailures.get_or_none(key=row_key)
            state = FailureState() if row is None else _state(row)
            started = self.rule.fail(state, now)
            if row is not None and row.blocked_until > now:
                self._learn(row_key, state, now)  # blocked already: nothing to write
                return False
            if await self._write(row_key, row, state):
                self._learn(row_key, state, now)
                return started
        log.warning("failure count for one %s key not recorded: too much contention", self.scope)
        return False

    async def record_success(self, key: str) -> None:
        row_key, now = self._row_key(key), self._clock()
        row = await AuthFailures.get_or_none(key=row_key)
        if row is None:
            return
        state = _state(row)
        if not self.rule.succeed(state, now):
            return
        # A failure committed meanwhile wins: the version no longer matches.
        query = AuthFailures.filter(key=row_key, version=row.version)
        if state.strikes == 0:
            await query.delete()
        elif row.failures:
            await query.update(failures=[], forget_at=self.rule.forget_at(state))

    async def _write(self, row_key: str, row: AuthFailures | None, state: FailureState) -> bool:
        values: dict[str, Any] = {
            "failures": list(state.failures),
            "blocked_until": state.blocked_until,
            "strikes": state.strikes,
            "last_block_end": state.last_block_end,
            "forget_at": self.rule.forget_at(state),
        }
        if row is None:
            try:
                await AuthFailures.create(key=row_key, version=0, **values)
            except IntegrityError:
                return False  # another process made the row first: read it again
            return True
        updated = await AuthFailures.filter(key=row_key, version=row.version).update(
            version=row.version + 1, **values
        )
        return bool(updated)


def shared_limiters(clock: Callable[[], float] = time.time) -> LimiterFactory:
    """Limiters whose counts every process on the platform's database shares."""

    def make(scope: str, rule: FailureRule) -> Limiter:
        return SharedLimiter(scope, rule, clock=clock)

    return make


async def delete_forgotten(now: float) -> int:
    """Delete the rows that say nothing any more; how many went."""
    return await AuthFailures.filter(forget_at__lt=now).delete()
