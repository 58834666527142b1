from __future__ import annotations

import pytest

from provd.security.ratelimit import FailureLimiter, client_key


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
