from __future__ import annotations

import pytest

from provd.security.ratelimit import (
    AuthThrottle,
    FailureLimiter,
    Limiter,
    LocalLimiter,
    client_key,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> FailureLimiter:
    return FailureLimiter(clock=clock)


def _fail(limiter: FailureLimiter, key: str, times: int) -> list[bool]:
    return [limiter.record_failure(key) for _ in range(times)]


def test_tenth_failure_in_a_minute_blocks(limiter: FailureLimiter, clock: FakeClock) -> None:
    results = []
    for _ in range(10):
        results.append(limiter.record_failure("192.0.2.1"))
        clock.now += 5.9
    assert results == [False] * 9 + [True]
    assert limiter.is_blocked("192.0.2.1")
    assert not limiter.is_blocked("192.0.2.2")


def test_failures_spread_over_more_than_the_window_do_not_block(
    limiter: FailureLimiter, clock: FakeClock
) -> None:
    for _ in range(100):
        assert not limiter.record_failure("192.0.2.1")
        clock.now += 6.7
    assert not limiter.is_blocked("192.0.2.1")


def test_window_slides_rather_than_resets(limiter: FailureLimiter, clock: FakeClock) -> None:
    _fail(limiter, "k", 5)
    clock.now += 50
    _fail(limiter, "k", 4)
    clock.now += 15  # the first five are now older than the window
    assert _fail(limiter, "k", 5) == [False] * 5
    assert limiter.record_failure("k")


def test_block_lasts_the_cool_down(limiter: FailureLimiter, clock: FakeClock) -> None:
    _fail(limiter, "k", 10)
    assert limiter.blocked_for("k") == 60
    clock.now += 59.5
    assert limiter.is_blocked("k")
    assert limiter.blocked_for("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert not limiter.is_blocked("k")
    assert limiter.blocked_for("k") == 0


def test_block_is_announced_once(limiter: FailureLimiter) -> None:
    results = _fail(limiter, "k", 25)
    assert results.count(True) == 1


def test_failures_while_blocked_neither_extend_nor_count(
    limiter: FailureLimiter, clock: FakeClock
) -> None:
    _fail(limiter, "k", 10)
    clock.now += 30
    _fail(limiter, "k", 50)
    clock.now += 30
    assert not limiter.is_blocked("k")
    # A fresh count starts after the block.
    assert _fail(limiter, "k", 9) == [False] * 9


def test_repeat_offenders_are_blocked_longer_up_to_a_cap(clock: FakeClock) -> None:
    limiter = FailureLimiter(block_seconds=60, max_block_seconds=300, clock=clock)
    durations = []
    for _ in range(6):
        assert _fail(limiter, "k", 10)[-1]
        durations.append(limiter.blocked_for("k"))
        clock.now += limiter.blocked_for("k")
    assert durations == [60, 120, 240, 300, 300, 300]


def test_offences_are_forgotten_after_good_behaviour(clock: FakeClock) -> None:
    limiter = FailureLimiter(forget_after=3600, clock=clock)
    _fail(limiter, "k", 10)
    clock.now += 60
    _fail(limiter, "k", 10)
    assert limiter.blocked_for("k") == 120
    clock.now += 120 + 3601
    _fail(limiter, "k", 10)
    assert limiter.blocked_for("k") == 60


def test_success_resets_the_count(limiter: FailureLimiter) -> None:
    _fail(limiter, "k", 9)
    limiter.record_success("k")
    assert _fail(limiter, "k", 9) == [False] * 9
    assert not limiter.is_blocked("k")


def test_success_does_not_lift_a_block(limiter: FailureLimiter, clock: FakeClock) -> None:
    _fail(limiter, "k", 10)
    limiter.record_success("k")
    assert limiter.is_blocked("k")
    clock.now += 60
    assert not limiter.is_blocked("k")


def test_success_keeps_the_offence_record(limiter: FailureLimiter, clock: FakeClock) -> None:
    _fail(limiter, "k", 10)
    clock.now += 60
    limiter.record_success("k")
    _fail(limiter, "k", 10)
    assert limiter.blocked_for("k") == 120


def test_success_of_an_innocent_client_frees_its_memory(limiter: FailureLimiter) -> None:
    _fail(limiter, "k", 3)
    assert len(limiter) == 1
    limiter.record_success("k")
    limiter.record_success("never-seen")
    assert len(limiter) == 0


def test_memory_is_bounded(clock: FakeClock) -> None:
    limiter = FailureLimiter(max_clients=100, clock=clock)
    for i in range(10_000):
        limiter.record_failure(f"10.0.{i // 256}.{i % 256}")
        assert len(limiter) <= 100


def test_eviction_drops_the_least_recently_failing(clock: FakeClock) -> None:
    limiter = FailureLimiter(max_clients=3, clock=clock)
    _fail(limiter, "attacker", 10)
    for key in ["a", "b"]:
        clock.now += 1
        limiter.record_failure(key)
    clock.now += 1
    limiter.record_failure("attacker")  # still active: moves to the back
    limiter.record_failure("c")
    assert limiter.is_blocked("attacker")
    assert len(limiter) == 3


def test_clients_with_nothing_to_remember_are_purged(clock: FakeClock) -> None:
    limiter = FailureLimiter(max_clients=1000, clock=clock)
    for i in range(50):
        limiter.record_failure(f"old-{i}")
    clock.now += 61
    limiter.record_failure("new")
    assert len(limiter) == 1


def test_blocked_clients_outlive_purging(clock: FakeClock) -> None:
    limiter = FailureLimiter(max_clients=1000, clock=clock)
    _fail(limiter, "blocked", 10)
    clock.now += 61
    limiter.record_failure("new")
    # Its block ended, but the offence is remembered for the next one.
    assert len(limiter) == 2


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        FailureLimiter(max_failures=0)
    with pytest.raises(ValueError):
        FailureLimiter(max_clients=0)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("::1", "::/64"),
        ("not-an-ip", "not-an-ip"),
        ("", ""),
    ],
)
def test_client_key(address: str, key: str) -> None:
    assert client_key(address) == key


# -- AuthThrottle: per address and user, per user, and a ceiling per address ------------


def _remembered(limiter: Limiter) -> int:
    assert isinstance(limiter, LocalLimiter)
    return len(limiter.memory)


@pytest.fixture
def throttle(clock: FakeClock) -> AuthThrottle:
    return AuthThrottle(clock=clock, per_source_user=10, per_user=50, per_source=300)


async def _failed(throttle: AuthThrottle, source: str, user: str | None, times: int) -> list[float]:
    return [(await throttle.failed(source, user)).retry_after for _ in range(times)]


async def test_one_address_failing_for_one_user_is_throttled_for_that_user_only(
    throttle: AuthThrottle,
) -> None:
    assert await _failed(throttle, "192.0.2.1", "bootstrap-acme", 9) == [0] * 9
    tenth = await throttle.failed("192.0.2.1", "bootstrap-acme")
    assert tenth.retry_after == 60 and tenth.started == ("address and user",)
    # The same address failing for another user, and another address failing for the
    # first user, are each one failure, not throttled.
    assert (await throttle.failed("192.0.2.1", "dev-001565aabb01")).retry_after == 0
    assert (await throttle.failed("192.0.2.2", "bootstrap-acme")).retry_after == 0


async def test_one_user_failing_from_many_addresses_is_throttled_everywhere(
    throttle: AuthThrottle,
) -> None:
    results = [await throttle.failed(f"10.0.0.{i}", "dev-001565aabb01") for i in range(50)]
    assert [r.retry_after for r in results[:49]] == [0] * 49
    assert results[49].started == ("user",)
    assert (await throttle.failed("10.0.1.1", "dev-001565aabb01")).retry_after == 60
    assert (await throttle.failed("10.0.1.1", "dev-001565aabb02")).retry_after == 0


async def test_one_address_spraying_user_names_hits_the_address_ceiling(
    throttle: AuthThrottle,
) -> None:
    results = [await throttle.failed("192.0.2.9", f"dev-{i:012x}") for i in range(300)]
    assert [r.retry_after for r in results[:299]] == [0] * 299
    assert results[299].started == ("address",)
    assert (await throttle.failed("192.0.2.9", "never-tried")).retry_after == 60
    assert (await throttle.failed("192.0.2.10", "never-tried")).retry_after == 0


async def test_malformed_requests_count_for_the_address_alone(throttle: AuthThrottle) -> None:
    assert await _failed(throttle, "192.0.2.1", None, 299) == [0] * 299
    assert (await throttle.failed("192.0.2.1", None)).started == ("address",)
    assert _remembered(throttle.by_user) == 0 and _remembered(throttle.by_source_user) == 0


async def test_the_address_ceiling_is_far_above_one_sites_failures(clock: FakeClock) -> None:
    # A site behind one NAT address: 200 phones, each failing a few times a minute
    # (a rotated bootstrap password, say) stay below the ceiling.
    throttle = AuthThrottle(clock=clock)
    for _ in range(10):
        for phone in range(200):
            assert (await throttle.failed("198.51.100.1", f"dev-{phone:012x}")).retry_after == 0
        clock.now += 60


async def test_throttled_key_counts_towards_the_others(throttle: AuthThrottle) -> None:
    # A client that ignores Retry-After keeps counting against its address and user,
    # so it cannot stay under their limits by staying throttled.
    await _failed(throttle, "192.0.2.1", "dev-001565aabb01", 49)
    assert (await throttle.failed("192.0.2.1", "dev-001565aabb01")).started == ("user",)
    assert (await throttle.failed("192.0.2.99", "dev-001565aabb01")).retry_after > 0


async def test_retry_after_is_the_longest_block(throttle: AuthThrottle, clock: FakeClock) -> None:
    await _failed(throttle, "192.0.2.1", "u", 10)
    clock.now += 30
    assert (await throttle.failed("192.0.2.1", "u")).retry_after == 30
    for i in range(39):
        await throttle.failed(f"10.0.0.{i}", "u")
    # The user's block, started now, outlasts the address-and-user block.
    assert (await throttle.failed("192.0.2.1", "u")).retry_after == 60


async def test_long_user_names_share_a_bounded_key(throttle: AuthThrottle) -> None:
    for i in range(20):
        await throttle.failed(f"10.0.0.{i}", "x" * 4000 + str(i))
    assert _remembered(throttle.by_user) == 1
