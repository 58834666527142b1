"""A user's forwarding and do-not-disturb: destinations of the user's own tenant, set
and cleared per case, audited on the user, refusals naming the field and writing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, User
from provd.domain.errors import InvalidInput, NotFound
from provd.services import groups
from provd.services.directory import forwarding, tenants, user_view, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from
from tests.services.call_handling_state import written


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await users.add_user(platform, A, "default", "202", "Back Office")
    await groups.add_group(platform, A, "default", "600", "Sales", "simultaneous")


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def test_forwards_are_set_shown_and_cleared_per_case(office: Platform) -> None:
    view = await forwarding.set_forwarding(
        office, A, "default", "201", always="external:06 1234 5678", busy="user:202",
        no_answer="group:600", no_answer_seconds=30, unreachable="none",
    )  # fmt: skip
    assert view == {
        "tenant": "default",
        "extension": "201",
        "always": {
            "kind": "external",
            "key": "+31612345678",
            "name": "",
            "text": "external:+31612345678",
        },
        "busy": {"kind": "user", "key": "202", "name": "Back Office", "text": "user:202"},
        "no_answer": {"kind": "group", "key": "600", "name": "Sales", "text": "group:600"},
        "no_answer_seconds": 30,
        "unreachable": None,
        "dnd": False,
    }
    stored = await User.get(extension="201")
    assert stored.forward_always == {"kind": "external", "number": "+31612345678"}
    assert stored.forward_busy == {"kind": "user", "user_id": (await User.get(extension="202")).id}
    assert await forwarding.get_forwarding("default", "201") == view

    view = await forwarding.set_forwarding(office, A, "default", "201", clear=["always"])
    assert view["always"] is None and view["busy"] is not None
    view = await forwarding.set_forwarding(office, A, "default", "201", clear=["all"])
    assert [view[c] for c in ("always", "busy", "no_answer", "unreachable")] == [None] * 4
    assert view["no_answer_seconds"] == 30

    rows = await AuditEntry.filter(action="user.forward").order_by("id")
    assert len(rows) == 3 and {r.object_type for r in rows} == {"user"}
    assert {r.object_key for r in rows} == {"default/201"}
    assert (rows[0].before or {})["always"] is None
    assert (rows[0].after or {})["always"]["key"] == "+31612345678"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"always": "user:201"}, "always"),  # itself
        ({"busy": "user:299"}, "busy"),
        ({"busy": "user:700"}, "busy"),  # another tenant's
        ({"no_answer": "group:699"}, "no_answer"),
        ({"unreachable": "external:112"}, "unreachable"),
        ({"unreachable": "external:911"}, "unreachable"),
        ({"always": "external:12345"}, "always"),
        ({"always": "external:+31 20 123"}, "always"),
        ({"always": "somewhere"}, "always"),
        ({"always": "user:202", "no_answer_seconds": 4}, "no_answer_seconds"),
        ({"no_answer_seconds": 121}, "no_answer_seconds"),
        ({"busy": "user:202", "clear": ["busy"]}, "busy"),
        ({"clear": ["sometimes"]}, "clear"),
        ({}, "settings"),
        ({"busy": "user:202", "no_answer": "user:299"}, "no_answer"),  # all or nothing
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    await tenants.add_tenant(office, A, "acme")
    await users.add_user(office, A, "acme", "700", "Not ours")
    before = await written()
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await forwarding.set_forwarding(office, A, "default", "201", **kwargs)
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_dnd_is_set_and_audited_even_when_repeated(office: Platform) -> None:
    assert (await forwarding.set_dnd(office, A, "default", "201", True))["dnd"] is True
    assert (await User.get(extension="201")).dnd is True
    await forwarding.set_dnd(office, A, "default", "201", True)
    assert (await forwarding.set_dnd(office, A, "default", "201", False))["dnd"] is False
    rows = await AuditEntry.filter(action="user.dnd").order_by("id")
    assert [((r.before or {})["dnd"], (r.after or {})["dnd"]) for r in rows] == [
        (False, True),
        (True, True),
        (True, False),
    ]
    before = await written()
    with pytest.raises(NotFound) as missing:
        await forwarding.set_dnd(office, A, "default", "299", True)
    assert missing.value.field == "extension"
    with pytest.raises(InvalidInput) as not_a_bool:
        await forwarding.set_dnd(office, A, "default", "201", "on")  # type: ignore[arg-type]
    assert not_a_bool.value.field == "dnd"
    assert await written() == before


async def test_a_forward_target_is_not_removed_but_a_forwarding_user_is(office: Platform) -> None:
    await forwarding.set_forwarding(office, A, "default", "201", no_answer="user:202")
    before = await written()
    with pytest.raises(InvalidInput, match="user 201's forwarding \\(no-answer\\)") as refused:
        await users.remove_user(office, A, "default", "202")
    assert refused.value.field == "extension"
    assert await written() == before
    # The user's own forwards go with it.
    await users.remove_user(office, A, "default", "201")
    await users.remove_user(office, A, "default", "202")


async def test_a_new_extension_keeps_the_forwards_pointing_at_the_user(office: Platform) -> None:
    await forwarding.set_forwarding(office, A, "default", "201", busy="user:202")
    await user_view.update_user(office, A, "default", "202", new_extension="222")
    view = await forwarding.get_forwarding("default", "201")
    assert view["busy"]["text"] == "user:222"
