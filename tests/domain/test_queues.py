"""Queue rules: the order agents are offered a caller in, per strategy, the limits an
admin may set, and the figures over a period."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provd.domain import queues
from provd.domain.errors import InvalidInput
from provd.domain.queues import Agent, AgentStats, Strategy

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def agent(
    ext: str, *, calls: int = 0, talk: float = 0.0, ended_min: int | None = None, login: int = 0
) -> Agent:
    end = T0 + timedelta(minutes=ended_min) if ended_min is not None else None
    return Agent(ext, AgentStats(T0 + timedelta(minutes=login), calls, talk, end))


def order(strategy: Strategy, *free: Agent) -> list[str]:
    return [ext for offer in queues.offers(strategy, free) for ext in offer]


def test_ring_all_is_one_offer_of_every_free_agent_in_the_queues_order() -> None:
    free = (agent("2002"), agent("2001"), agent("2003"))
    assert queues.offers(Strategy.RING_ALL, free) == [("2002", "2001", "2003")]


def test_longest_idle_offers_whoever_finished_a_call_longest_ago_first() -> None:
    free = (agent("2001", ended_min=50), agent("2002", ended_min=10), agent("2003", ended_min=30))
    assert order(Strategy.LONGEST_IDLE, *free) == ["2002", "2003", "2001"]


def test_an_agent_without_a_call_since_login_is_idle_since_the_login() -> None:
    # 2002 logged in at 08:05 and took no call: idle since 08:05, before 2001's 08:20.
    free = (agent("2001", ended_min=20), agent("2002", login=5))
    assert order(Strategy.LONGEST_IDLE, *free) == ["2002", "2001"]


def test_fewest_calls_and_least_talk_time_order_by_their_figure() -> None:
    free = (
        agent("2001", calls=4, talk=10),
        agent("2002", calls=1, talk=900),
        agent("2003", calls=2),
    )
    assert order(Strategy.FEWEST_CALLS, *free) == ["2002", "2003", "2001"]
    assert order(Strategy.LEAST_TALK_TIME, *free) == ["2003", "2001", "2002"]


def test_ties_keep_the_queues_own_order() -> None:
    free = (agent("2003"), agent("2001"), agent("2002"))
    for strategy in (Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.LEAST_TALK_TIME):
        assert order(strategy, *free) == ["2003", "2001", "2002"]


def test_random_follows_its_generator() -> None:
    free = tuple(agent(str(2000 + i)) for i in range(6))
    first = queues.offers(Strategy.RANDOM, free, random.Random(7))
    assert queues.offers(Strategy.RANDOM, free, random.Random(7)) == first
    orders = {tuple(queues.offers(Strategy.RANDOM, free, random.Random(s))) for s in range(20)}
    assert len(orders) > 1


def test_nobody_free_is_no_offer() -> None:
    for strategy in Strategy:
        assert queues.offers(strategy, ()) == []


@given(
    st.sampled_from(list(Strategy)),
    st.lists(
        st.tuples(st.integers(0, 50), st.floats(0, 1e5), st.none() | st.integers(0, 600)),
        min_size=1,
        max_size=8,
    ),
)
def test_property_every_free_agent_is_offered_exactly_once(
    strategy: Strategy, figures: list[tuple[int, float, int | None]]
) -> None:
    free = tuple(
        agent(str(2000 + i), calls=c, talk=t, ended_min=e) for i, (c, t, e) in enumerate(figures)
    )
    offered = order(strategy, *free)
    assert sorted(offered) == sorted(a.extension for a in free)
    if strategy is not Strategy.RING_ALL:
        assert all(len(o) == 1 for o in queues.offers(strategy, free, random.Random(1)))


def test_after_a_call_the_agent_has_one_more_call_its_talk_time_and_its_end() -> None:
    stats = AgentStats(T0, calls=2, talk_s=30.0)
    end = T0 + timedelta(hours=1)
    after = queues.after_call(stats, talk_s=12.5, ended=end)
    assert after == AgentStats(T0, calls=3, talk_s=42.5, last_call_end=end)
    assert queues.after_call(stats, talk_s=-1, ended=end).talk_s == 30.0


@pytest.mark.parametrize("text", ["ring-all", "RING_ALL", " longest_idle ", "least-talk-time"])
def test_strategies_are_read_forgivingly(text: str) -> None:
    assert queues.check_strategy(text) in Strategy


def test_an_unknown_strategy_names_the_field_and_the_choices() -> None:
    with pytest.raises(InvalidInput) as caught:
        queues.check_strategy("round-robin")
    assert caught.value.field == "strategy"
    assert "ring_all" in str(caught.value) and "least_talk_time" in str(caught.value)


@pytest.mark.parametrize("value", [4, 121, "x", True, None, 2.5])
def test_ring_seconds_outside_the_limits_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        queues.check_ring_seconds(value)
    assert caught.value.field == "ring_seconds"


def test_the_maximum_wait_is_at_least_one_ring() -> None:
    assert queues.check_max_wait(60, 15) == 60
    assert queues.check_max_wait("15", 15) == 15
    with pytest.raises(InvalidInput, match="shorter than the ring time"):
        queues.check_max_wait(12, 15)
    with pytest.raises(InvalidInput) as caught:
        queues.check_max_wait(3601, 15)
    assert caught.value.field == "max_wait_seconds"
    assert queues.check_periodic_seconds(40) == 40
    with pytest.raises(InvalidInput):
        queues.check_periodic_seconds(5)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("queue-800-agent-2001", queues.AgentOffer("800", "2001")),
        ("queue-800-failover", queues.QueueFailover("800")),
        ("queue-800", None),
        ("queue-800-agent-", None),
        ("queue-800-agent-+31612345678", None),
        ("queue-8-failover", None),
        ("ivr-800-1", None),
    ],
)
def test_request_users_read_back(text: str, parsed: object) -> None:
    assert queues.parse_request_user(text) == parsed


def test_request_users_are_written_as_they_are_read() -> None:
    assert queues.parse_request_user(queues.agent_request_user("800", "2001")) == (
        queues.AgentOffer("800", "2001")
    )
    assert queues.parse_request_user(queues.failover_request_user("800")) == (
        queues.QueueFailover("800")
    )
    assert queues.request_user("800") == "queue-800"


def test_figures_over_a_period() -> None:
    stats = queues.summarise([("answered", 10.0), ("abandoned", 30.0), ("failover", 300.0)])
    assert (stats.answered, stats.abandoned, stats.failed_over, stats.offered) == (1, 1, 1, 3)
    assert stats.average_wait_s == pytest.approx(340.0 / 3)
    assert stats.longest_wait_s == 300.0
    assert queues.summarise([]).average_wait_s == 0.0


def test_agent_order_follows_the_queues_order_with_strangers_last() -> None:
    stats = {e: AgentStats(T0) for e in ("2003", "2001", "9999")}
    assert [a.extension for a in queues.agent_order(stats, ["2001", "2003"])] == [
        "2001",
        "2003",
        "9999",
    ]
