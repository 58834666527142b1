"""Call queues: which agents a waiting caller is offered to, and a queue's limits.

A queue is an extension of the tenant that the media application answers: the caller
hears music on hold (and, if set, an introduction, their position and a periodic
message) while the media application offers the call to the queue's *logged-in*
agents, one after the other or all at once, until one answers or the maximum wait
passes and the caller goes to the queue's failover destination (provd.domain.routing
resolves it, like a menu key). Agents log in and out with ``*903`` / ``*904``
(provd.domain.service_codes).

Strategies, as the product brief names them (counts and times are since the agent
logged in, so an agent who just logged in is not flooded for a quiet morning):

* *ring_all*: every free agent at once; the first to answer takes the call.
* *longest_idle*: free agents in order of the time since their last queue call ended
  (never had one since logging in: idle longest, and among those the earliest login).
* *fewest_calls*: free agents by the number of queue calls they answered.
* *random*: free agents in a random order.
* *least_talk_time*: free agents by their total talk time on queue calls.

Ties keep the queue's own agent order, so a strategy is a total order and the same
state always gives the same offer (except *random*, which takes its generator).

Request-URI users the media application calls back through Kamailio with:

* ``queue-<queue>-agent-<extension>``: offer the caller to one agent (only that user's
  phones ring: no forwards, no voicemail; an agent in do-not-disturb is busy);
* ``queue-<queue>-failover``: the maximum wait passed; the queue's failover destination.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from provd.domain.errors import InvalidInput

SERVICE_PREFIX = "queue-"
"""Kamailio sends a queue's calls to the media application as ``queue-<queue>``."""
FAILOVER: Literal["failover"] = "failover"

RING_SECONDS = (5, 120)
"""How long one agent (or all of them, for ring_all) rings before the next offer."""
DEFAULT_RING_SECONDS = 15
MAX_WAIT_SECONDS = (10, 3600)
DEFAULT_MAX_WAIT_SECONDS = 300
PERIODIC_SECONDS = (10, 600)
DEFAULT_PERIODIC_SECONDS = 40
"""The product brief's "infotainment every 40 s"."""
MAX_AGENTS = 50
RETRY_SECONDS = 3.0
"""After an offer found nobody free or nobody answered, the next try waits this long,
so that a queue with every agent busy does not spin."""


YOU_ARE_CALLER = "queue-you-are-caller"
"""Before the caller's position, said digit by digit like the mailbox's counts."""
PROMPTS: dict[str, str] = {YOU_ARE_CALLER: "You are caller number"}
"""The queue's spoken words (provd.domain.prompts lists every prompt)."""


def position_prompts(position: int) -> list[str]:
    """What a caller hears of their place in the queue: the words, then its digits
    (the digit prompts are the mailbox's, ``0``-``9``)."""
    if position < 1:
        raise ValueError(f"a position counts from 1, not {position}")
    return [YOU_ARE_CALLER, *str(position)]


class Strategy(StrEnum):
    RING_ALL = "ring_all"
    LONGEST_IDLE = "longest_idle"
    FEWEST_CALLS = "fewest_calls"
    RANDOM = "random"
    LEAST_TALK_TIME = "least_talk_time"


def check_strategy(text: str, *, field: str = "strategy") -> Strategy:
    try:
        return Strategy(text.strip().lower().replace("-", "_"))
    except ValueError:
        names = ", ".join(s.value for s in Strategy)
        raise InvalidInput(field, f"{text!r} is not a strategy: use {names}") from None


def _check_range(value: object, bounds: tuple[int, int], field: str) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(field, f"{value!r} is not a number of seconds")
    try:
        seconds = int(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a number of seconds") from None
    if not low <= seconds <= high:
        raise InvalidInput(field, f"{seconds} s is outside {low}-{high} s")
    return seconds


def check_ring_seconds(value: object, *, field: str = "ring_seconds") -> int:
    return _check_range(value, RING_SECONDS, field)


def check_max_wait(value: object, ring: int, *, field: str = "max_wait_seconds") -> int:
    """The longest a caller waits before the failover; at least one agent's ring time,
    as a shorter wait would never let an agent answer."""
    wait = _check_range(value, MAX_WAIT_SECONDS, field)
    if wait < ring:
        raise InvalidInput(
            field, f"a maximum wait of {wait} s is shorter than the ring time ({ring} s)"
        )
    return wait


def check_periodic_seconds(value: object, *, field: str = "periodic_seconds") -> int:
    return _check_range(value, PERIODIC_SECONDS, field)


@dataclass(frozen=True)
class AgentStats:
    """An agent's queue calls since logging in (``since``), as the media application
    counts them."""

    since: datetime
    calls: int = 0
    talk_s: float = 0.0
    last_call_end: datetime | None = None


@dataclass(frozen=True)
class Agent:
    extension: str
    stats: AgentStats


def offers(
    strategy: Strategy, free: Sequence[Agent], rng: random.Random | None = None
) -> list[tuple[str, ...]]:
    """The offers to make, in turn, among the ``free`` agents (logged in, not on a
    queue call, not being offered another caller), in the queue's agent order: each
    offer rings its agents together. One offer of everybody for ring_all, else one
    agent per offer in the strategy's order."""
    if not free:
        return []
    if strategy is Strategy.RING_ALL:
        return [tuple(a.extension for a in free)]
    position = {a.extension: i for i, a in enumerate(free)}
    ordered: list[Agent]
    if strategy is Strategy.RANDOM:
        ordered = list(free)
        (rng or random.Random()).shuffle(ordered)
    elif strategy is Strategy.LONGEST_IDLE:
        # Never finished a call since login: idle since the login itself.
        ordered = sorted(
            free,
            key=lambda a: (a.stats.last_call_end or a.stats.since, position[a.extension]),
        )
    elif strategy is Strategy.FEWEST_CALLS:
        ordered = sorted(free, key=lambda a: (a.stats.calls, position[a.extension]))
    elif strategy is Strategy.LEAST_TALK_TIME:
        ordered = sorted(free, key=lambda a: (a.stats.talk_s, position[a.extension]))
    else:  # pragma: no cover - every Strategy is handled above
        raise AssertionError(strategy)
    return [(a.extension,) for a in ordered]


def after_call(stats: AgentStats, *, talk_s: float, ended: datetime) -> AgentStats:
    """An agent's stats once a queue call they answered has ended."""
    return AgentStats(
        since=stats.since,
        calls=stats.calls + 1,
        talk_s=stats.talk_s + max(0.0, talk_s),
        last_call_end=ended,
    )


# ---- Request-URI users -----------------------------------------------------------------

_EXT = r"[0-9]{2,5}"
_REQUEST_USER = re.compile(rf"queue-({_EXT})-(?:agent-({_EXT})|(failover))")


def request_user(queue: str) -> str:
    """What Kamailio sends the media application a queue's call as."""
    return f"{SERVICE_PREFIX}{queue}"


def agent_request_user(queue: str, agent: str) -> str:
    return f"{SERVICE_PREFIX}{queue}-agent-{agent}"


def failover_request_user(queue: str) -> str:
    return f"{SERVICE_PREFIX}{queue}-{FAILOVER}"


@dataclass(frozen=True)
class AgentOffer:
    queue: str
    agent: str


@dataclass(frozen=True)
class QueueFailover:
    queue: str


def parse_request_user(text: str) -> AgentOffer | QueueFailover | None:
    """What a call back from the media application for a queue is, or None."""
    match = _REQUEST_USER.fullmatch(text)
    if match is None:
        return None
    queue, agent, failover = match.groups()
    if failover:
        return QueueFailover(queue)
    return AgentOffer(queue, agent)


@dataclass(frozen=True)
class QueueStats:
    """A queue's figures over a period, from the queue calls recorded in it."""

    answered: int = 0
    abandoned: int = 0
    failed_over: int = 0
    wait_s_total: float = 0.0
    longest_wait_s: float = 0.0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.failed_over

    @property
    def average_wait_s(self) -> float:
        """Over every caller who left the queue, answered or not (0 with none)."""
        return self.wait_s_total / self.offered if self.offered else 0.0


Outcome = Literal["answered", "abandoned", "failover"]
OUTCOMES: tuple[Outcome, ...] = ("answered", "abandoned", "failover")


def add_call(stats: QueueStats, outcome: Outcome, wait_s: float) -> QueueStats:
    wait = max(0.0, wait_s)
    return QueueStats(
        answered=stats.answered + (outcome == "answered"),
        abandoned=stats.abandoned + (outcome == "abandoned"),
        failed_over=stats.failed_over + (outcome == "failover"),
        wait_s_total=stats.wait_s_total + wait,
        longest_wait_s=max(stats.longest_wait_s, wait),
    )


def summarise(calls: Sequence[tuple[Outcome, float]]) -> QueueStats:
    stats = QueueStats()
    for outcome, wait in calls:
        stats = add_call(stats, outcome, wait)
    return stats


def agent_order(agents: Mapping[str, AgentStats], order: Sequence[str]) -> list[Agent]:
    """``agents`` as :class:`Agent` in the queue's ``order`` (unknown ones last)."""
    rank = {ext: i for i, ext in enumerate(order)}
    return [
        Agent(ext, stats)
        for ext, stats in sorted(agents.items(), key=lambda kv: (rank.get(kv[0], 1 << 30), kv[0]))
    ]
