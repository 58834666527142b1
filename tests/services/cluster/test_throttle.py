"""Failure counts in the database: the rule a single process applies, with the counts
of every process that shares the database."""

from __future__ import annotations

import asyncio
import random

import pytest

from provd.db.models import AuthFailures
from provd.security.ratelimit import AuthThrottle, FailureLimiter, FailureRule, LocalLimiter
from provd.services.access import accounts
from provd.services.audit import Actor
from provd.services.cluster.throttle import SharedLimiter, delete_forgotten, shared_limiters
from provd.services.platform import Platform

RULE = FailureRule(
    max_failures=10, window=60.0, block_seconds=60.0, max_block_seconds=300.0, forget_after=600
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _workers(clock: FakeClock, n: int = 2, scope: str = "test") -> list[SharedLimiter]:
    return [SharedLimiter(scope, RULE, clock=clock) for _ in range(n)]


async def test_failures_on_every_worker_count_together(
    platform: Platform, clock: FakeClock
) -> None:
    a, b = _workers(clock)
    started = [await (a, b)[i % 2].record_failure("192.0.2.1") for i in range(10)]
    assert started == [False] * 9 + [True]
    assert await a.blocked_for("192.0.2.1") == 60
    assert await b.blocked_for("192.0.2.1") == 60
    # A third process that never saw a failure knows the block from the table.
    assert await SharedLimiter("test", RULE, clock=clock).blocked_for("192.0.2.1") == 60
    assert await a.blocked_for("192.0.2.2") == 0


async def test_simultaneous_failures_are_all_counted_and_start_one_block(
    platform: Platform, clock: FakeClock
) -> None:
    workers = _workers(clock, 5)
    started = await asyncio.gather(*(w.record_failure("k") for w in workers * 2))
    assert started.count(True) == 1
    assert all([await w.blocked_for("k") == 60 for w in workers])


async def test_scopes_do_not_share_counts_and_keys_are_not_stored(
    platform: Platform, clock: FakeClock
) -> None:
    [console] = _workers(clock, 1, scope="console user")
    [phone] = _workers(clock, 1, scope="phone user")
    for _ in range(10):
        await console.record_failure("alice@example.org")
    assert await console.blocked_for("alice@example.org") > 0
    assert await phone.blocked_for("alice@example.org") == 0
    rows = await AuthFailures.all().values_list("key", flat=True)
    assert rows and not any("alice" in str(k) for k in rows)


async def test_a_known_block_costs_no_database_access(
    platform: Platform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    [limiter] = _workers(clock, 1)
    for _ in range(10):
        await limiter.record_failure("k")

    async def unreachable(*args: object, **kw: object) -> None:
        raise AssertionError("the database was asked")

    monkeypatch.setattr(AuthFailures, "get_or_none", unreachable)
    assert await limiter.record_failure("k") is False
    assert await limiter.blocked_for("k") == 60


async def test_forgotten_rows_are_deleted_and_others_kept(
    platform: Platform, clock: FakeClock
) -> None:
    [limiter] = _workers(clock, 1)
    await limiter.record_failure("once")
    for _ in range(10):
        await limiter.record_failure("blocked")
    clock.now += 61  # "once" is out of its window; "blocked" keeps its strike
    assert await delete_forgotten(clock.now) == 1
    clock.now += 600
    assert await delete_forgotten(clock.now) == 1
    assert await AuthFailures.all().count() == 0


async def test_the_same_answers_as_one_process_would_give(
    platform: Platform, clock: FakeClock
) -> None:
    """A random run of failures, successes and time, against the in-memory limiter and
    against two workers sharing the table, taking turns: the answers must agree."""
    memory = FailureLimiter.with_rule(RULE, clock=clock)
    local = LocalLimiter(memory)
    shared = _workers(clock)
    rng = random.Random(7)
    keys = ["a", "b", "c"]
    for step in range(600):
        key, worker = rng.choice(keys), shared[step % 2]
        roll = rng.random()
        if roll < 0.7:
            assert await worker.record_failure(key) == await local.record_failure(key), step
        elif roll < 0.9:
            await worker.record_success(key)
            await local.record_success(key)
        else:
            clock.now += rng.choice([1.0, 5.0, 30.0, 120.0, 700.0])
        for k in keys:
            assert await worker.blocked_for(k) == await local.blocked_for(k), (step, k)


async def test_the_phone_throttle_blocks_across_workers(
    platform: Platform, clock: FakeClock
) -> None:
    a, b = (AuthThrottle(limiters=shared_limiters(clock)) for _ in range(2))
    waits = [(await (a, b)[i % 2].failed("192.0.2.1", "dev-1")).retry_after for i in range(10)]
    assert waits == [0] * 9 + [60]
    assert (await b.failed("192.0.2.1", "dev-1")).retry_after == 60
    assert (await a.failed("192.0.2.1", "dev-2")).retry_after == 0


async def test_a_console_lockout_holds_on_every_worker(platform: Platform) -> None:
    await accounts.add_account(Actor("test"), "alice", "Corr3ct-horse")
    a, b = (accounts.SignInGuard(shared_limiters()) for _ in range(2))
    for i in range(5):
        with pytest.raises(accounts.SignInRefused) as refused:
            await accounts.sign_in((a, b)[i % 2], "alice", "Wr0ng-horse!", "192.0.2.1")
        assert refused.value.message == accounts.WRONG
    for guard in (a, b):
        with pytest.raises(accounts.SignInRefused) as refused:
            await accounts.sign_in(guard, "alice", "Corr3ct-horse", "192.0.2.2")
        assert "too many" in refused.value.message
