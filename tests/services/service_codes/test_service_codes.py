"""Service codes carried out as the user who dialled them: through the same services,
validated and audited the same way, and the routing table rebuilt."""

from __future__ import annotations

import pytest

from provd.db.models import AuditEntry, QueueAgent, Schedule, User
from provd.domain.routing import Service
from provd.domain.service_codes import parse
from provd.services import queues, schedules
from provd.services.directory import forwarding, users
from provd.services.platform import Platform
from provd.services.service_codes import BAD_INPUT, DONE, REFUSED, ServiceCodes, tenant_codes
from tests.conftest import TEST_ACTOR as A


class Refreshes:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


@pytest.fixture
async def codes(platform: Platform) -> tuple[ServiceCodes, Refreshes]:
    for ext in ("201", "202"):
        await users.add_user(platform, A, "default", ext, f"User {ext}")
    refreshes = Refreshes()
    return ServiceCodes(platform, refreshes), refreshes


def dialled(text: str, ext: str = "201") -> Service:
    code = parse(text)
    assert code is not None
    return Service(code, "default", ext)


async def test_forwards_are_set_and_cleared_from_the_phone(
    codes: tuple[ServiceCodes, Refreshes],
) -> None:
    service, refreshes = codes
    outcome = await service.carry_out(dialled("*21*202#"))
    assert (outcome.code, outcome.reason) == (DONE, "Done: forward always to 202")
    outcome = await service.carry_out(dialled("*61*0612345678#"))
    assert outcome.code == DONE
    shown = await forwarding.get_forwarding("default", "201")
    assert shown["always"]["text"] == "user:202"
    assert shown["no_answer"]["text"] == "external:+31612345678"
    row = await AuditEntry.filter(actor="phone:201@default").order_by("-id").first()
    assert row is not None
    assert (await service.carry_out(dialled("#002#"))).code == DONE
    shown = await forwarding.get_forwarding("default", "201")
    assert shown["always"] is None and shown["no_answer"] is None
    assert refreshes.count == 3


async def test_a_bad_forward_target_is_refused_and_changes_nothing(
    codes: tuple[ServiceCodes, Refreshes],
) -> None:
    service, refreshes = codes
    before = await AuditEntry.all().count()
    outcome = await service.carry_out(dialled("*21*112#"))
    assert outcome.code == BAD_INPUT and outcome.reason.startswith("Not done:")
    assert await AuditEntry.all().count() == before
    assert refreshes.count == 0


async def test_do_not_disturb_from_the_phone(codes: tuple[ServiceCodes, Refreshes]) -> None:
    service, _ = codes
    assert (await service.carry_out(dialled("*78"))).reason == "Done: do-not-disturb on"
    assert (await User.get(extension="201")).dnd is True
    assert (await service.carry_out(dialled("*79"))).code == DONE
    assert (await User.get(extension="201")).dnd is False


async def test_only_users_with_the_right_flip_the_night_switch(
    platform: Platform, codes: tuple[ServiceCodes, Refreshes]
) -> None:
    service, _ = codes
    await schedules.add_schedule(platform, A, "default", "office", ["mon-fri 08:00-17:00"])
    outcome = await service.carry_out(dialled("*915"))
    assert outcome.code == REFUSED
    assert (await Schedule.get(name="office")).override_state is None
    await User.filter(extension="201").update(may_switch_night=True)
    assert (await service.carry_out(dialled("*915"))).reason == "Done: night switch office on"
    assert (await Schedule.get(name="office")).override_state == "closed"
    assert (await service.carry_out(dialled("*915"))).reason == "Done: night switch office auto"
    assert (await Schedule.get(name="office")).override_state is None
    assert (await service.carry_out(dialled("*915*2#"))).code == REFUSED  # no second schedule


async def test_agents_log_in_and_out_of_their_queues_from_the_phone(
    platform: Platform, codes: tuple[ServiceCodes, Refreshes]
) -> None:
    service, refreshes = codes
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201"])
    await queues.add_queue(platform, A, "default", "801", "Sales", agents=["201", "202"])
    outcome = await service.carry_out(dialled("*903"))
    assert (outcome.code, outcome.reason) == (DONE, "Done: logged in to queue 800, 801")
    rows = await AuditEntry.filter(actor="phone:201@default", action="queue.login").count()
    assert rows == 2
    outcome = await service.carry_out(dialled("*904*801#"))
    assert outcome.reason == "Done: logged out of queue 801"
    assert (await service.carry_out(dialled("*903*800#"))).reason == (
        "Done: already logged in to queue 800"
    )
    assert (await tenant_codes("default"))["agent_lamps"] == [
        {"code": "*903*201", "agent": "201", "name": "User 201", "logged_in": True},
        {"code": "*903*202", "agent": "202", "name": "User 202", "logged_in": False},
    ]
    assert refreshes.count == 3


async def test_a_queue_the_user_is_no_agent_of_is_refused_with_the_reason(
    platform: Platform, codes: tuple[ServiceCodes, Refreshes]
) -> None:
    service, refreshes = codes
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["202"])
    before = await AuditEntry.all().count()
    outcome = await service.carry_out(dialled("*903*800#"))
    assert (outcome.code, outcome.reason) == (
        REFUSED,
        "Not done: queue: user 201 is not an agent of queue 800",
    )
    outcome = await service.carry_out(dialled("*903"))
    assert outcome.reason == "Not done: agent: user 201 is not an agent of any queue"
    assert (await service.carry_out(dialled("*904*899#"))).code == REFUSED
    assert await AuditEntry.all().count() == before
    assert refreshes.count == 0


async def test_the_lamps_code_on_the_agents_own_phone_flips_every_login(
    platform: Platform, codes: tuple[ServiceCodes, Refreshes]
) -> None:
    service, _ = codes
    await queues.add_queue(platform, A, "default", "800", "Support", agents=["201"])
    await queues.add_queue(platform, A, "default", "801", "Sales", agents=["201"])
    await service.carry_out(dialled("*903*801#"))
    # Logged in to one: the key logs out of all.
    outcome = await service.carry_out(dialled("*903*201#"))
    assert outcome.reason == "Done: logged out of queue 801"
    outcome = await service.carry_out(dialled("*903*201#"))
    assert outcome.reason == "Done: logged in to queue 800, 801"
    assert await QueueAgent.filter(logged_in=True).count() == 2
    # A colleague's lamp code names no queue of theirs.
    assert (await service.carry_out(dialled("*903*201#", ext="202"))).code == REFUSED
