"""The callers' records the media application spools, filed once each as QueueCall rows
(an unreadable one or one for no tenant set aside), and the figures counted from them:
a queue's over a period, each agent's, and an agent's since logging in for the media
application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provd.db.models import QueueCall
from provd.domain import queues as rules
from provd.domain.errors import InvalidInput
from provd.media import queue_files
from provd.services import queues
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.queues import agents, stats
from provd.services.queues.collector import BAD_DIR, QueueCollector, collect
from provd.services.queues.media import media_queues
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _office(platform: Platform) -> None:
    for ext, name in (("201", "Front Desk"), ("202", "Back Office")):
        await users.add_user(platform, A, "default", ext, name)
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201", "202"])


platform_start = starting_from(_office)


def _call(
    domain: str,
    n: int,
    outcome: rules.Outcome,
    *,
    wait_s: float,
    agent: str | None = None,
    talk_s: float = 0.0,
    queue: str = "800",
    at: datetime = T0,
) -> queue_files.QueueCall:
    entered = at + timedelta(minutes=n)
    return queue_files.QueueCall(
        id=f"20261207T09{n:04d}-{n:012x}",
        domain=domain,
        queue=queue,
        call_id=f"call-{n}",
        caller="0612345678",
        caller_number="+31612345678",
        entered_at=entered,
        left_at=entered + timedelta(seconds=wait_s + talk_s),
        outcome=outcome,
        wait_s=wait_s,
        agent=agent,
        talk_s=talk_s,
    )


def _media(platform: Platform) -> Path:
    return platform.data_dir / "pbx" / "media"


async def _domain() -> str:
    return (await tenants.get_tenant("default")).sip_domain


async def test_records_are_filed_once_and_their_files_removed(platform: Platform) -> None:
    media, domain = _media(platform), await _domain()
    first = _call(domain, 1, "answered", wait_s=12.5, agent="201", talk_s=64.0)
    queue_files.write_queue_call(media, first)
    queue_files.write_queue_call(media, _call(domain, 2, "abandoned", wait_s=30))
    filed = await QueueCollector(media).collect()
    assert [r.spool_id for r in filed] == [first.id, _call(domain, 2, "abandoned", wait_s=30).id]
    row = await QueueCall.get(spool_id=first.id)
    assert (row.queue_extension, row.outcome, row.agent_extension, row.wait_ms, row.talk_ms) == (
        "800", "answered", "201", 12500, 64000,
    )  # fmt: skip
    assert not list((media / queue_files.CALLS_DIR).glob("*.json"))
    # A crash after the commit, before the file went: read again, filed once.
    queue_files.write_queue_call(media, first)
    assert await collect(media) == []
    assert await QueueCall.all().count() == 2
    assert not list((media / queue_files.CALLS_DIR).glob("*.json"))


async def test_unusable_records_are_set_aside(platform: Platform) -> None:
    media, domain = _media(platform), await _domain()
    calls = media / queue_files.CALLS_DIR
    calls.mkdir(parents=True)
    (calls / "garbled.json").write_text("{not json")
    queue_files.write_queue_call(media, _call("nobody.test", 3, "failover", wait_s=300))
    queue_files.write_queue_call(media, _call(domain, 4, "abandoned", wait_s=3, queue="899"))
    filed = await collect(media)
    # A queue removed since still counts for its tenant, with no queue.
    assert [(r.queue_id, r.queue_extension) for r in filed] == [(None, "899")]  # type: ignore[attr-defined]
    assert sorted(p.name for p in (media / BAD_DIR).iterdir()) == [
        "20261207T090003-000000000003.json",
        "garbled.json",
    ]


async def test_a_queues_figures_over_a_period_and_per_agent(platform: Platform) -> None:
    media, domain = _media(platform), await _domain()
    for call in (
        _call(domain, 1, "answered", wait_s=10, agent="201", talk_s=60),
        _call(domain, 2, "answered", wait_s=20, agent="201", talk_s=30),
        _call(domain, 3, "answered", wait_s=30, agent="202", talk_s=15),
        _call(domain, 4, "abandoned", wait_s=40),
        _call(domain, 5, "failover", wait_s=300),
        _call(domain, 6, "answered", wait_s=5, agent="202", talk_s=5, at=T0 - timedelta(days=3)),
    ):
        queue_files.write_queue_call(media, call)
    await collect(media)
    figures = await stats.queue_stats("default", "800", T0, T0 + timedelta(hours=1))
    assert {k: v for k, v in figures.items() if k not in ("agents", "since", "until")} == {
        "tenant": "default",
        "queue": "800",
        "offered": 5,
        "answered": 3,
        "abandoned": 1,
        "failed_over": 1,
        "average_wait_s": 80.0,
        "longest_wait_s": 300.0,
    }
    assert figures["agents"] == [
        {"extension": "201", "name": "Front Desk", "answered": 2, "talk_s": 90.0},
        {"extension": "202", "name": "Back Office", "answered": 1, "talk_s": 15.0},
    ]
    week = await stats.period_stats(platform, "default", "800", "7d", T0 + timedelta(hours=1))
    assert week["answered"] == 4 and week["period"] == "7d"
    today = await stats.period_stats(platform, "default", "800", "today", T0 + timedelta(hours=1))
    assert today["answered"] == 3
    with pytest.raises(InvalidInput) as caught:
        await stats.period_stats(platform, "default", "800", "forever", T0)
    assert caught.value.field == "period"
    assert await stats.calls_by_outcome() == {"answered": 4, "abandoned": 1, "failover": 1}


async def test_an_agents_figures_since_login_go_to_the_media_application(
    platform: Platform,
) -> None:
    media, domain = _media(platform), await _domain()
    await agents.set_login(platform, A, "default", "201", True, at=T0 + timedelta(minutes=2))
    for call in (
        # Before the login: not counted.
        _call(domain, 1, "answered", wait_s=10, agent="201", talk_s=30),
        _call(domain, 3, "answered", wait_s=10, agent="201", talk_s=40),
        _call(domain, 5, "answered", wait_s=10, agent="201", talk_s=20),
        _call(domain, 6, "answered", wait_s=10, agent="202", talk_s=20),
    ):
        queue_files.write_queue_call(media, call)
    await collect(media)
    [agent] = (await media_queues())[domain]["800"].agents
    assert agent.extension == "201"
    assert agent.stats == rules.AgentStats(
        since=T0 + timedelta(minutes=2),
        calls=2,
        talk_s=60.0,
        last_call_end=T0 + timedelta(minutes=5, seconds=30),
    )
