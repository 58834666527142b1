"""Number blocks: added whole or not at all, never overlapping, assigned per number,
invisible to other tenants, and removed only when nothing uses them."""

from __future__ import annotations

import pytest

from provd.db.models import AuditEntry, PhoneNumber
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.numbers import NumberBlock
from provd.services import groups, numbers, schedules
from provd.services.directory import tenants, users
from provd.services.numbers import NumberUse, UseKind
from provd.services.platform import Platform
from provd.services.schedules import routes
from tests.conftest import TEST_ACTOR as A


async def _audit_count() -> int:
    return await AuditEntry.all().count()


async def test_a_block_adds_each_of_its_numbers_with_one_audit_row(platform: Platform) -> None:
    before = await _audit_count()
    block = await numbers.add_block(platform, A, "020 123 4500", 100, "default")
    assert block == NumberBlock("+31201234500", 100)
    listed = await numbers.list_numbers()
    assert [v.e164 for v in listed] == block.numbers()
    assert {v.tenant for v in listed} == {"default"}
    assert listed[0].national == "0201234500"
    assert listed[0].describe_use() == "unused"
    assert await _audit_count() == before + 1
    row = await AuditEntry.all().order_by("-id").first()
    assert row is not None and row.action == "number.add"
    assert row.after == {
        "tenant": "default",
        "first": "+31201234500",
        "last": "+31201234599",
        "count": 100,
    }


@pytest.mark.parametrize(
    ("first", "count", "field"),
    [
        ("+31201234505", 10, "first"),
        ("+31201234500", 50, "count"),
        ("not a number", 1, "first"),
        ("+31201234550", 10, "first"),  # inside the existing hundred
        ("+31201234599", 1, "first"),
        ("+31201234500", 100, "first"),
    ],
)
async def test_malformed_or_overlapping_blocks_write_nothing(
    platform: Platform, first: str, count: int, field: str
) -> None:
    await numbers.add_block(platform, A, "+31201234500", 100, "default")
    before = (await PhoneNumber.all().count(), await _audit_count())
    with pytest.raises(InvalidInput) as e:
        await numbers.add_block(platform, A, first, count, "default")
    assert e.value.field == field
    assert (await PhoneNumber.all().count(), await _audit_count()) == before


async def test_an_overlap_with_another_tenant_is_refused_too(platform: Platform) -> None:
    await tenants.add_tenant(platform, A, "other")
    await numbers.add_block(platform, A, "+31201234500", 10, "other")
    with pytest.raises(Conflict, match=r"\+31201234500") as e:
        await numbers.add_block(platform, A, "+31201234500", 100, "default")
    assert "other" not in e.value.message
    with pytest.raises(NotFound) as nf:
        await numbers.add_block(platform, A, "+31201234600", 10, "nobody")
    assert nf.value.field == "tenant"


async def test_assign_and_release_one_number(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234510", 10, "default")
    view = await numbers.assign(platform, A, "020 123 45 12", "201")
    assert view.use == NumberUse(UseKind.USER, "201", "Front Desk")
    assert view.describe_use() == "in use by user 201 (Front Desk)"
    unused = await numbers.list_numbers("default", unused=True)
    assert "+31201234512" not in [v.e164 for v in unused] and len(unused) == 9
    with pytest.raises(Conflict, match="in use by user 201") as e:
        await numbers.assign(platform, A, "+31201234512", "201")
    assert e.value.field == "number"
    with pytest.raises(NotFound) as nf:
        await numbers.assign(platform, A, "+31201234513", "299")
    assert nf.value.field == "user"
    released = await numbers.release(platform, A, "+31201234512")
    assert released.use is None
    with pytest.raises(InvalidInput, match="not in use"):
        await numbers.release(platform, A, "+31201234512")
    actions = [r.action for r in await AuditEntry.filter(object_type="number").order_by("id")]
    assert actions == ["number.assign", "number.release"]


async def test_another_tenants_numbers_are_invisible(platform: Platform) -> None:
    await tenants.add_tenant(platform, A, "other")
    await users.add_user(platform, A, "other", "201", "Theirs")
    await users.add_user(platform, A, "default", "201", "Ours")
    await numbers.add_block(platform, A, "+31201234500", 10, "other")
    await numbers.add_block(platform, A, "+31201234510", 10, "default")
    assert {v.tenant for v in await numbers.list_numbers("default")} == {"default"}
    for attempt in (
        numbers.assign(platform, A, "+31201234501", "201", "default"),
        numbers.release(platform, A, "+31201234501", "default"),
        numbers.get_number("+31201234501", "default"),
        numbers.remove_block(platform, A, "+31201234500", "default"),
    ):
        with pytest.raises(NotFound):
            await attempt
    # Assigned without a tenant, the number's own tenant's user is meant.
    view = await numbers.assign(platform, A, "+31201234501", "201")
    assert view.tenant == "other" and view.use is not None and view.use.name == "Theirs"


async def test_a_block_in_use_is_not_removed(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234500", 100, "default")
    await numbers.assign(platform, A, "+31201234542", "201")
    with pytest.raises(InvalidInput, match=r"\+31201234542 in use by user 201") as e:
        await numbers.remove_block(platform, A, "+31201234500")
    assert e.value.field == "first"
    assert await PhoneNumber.all().count() == 100
    await numbers.release(platform, A, "+31201234542")
    with pytest.raises(NotFound):
        await numbers.remove_block(platform, A, "+31201234542")  # not a block's first
    removed = await numbers.remove_block(platform, A, "020 123 4500")
    assert removed == NumberBlock("+31201234500", 100)
    assert await PhoneNumber.all().count() == 0
    last = await AuditEntry.all().order_by("-id").first()
    assert last is not None and last.action == "number.remove"


async def test_a_user_holding_numbers_is_not_removed(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234517", 1, "default")
    await numbers.assign(platform, A, "+31201234517", "201")
    before = await _audit_count()
    with pytest.raises(InvalidInput, match=r"holds \+31201234517; release") as refused:
        await users.remove_user(platform, A, "default", "201")
    assert refused.value.field == "extension"
    assert await _audit_count() == before
    assert (await numbers.get_number("+31201234517")).use == NumberUse(
        UseKind.USER, "201", "Front Desk"
    )
    await numbers.release(platform, A, "+31201234517")
    await users.remove_user(platform, A, "default", "201")
    assert (await numbers.get_number("+31201234517")).use is None


async def test_a_number_is_assigned_to_exactly_one_user_group_or_route(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    await schedules.add_schedule(platform, A, "default", "Office", [])
    await routes.add_route(platform, A, "default", "Main hours", "Office", "group:600", "none")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    before = (await PhoneNumber.all().values(), await _audit_count())
    for kwargs, field in (
        ({}, "user"),
        ({"user_extension": "201", "group": "600"}, "group"),
        ({"group": "600", "route": "Main hours"}, "route"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await numbers.assign(platform, A, "+31201234500", **kwargs)
        assert refused.value.field == field
    for kwargs, field in (({"group": "699"}, "group"), ({"route": "Elsewhere"}, "route")):
        with pytest.raises(NotFound) as missing:
            await numbers.assign(platform, A, "+31201234500", **kwargs)
        assert missing.value.field == field
    assert (await PhoneNumber.all().values(), await _audit_count()) == before

    await numbers.assign(platform, A, "+31201234500", group="600")
    await numbers.assign(platform, A, "+31201234501", route="Main hours")
    await numbers.assign(platform, A, "+31201234502", "201")
    with pytest.raises(Conflict, match="in use by group 600 \\(Sales\\)"):
        await numbers.assign(platform, A, "+31201234500", route="Main hours")
    unused = await numbers.list_numbers("default", unused=True)
    assert len(unused) == 7 and "+31201234501" not in [v.e164 for v in unused]
    uses = {v.e164: v.describe_use() for v in await numbers.list_numbers("default")}
    assert uses["+31201234500"] == "in use by group 600 (Sales)"
    assert uses["+31201234501"] == "in use by route Main hours"
    released = await numbers.release(platform, A, "+31201234501")
    assert released.use is None
    row = await AuditEntry.filter(action="number.release").get()
    assert (row.before or {})["use"] == {"kind": "route", "key": "Main hours", "name": ""}
