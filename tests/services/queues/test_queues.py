"""Call queues: one extension space with users, groups and menus, settings checked per
field with nothing written on a refusal, failover resolved like any destination (never
the queue itself), agents added, ordered and removed, removal refused while in use, and
the queue as routing and the media application see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from provd.db.models import AuditEntry, Queue, QueueAgent
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.routing import QueueRouting, ToQueue, ToUser
from provd.services import groups, menus, numbers, queues
from provd.services.directory import forwarding, tenants, users
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.services.queues import agents
from provd.services.queues.media import media_queues
from provd.services.routing import load_table
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.menus.audio import tone_wav


async def _office(platform: Platform) -> None:
    for ext, name in (("201", "Front Desk"), ("202", "Back Office"), ("203", "Sales")):
        await users.add_user(platform, A, "default", ext, name)
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    for name in ("hold", "welcome", "still"):
        await sounds.add_sound(platform, A, "default", name, tone_wav(0.2))
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await tenants.add_tenant(platform, A, "acme")
    await users.add_user(platform, A, "acme", "301", "Acme desk")
    await sounds.add_sound(platform, A, "acme", "theirs", tone_wav(0.2))


platform_start = starting_from(_office)


async def _state() -> dict[str, Any]:
    return {
        "audit": await AuditEntry.all().count(),
        "queues": await Queue.all().order_by("id").values(),
        "agents": await QueueAgent.all().order_by("id").values(),
    }


async def test_a_queue_is_added_with_its_settings_agents_and_one_audit_row(
    platform: Platform,
) -> None:
    before = await AuditEntry.all().count()
    view = await queues.add_queue(
        platform, A, "default", "800", "Support",
        strategy="longest-idle", ring_seconds=20, max_wait_seconds=120, failover="group:600",
        moh="hold", intro="welcome", periodic="still", periodic_seconds=30,
        announce_position=True, agents=["202", "201"],
    )  # fmt: skip
    assert {k: v for k, v in view.items() if k != "agents"} == {
        "tenant": "default",
        "extension": "800",
        "name": "Support",
        "strategy": "longest_idle",
        "ring_seconds": 20,
        "max_wait_seconds": 120,
        "failover": {"kind": "group", "key": "600", "name": "Sales", "text": "group:600"},
        "moh": "hold",
        "intro": "welcome",
        "periodic": "still",
        "periodic_seconds": 30,
        "announce_position": True,
        "numbers": [],
    }
    assert [(a["extension"], a["position"], a["logged_in"]) for a in view["agents"]] == [
        ("202", 1, False),
        ("201", 2, False),
    ]
    rows = await AuditEntry.filter(id__gt=0).order_by("-id").limit(1)
    assert await AuditEntry.all().count() == before + 1
    assert rows[0].action == "queue.add" and rows[0].object_type == "queue"
    assert await queues.list_queues("default") == [view]
    assert await queues.show_queue("default", "800") == view


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"extension": "201"}, "extension"),
        ({"extension": "600"}, "extension"),
        ({"extension": "8"}, "extension"),
        ({"name": ""}, "name"),
        ({"strategy": "loudest"}, "strategy"),
        ({"ring_seconds": 4}, "ring_seconds"),
        ({"ring_seconds": "lots"}, "ring_seconds"),
        ({"ring_seconds": 60, "max_wait_seconds": 30}, "max_wait_seconds"),
        ({"max_wait_seconds": 4000}, "max_wait_seconds"),
        ({"periodic_seconds": 5}, "periodic_seconds"),
        ({"failover": "group:699"}, "failover"),
        ({"failover": "user:301"}, "failover"),
        ({"failover": "elsewhere"}, "failover"),
        ({"moh": "theirs"}, "moh"),
        ({"intro": "nothing"}, "intro"),
        ({"periodic": "../x"}, "periodic"),
        ({"announce_position": "yes"}, "announce_position"),
        ({"agents": ["201", "201"]}, "agents"),
        ({"agents": ["301"]}, "agents"),
        ({"agents": ["600"]}, "agents"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field_with_nothing_written(
    platform: Platform, kwargs: dict[str, Any], field: str
) -> None:
    given: dict[str, Any] = {"extension": "800", "name": "Support", **kwargs}
    before = await _state()
    with pytest.raises((InvalidInput, NotFound, Conflict)) as caught:
        await queues.add_queue(
            platform, A, "default", given.pop("extension"), given.pop("name"), **given
        )
    assert getattr(caught.value, "field", None) == field
    assert await _state() == before


async def test_a_queue_takes_an_extension_from_users_groups_and_menus(platform: Platform) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support")
    with pytest.raises(Conflict, match="queue 800, Support"):
        await users.add_user(platform, A, "default", "800", "Someone")
    with pytest.raises(Conflict, match="queue 800"):
        await groups.add_group(platform, A, "default", "800", "Dup", "fixed")
    with pytest.raises(Conflict, match="queue 800"):
        await menus.add_menu(platform, A, "default", "800", "Dup", "welcome")
    # Another tenant's extension space is its own.
    await queues.add_queue(platform, A, "acme", "800", "Theirs")


async def test_update_changes_what_is_given_and_refuses_the_queue_as_its_own_failover(
    platform: Platform,
) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", moh="hold")
    before = await _state()
    with pytest.raises(InvalidInput, match="loop") as caught:
        await queues.update_queue(platform, A, "default", "800", failover="queue:800")
    assert caught.value.field == "failover"
    assert await _state() == before
    await queues.add_queue(platform, A, "default", "801", "Overflow")
    view = await queues.update_queue(
        platform, A, "default", "800", failover="queue:801", moh="none", strategy="fewest_calls"
    )
    assert view["failover"]["text"] == "queue:801"
    assert view["moh"] is None and view["strategy"] == "fewest_calls"
    with pytest.raises(InvalidInput, match="nothing to change"):
        await queues.update_queue(platform, A, "default", "800")


async def test_max_wait_shorter_than_a_new_ring_time_names_ring_seconds(platform: Platform) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", max_wait_seconds=30)
    with pytest.raises(InvalidInput) as caught:
        await queues.update_queue(platform, A, "default", "800", ring_seconds=60)
    assert caught.value.field == "ring_seconds"


async def test_queue_is_a_destination_and_a_number_target_and_removal_is_refused_while_used(
    platform: Platform,
) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201"])
    await forwarding.set_forwarding(platform, A, "default", "202", busy="queue:800")
    await groups.update_group(platform, A, "default", "600", overflow="queue:800")
    await numbers.assign(platform, A, "+31201234501", queue="800")
    view = await queues.show_queue("default", "800")
    assert view["numbers"] == ["+31201234501"]
    before = await _state()
    with pytest.raises(InvalidInput) as caught:
        await queues.remove_queue(platform, A, "default", "800")
    assert caught.value.field == "extension"
    message = str(caught.value)
    assert "user 202's forwarding (busy)" in message
    assert "group 600's overflow" in message
    assert "number +31201234501" in message
    assert await _state() == before
    # A user who is an agent cannot be removed either.
    with pytest.raises(InvalidInput, match="agent of queue 800"):
        await users.remove_user(platform, A, "default", "201")
    await numbers.release(platform, A, "+31201234501")
    await forwarding.set_forwarding(platform, A, "default", "202", clear=["all"])
    await groups.update_group(platform, A, "default", "600", overflow="none")
    await queues.remove_queue(platform, A, "default", "800")
    assert not await Queue.exists() and not await QueueAgent.exists()
    await users.remove_user(platform, A, "default", "201")


async def test_a_sound_a_queue_plays_cannot_be_removed(platform: Platform) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", periodic="still")
    with pytest.raises(InvalidInput, match="queue 800's periodic message"):
        await sounds.remove_sound(platform, A, "default", "still")


async def test_agents_are_added_ordered_and_removed_with_gapless_positions(
    platform: Platform,
) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201"])
    await agents.add_agent(platform, A, "default", "800", "202")
    view = await agents.add_agent(platform, A, "default", "800", "203", position=1)
    assert [a["extension"] for a in view["agents"]] == ["203", "201", "202"]
    assert [a["position"] for a in view["agents"]] == [1, 2, 3]
    with pytest.raises(Conflict, match="already an agent"):
        await agents.add_agent(platform, A, "default", "800", "201")
    with pytest.raises(InvalidInput):
        await agents.add_agent(platform, A, "default", "800", "201", position=9)
    with pytest.raises(NotFound) as missing:
        await agents.add_agent(platform, A, "default", "800", "301")
    assert missing.value.field == "agent"
    before = await _state()
    with pytest.raises(InvalidInput, match="every agent"):
        await agents.order_agents(platform, A, "default", "800", ["201", "202"])
    assert await _state() == before
    view = await agents.order_agents(platform, A, "default", "800", ["202", "201", "203"])
    assert [a["extension"] for a in view["agents"]] == ["202", "201", "203"]
    view = await agents.remove_agent(platform, A, "default", "800", "201")
    assert [(a["extension"], a["position"]) for a in view["agents"]] == [("202", 1), ("203", 2)]
    rows = await AuditEntry.filter(object_type="queue").order_by("id")
    assert [r.action for r in rows] == [
        "queue.add", "queue.agent.add", "queue.agent.add", "queue.agents.order",
        "queue.agent.remove",
    ]  # fmt: skip


async def test_login_and_logout_of_every_queue_or_one_keeps_the_first_login_time(
    platform: Platform,
) -> None:
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201", "202"])
    await queues.add_queue(platform, A, "default", "801", "Sales", agents=["201"])
    await queues.add_queue(platform, A, "default", "802", "Other", agents=["202"])
    t1 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    change = await agents.set_login(platform, A, "default", "201", True, at=t1)
    assert change.changed == ("800", "801")
    t2 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    change = await agents.set_login(platform, A, "default", "201", True, queue="800", at=t2)
    assert change.changed == () and change.unchanged == ("800",)
    row = await QueueAgent.get(queue__extension="800", user__extension="201")
    assert row.logged_in and row.logged_in_at == t1
    before = await _state()
    with pytest.raises(Conflict, match="not an agent of queue 802") as caught:
        await agents.set_login(platform, A, "default", "201", True, queue="802")
    assert caught.value.field == "queue"
    with pytest.raises(Conflict, match="not an agent of any queue"):
        await agents.set_login(platform, A, "default", "203", True)
    with pytest.raises(NotFound):
        await agents.set_login(platform, A, "default", "201", True, queue="899")
    assert await _state() == before
    change = await agents.set_login(platform, A, "default", "201", False, queue="801")
    assert change.changed == ("801",)
    assert await agents.is_logged_in("default", "201")
    await agents.set_login(platform, A, "default", "201", False)
    assert not await agents.is_logged_in("default", "201")
    rows = await AuditEntry.filter(action__startswith="queue.log")
    assert sorted(r.action for r in rows) == [
        "queue.login",
        "queue.login",
        "queue.logout",
        "queue.logout",
    ]


async def test_routing_reads_every_agent_and_the_failover(platform: Platform) -> None:
    await queues.add_queue(
        platform, A, "default", "800", "Support", agents=["202", "201"], failover="user:203",
        ring_seconds=25,
    )  # fmt: skip
    await numbers.assign(platform, A, "+31201234501", queue="800")
    await agents.set_login(platform, A, "default", "201", True)
    table = await load_table()
    tenant = table.tenant_for_domain((await tenants.get_tenant("default")).sip_domain)
    assert tenant is not None
    assert tenant.queues == {
        "800": QueueRouting("800", "Support", ("202", "201"), ring_s=25, failover=ToUser("203"))
    }
    assert tenant.numbers["+31201234501"] == ToQueue("800")


async def test_the_media_application_gets_logged_in_agents_with_their_sounds(
    platform: Platform,
) -> None:
    await queues.add_queue(
        platform, A, "default", "800", "Support", agents=["202", "201", "203"], moh="hold",
        strategy="least_talk_time", failover="group:600",
    )  # fmt: skip
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    await agents.set_login(platform, A, "default", "203", True, at=at)
    await agents.set_login(platform, A, "default", "202", True, at=at)
    domain = (await tenants.get_tenant("default")).sip_domain
    config = (await media_queues())[domain]["800"]
    assert config.tenant == "default" and config.strategy.value == "least_talk_time"
    assert config.moh == "default/hold" and config.intro is None and config.has_failover
    assert [a.extension for a in config.agents] == ["202", "203"]
    assert config.agents[0].stats.since == at and config.agents[0].stats.calls == 0
