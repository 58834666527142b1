"""Call queues, their agents, logins and figures."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination

_SOUND = "A sound of the tenant, by name"
_STRATEGY = (
    "ring_all, longest_idle, fewest_calls, random or least_talk_time (counts since the"
    " agent logged in)"
)
_AGENTS = "Users' extensions, in the queue's order"


class QueueIn(Body):
    extension: str = Field(
        description="2 to 5 digits, no user's, group's, menu's or queue's of the tenant"
    )
    name: str = Field(description="Shown before the caller on the agent's phone")
    strategy: str = Field(default="ring_all", description=_STRATEGY)
    ring_seconds: int = Field(default=15, description="How long an offer rings, 5 to 120")
    max_wait_seconds: int = Field(
        default=300, description="Before the failover, 10 to 3600 and at least the ring time"
    )
    failover: str | None = Field(
        default=None, description=f"After the maximum wait ({WRITTEN}); null: hang up"
    )
    moh: str | None = Field(default=None, description=f"{_SOUND}; null: the tenant's music")
    intro: str | None = Field(default=None, description=f"{_SOUND}, played once; null: none")
    periodic: str | None = Field(default=None, description=f"{_SOUND}, repeated; null: none")
    periodic_seconds: int = Field(default=40, description="Between periodic messages, 10 to 600")
    announce_position: bool = False
    agents: list[str] = Field(default_factory=list, description=_AGENTS)


class QueuePut(Body):
    """The whole queue but its extension and agents: what is left out takes its default."""

    name: str
    strategy: str = Field(default="ring_all", description=_STRATEGY)
    ring_seconds: int = 15
    max_wait_seconds: int = 300
    failover: str | None = Field(default=None, description=f"{WRITTEN}; null: hang up")
    moh: str | None = Field(default=None, description=f"{_SOUND}; null: the tenant's music")
    intro: str | None = None
    periodic: str | None = None
    periodic_seconds: int = 40
    announce_position: bool = False


class Agent(View):
    extension: str
    name: str
    position: int
    logged_in: bool
    logged_in_at: str | None = Field(description="Since when, while logged in")


class Queue(View):
    tenant: str
    extension: str
    name: str
    strategy: Literal["ring_all", "longest_idle", "fewest_calls", "random", "least_talk_time"]
    ring_seconds: int
    max_wait_seconds: int
    failover: Destination | None = Field(description="null: the call ends")
    moh: str | None
    intro: str | None
    periodic: str | None
    periodic_seconds: int
    announce_position: bool
    agents: list[Agent]
    numbers: list[str] = Field(description="The numbers assigned to the queue (E.164)")


class AgentIn(Body):
    agent: str = Field(description="A user's extension")
    position: int | None = Field(default=None, description="1 is first; null: last")


class AgentsOrder(Body):
    agents: list[str] = Field(description=f"{_AGENTS}: every agent, each once")


class Login(View):
    agent: str
    logged_in: bool
    changed: list[str] = Field(description="The queues whose login changed")
    unchanged: list[str] = Field(description="The queues that were so already")


class AgentFigures(View):
    extension: str
    name: str
    answered: int
    talk_s: float


class QueueStats(View):
    tenant: str
    queue: str
    period: Literal["today", "7d"]
    since: str
    until: str
    offered: int
    answered: int
    abandoned: int
    failed_over: int
    average_wait_s: float
    longest_wait_s: float
    agents: list[AgentFigures]
    waiting: int = Field(description="Callers waiting now (the media application's last word)")
