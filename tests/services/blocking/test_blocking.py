"""Incoming blocks: anonymous callers, a number or a prefix, for a tenant or one user,
optionally in one state of a schedule; refusals name the field and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, IncomingBlock
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import blocking, schedules
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.call_handling_state import written


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await schedules.add_schedule(platform, A, "default", "Office", ["mon-fri 08:00-17:00"])


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def test_blocks_of_each_kind_are_stored_in_e164(office: Platform) -> None:
    anonymous = await blocking.add_block(office, A, "default", anonymous=True)
    number = await blocking.add_block(office, A, "default", user="201", number="06-1234 5678")
    prefix = await blocking.add_block(office, A, "default", prefix="0900", when="Office:closed")
    assert anonymous == {
        "id": anonymous["id"],
        "tenant": "default",
        "user": None,
        "match": "anonymous",
        "pattern": None,
        "when": None,
        "description": "anonymous callers",
    }
    assert (number["user"], number["match"], number["pattern"]) == ("201", "number", "+31612345678")
    assert (prefix["match"], prefix["pattern"], prefix["when"]) == (
        "prefix",
        "+31900",
        {"schedule": "Office", "state": "closed"},
    )
    assert prefix["description"] == "numbers starting +31900, while Office is closed"
    stored = await IncomingBlock.get(id=prefix["id"])
    assert (stored.pattern, stored.is_prefix, stored.anonymous, stored.when_state) == (
        "+31900",
        True,
        False,
        "closed",
    )
    # The tenant's own first, then each user's.
    listed = await blocking.list_blocks("default")
    assert [b["id"] for b in listed] == [anonymous["id"], prefix["id"], number["id"]]
    rows = await AuditEntry.filter(object_type="block").order_by("id")
    assert [(r.action, r.object_key) for r in rows] == [
        ("block.add", f"default/{anonymous['id']}"),
        ("block.add", f"default/{number['id']}"),
        ("block.add", f"default/{prefix['id']}"),
    ]

    removed = await blocking.remove_block(office, A, str(number["id"]))
    assert removed == number
    last = await AuditEntry.filter(action="block.remove").get()
    assert last.before == number


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "number"),
        ({"anonymous": True, "number": "0612345678"}, "number"),
        ({"number": "0612345678", "prefix": "0900"}, "prefix"),
        ({"number": "not a number"}, "number"),
        ({"prefix": "+3"}, "prefix"),
        ({"prefix": "900"}, "prefix"),
        ({"anonymous": True, "user": "299"}, "user"),
        ({"anonymous": True, "user": "700"}, "user"),  # another tenant's
        ({"anonymous": True, "when": "Office"}, "when"),
        ({"anonymous": True, "when": "Office:sometimes"}, "when"),
        ({"anonymous": True, "when": "Nightly:closed"}, "when"),
        ({"anonymous": True, "when": "Acme hours:closed"}, "when"),  # another tenant's
        ({"anonymous": True, "when": "Office:open"}, "anonymous"),  # already blocked so
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    await tenants.add_tenant(office, A, "acme")
    await users.add_user(office, A, "acme", "700", "Not ours")
    await schedules.add_schedule(office, A, "acme", "Acme hours", [])
    await blocking.add_block(office, A, "default", anonymous=True, when="Office:open")
    before = await written()
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await blocking.add_block(office, A, "default", **kwargs)
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_the_same_caller_may_be_blocked_in_different_scopes(office: Platform) -> None:
    await blocking.add_block(office, A, "default", number="0612345678", user="201")
    await blocking.add_block(office, A, "default", number="0612345678")
    await blocking.add_block(office, A, "default", number="0612345678", when="Office:closed")
    with pytest.raises(Conflict):
        await blocking.add_block(office, A, "default", number="+31612345678", user="201")
    # A number and the same digits as a prefix are different blocks.
    await blocking.add_block(office, A, "default", prefix="+31612345678")


async def test_a_users_blocks_go_with_the_user(office: Platform) -> None:
    kept = await blocking.add_block(office, A, "default", anonymous=True)
    own = await blocking.add_block(office, A, "default", anonymous=True, user="201")
    await users.remove_user(office, A, "default", "201")
    assert [b.id for b in await IncomingBlock.all()] == [kept["id"]]
    row = await AuditEntry.filter(action="user.remove").get()
    assert (row.before or {})["incoming_blocks"] == [own["id"]]


async def test_another_tenants_blocks_are_invisible(office: Platform) -> None:
    await tenants.add_tenant(office, A, "acme")
    theirs = await blocking.add_block(office, A, "acme", anonymous=True)
    assert await blocking.list_blocks("default") == []
    assert [b["tenant"] for b in await blocking.list_blocks()] == ["acme"]
    before = await written()
    for key in (theirs["id"], "999", "abc", "1" * 30, "-1"):
        with pytest.raises(NotFound) as missing:
            await blocking.remove_block(office, A, key, "default")
        assert missing.value.field == "id"
    assert await written() == before
    await blocking.remove_block(office, A, theirs["id"], "acme")
