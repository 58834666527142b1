"""Hunt groups: extensions shared with users, members in order, overflow destinations,
refusals naming the field with nothing written, and removal refused while in use."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, HuntGroupMember
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import groups, numbers
from provd.services.directory import forwarding, tenants, user_view, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.call_handling_state import written


async def _office(platform: Platform) -> None:
    for ext, name in (("201", "Front Desk"), ("202", "Back Office"), ("203", "Sales Desk")):
        await users.add_user(platform, A, "default", ext, name)


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def test_a_group_is_added_with_its_settings_and_one_audit_row(office: Platform) -> None:
    view = await groups.add_group(
        office, A, "default", "600", "Sales", "circular", ring_seconds=20, total_wait_seconds=60,
        overflow="user:201",
    )  # fmt: skip
    assert view == {
        "tenant": "default",
        "extension": "600",
        "name": "Sales",
        "policy": "circular",
        "ring_seconds": 20,
        "total_wait_seconds": 60,
        "overflow": {"kind": "user", "key": "201", "name": "Front Desk", "text": "user:201"},
        "members": [],
        "numbers": [],
        "last_answered": None,
    }
    row = await AuditEntry.filter(action="group.add").get()
    assert (row.object_type, row.object_key, row.after) == ("group", "default/600", view)
    defaults = await groups.add_group(office, A, "default", "601", "Support", "Simultaneous")
    assert (defaults["policy"], defaults["ring_seconds"], defaults["total_wait_seconds"]) == (
        "simultaneous",
        15,
        0,
    )
    assert defaults["overflow"] is None
    assert [g["extension"] for g in await groups.list_groups("default")] == ["600", "601"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"extension": "6"}, "extension"),
        ({"extension": "201"}, "extension"),  # a user's
        ({"name": " "}, "name"),
        ({"name": "Sales\nTeam"}, "name"),
        ({"policy": "random"}, "policy"),
        ({"ring_seconds": 4}, "ring_seconds"),
        ({"ring_seconds": 121}, "ring_seconds"),
        ({"total_wait_seconds": 901}, "total_wait_seconds"),
        ({"total_wait_seconds": -1}, "total_wait_seconds"),
        ({"total_wait_seconds": 10}, "total_wait_seconds"),  # shorter than the ring time
        ({"overflow": "user:299"}, "overflow"),
        ({"overflow": "group:699"}, "overflow"),
        ({"overflow": "scheduled:Nowhere"}, "overflow"),
        ({"overflow": "external:112"}, "overflow"),
        ({"overflow": "external:0201234"}, "overflow"),  # too short to dial
        ({"overflow": "voicemail:299"}, "overflow"),
        ({"overflow": "user:"}, "overflow"),
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    before = await written()
    args: dict[str, Any] = {"extension": "600", "name": "Sales", "policy": "fixed"} | kwargs
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await groups.add_group(
            office,
            A,
            "default",
            args.pop("extension"),
            args.pop("name"),
            args.pop("policy"),
            **args,
        )
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_extensions_are_shared_by_users_and_groups_both_ways(office: Platform) -> None:
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    before = await written()
    with pytest.raises(
        Conflict, match="already exists in default \\(group 600, Sales\\)"
    ) as as_user:
        await users.add_user(office, A, "default", "600", "Someone")
    assert as_user.value.field == "extension"
    with pytest.raises(Conflict, match="\\(group 600, Sales\\)") as renamed:
        await user_view.update_user(office, A, "default", "201", new_extension="600")
    assert renamed.value.field == "extension"
    with pytest.raises(Conflict, match="\\(user 201, Front Desk\\)"):
        await groups.add_group(office, A, "default", "201", "Desk", "fixed")
    with pytest.raises(Conflict, match="\\(group 600, Sales\\)"):
        await groups.add_group(office, A, "default", "600", "Again", "fixed")
    assert await written() == before
    # Another tenant's extensions are its own.
    await tenants.add_tenant(office, A, "acme")
    await users.add_user(office, A, "acme", "600", "Acme's 600")
    await groups.add_group(office, A, "acme", "201", "Acme desk", "fixed")


async def test_members_in_order_inserted_and_removed_without_gaps(office: Platform) -> None:
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    await groups.add_member(office, A, "default", "600", user="201")
    await groups.add_member(office, A, "default", "600", external="06 1234 5678")
    view = await groups.add_member(office, A, "default", "600", user="202", position=1)
    assert [(m["position"], m["kind"], m["key"], m["name"]) for m in view["members"]] == [
        (1, "user", "202", "Back Office"),
        (2, "user", "201", "Front Desk"),
        (3, "external", "+31612345678", ""),
    ]
    view = await groups.add_member(office, A, "default", "600", user="203", position=3)
    assert [m["key"] for m in view["members"]] == ["202", "201", "203", "+31612345678"]

    view = await groups.remove_member(office, A, "default", "600", position=1)
    assert [(m["position"], m["key"]) for m in view["members"]] == [
        (1, "201"),
        (2, "203"),
        (3, "+31612345678"),
    ]
    view = await groups.remove_member(office, A, "default", "600", external="+31612345678")
    view = await groups.remove_member(office, A, "default", "600", user="201")
    assert [(m["position"], m["key"]) for m in view["members"]] == [(1, "203")]

    rows = await AuditEntry.filter(object_type="group").order_by("id")
    assert [r.action for r in rows] == ["group.add"] + ["group.member.add"] * 4 + [
        "group.member.remove"
    ] * 3
    assert [m["key"] for m in (rows[-1].before or {})["members"]] == ["201", "203"]
    assert [m["key"] for m in (rows[-1].after or {})["members"]] == ["203"]


@pytest.mark.parametrize(
    ("kwargs", "field", "error"),
    [
        ({"user": "201"}, "user", Conflict),  # already a member
        ({"external": "+31612345678"}, "external", Conflict),  # already a member
        ({"user": "299"}, "user", NotFound),
        ({"user": "700"}, "user", NotFound),  # acme's user
        ({"external": "112"}, "external", InvalidInput),
        ({"external": "hello"}, "external", InvalidInput),
        ({"user": "202", "external": "+31612345679"}, "external", InvalidInput),
        ({}, "user", InvalidInput),
        ({"user": "202", "position": 0}, "position", InvalidInput),
        ({"user": "202", "position": 4}, "position", InvalidInput),
    ],
)
async def test_member_refusals_write_nothing(
    office: Platform, kwargs: dict[str, Any], field: str, error: type[Exception]
) -> None:
    await tenants.add_tenant(office, A, "acme")
    await users.add_user(office, A, "acme", "700", "Not ours")
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    await groups.add_member(office, A, "default", "600", user="201")
    await groups.add_member(office, A, "default", "600", external="0612345678")
    before = await written()
    with pytest.raises(error) as refused:
        await groups.add_member(office, A, "default", "600", **kwargs)
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_removing_a_member_that_is_not_one_is_refused(office: Platform) -> None:
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    await groups.add_member(office, A, "default", "600", user="201")
    before = await written()
    for kwargs, field in (
        ({"user": "202"}, "user"),
        ({"external": "0612345678"}, "external"),
        ({"position": 2}, "position"),
        ({"user": "201", "position": 1}, "position"),
        ({}, "member"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await groups.remove_member(office, A, "default", "600", **kwargs)
        assert refused.value.field == field
    assert await written() == before


async def test_update_checks_the_values_together(office: Platform) -> None:
    await groups.add_group(
        office, A, "default", "600", "Sales", "fixed", ring_seconds=15, total_wait_seconds=30
    )
    before = await written()
    with pytest.raises(InvalidInput) as longer_ring:
        await groups.update_group(office, A, "default", "600", ring_seconds=45)
    assert longer_ring.value.field == "ring_seconds"
    with pytest.raises(InvalidInput) as itself:
        await groups.update_group(office, A, "default", "600", name="X", overflow="group:600")
    assert itself.value.field == "overflow"
    with pytest.raises(InvalidInput) as nothing:
        await groups.update_group(office, A, "default", "600")
    assert nothing.value.field == "settings"
    with pytest.raises(NotFound) as missing:
        await groups.update_group(office, A, "default", "699", name="X")
    assert missing.value.field == "extension"
    assert await written() == before

    view = await groups.update_group(
        office, A, "default", "600", ring_seconds=45, total_wait_seconds=0, policy="longest-idle",
        overflow="external:+32 2 555 12 12",
    )  # fmt: skip
    assert (view["ring_seconds"], view["total_wait_seconds"], view["policy"]) == (
        45,
        0,
        "longest_idle",
    )
    assert view["overflow"]["text"] == "external:+3225551212"
    cleared = await groups.update_group(office, A, "default", "600", overflow="none")
    assert cleared["overflow"] is None
    row = await AuditEntry.filter(action="group.set").order_by("-id").first()
    assert row is not None and (row.before or {})["overflow"]["kind"] == "external"


async def test_a_group_in_use_is_not_removed(office: Platform) -> None:
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    await groups.add_group(office, A, "default", "601", "Support", "fixed", overflow="group:600")
    await groups.add_member(office, A, "default", "600", user="201")
    await forwarding.set_forwarding(office, A, "default", "202", busy="group:600")
    await numbers.add_block(office, A, "+31201234500", 1, "default")
    await numbers.assign(office, A, "+31201234500", group="600")
    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await groups.remove_group(office, A, "default", "600")
    assert refused.value.field == "extension"
    message = refused.value.message
    for use in ("user 202's forwarding (busy)", "group 601's overflow", "number +31201234500"):
        assert use in message
    assert await written() == before

    await numbers.release(office, A, "+31201234500")
    await forwarding.set_forwarding(office, A, "default", "202", clear=["busy"])
    await groups.update_group(office, A, "default", "601", overflow="none")
    await groups.remove_group(office, A, "default", "600")
    assert await HuntGroupMember.all().count() == 0
    row = await AuditEntry.filter(action="group.remove").get()
    assert row.object_key == "default/600"
    assert [m["key"] for m in (row.before or {})["members"]] == ["201"]


async def test_a_user_a_group_points_at_is_not_removed(office: Platform) -> None:
    await groups.add_group(office, A, "default", "600", "Sales", "fixed", overflow="user:202")
    await groups.add_member(office, A, "default", "600", user="201")
    before = await written()
    with pytest.raises(InvalidInput, match="member of group 600") as member:
        await users.remove_user(office, A, "default", "201")
    assert member.value.field == "extension"
    with pytest.raises(InvalidInput, match="group 600's overflow"):
        await users.remove_user(office, A, "default", "202")
    assert await written() == before
    await groups.remove_member(office, A, "default", "600", user="201")
    await users.remove_user(office, A, "default", "201")


async def test_another_tenants_groups_are_invisible(office: Platform) -> None:
    await tenants.add_tenant(office, A, "acme")
    await groups.add_group(office, A, "acme", "600", "Acme sales", "fixed")
    await groups.add_group(office, A, "default", "601", "Ours", "fixed")
    assert [g["tenant"] for g in await groups.list_groups("default")] == ["default"]
    assert {g["tenant"] for g in await groups.list_groups()} == {"acme", "default"}
    with pytest.raises(NotFound):
        await groups.show_group("default", "600")
    with pytest.raises(NotFound) as overflow:
        await groups.update_group(office, A, "default", "601", overflow="group:600")
    assert overflow.value.field == "overflow"
    assert (await groups.show_group("acme", "600"))["name"] == "Acme sales"
