"""A user's caller ID setting: hidden or shown on calls to the telephone network."""

from __future__ import annotations

import pytest

from provd.db.models import AuditEntry, User
from provd.domain.errors import InvalidInput, NotFound
from provd.services import numbers
from provd.services.directory import tenants, user_view, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A


async def test_hide_and_show_caller_id_each_write_an_audit_row(platform: Platform) -> None:
    created, _ = await users.add_user(platform, A, "default", "201", "Front Desk")
    tenant = await tenants.get_tenant("default")
    assert users.user_view(created, tenant)["hide_caller_id"] is False

    hidden = await user_view.update_user(platform, A, "default", "201", hide_caller_id=True)
    assert users.user_view(hidden, tenant)["hide_caller_id"] is True
    assert (await User.get(extension="201")).hide_caller_id is True
    # Repeating it is not an error: scripts may apply the same setting twice.
    await user_view.update_user(platform, A, "default", "201", hide_caller_id=True)
    shown = await user_view.update_user(platform, A, "default", "201", hide_caller_id=False)
    assert shown.hide_caller_id is False

    rows = await AuditEntry.filter(action="user.set").order_by("id")
    assert [(r.before or {})["hide_caller_id"] for r in rows] == [False, True, True]
    assert [(r.after or {})["hide_caller_id"] for r in rows] == [True, True, False]
    assert {r.object_key for r in rows} == {"default/201"}


async def test_refusals_write_nothing(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    before = await AuditEntry.all().count()
    with pytest.raises(InvalidInput) as nothing:
        await user_view.update_user(platform, A, "default", "201")
    assert nothing.value.field == "settings"
    with pytest.raises(NotFound) as missing:
        await user_view.update_user(platform, A, "default", "299", hide_caller_id=True)
    assert missing.value.field == "extension"
    # A bad new extension in the same call keeps the caller ID setting as it was.
    with pytest.raises(InvalidInput) as bad:
        await user_view.update_user(
            platform, A, "default", "201", new_extension="2", hide_caller_id=True
        )
    assert bad.value.field == "extension"
    assert (await User.get(extension="201")).hide_caller_id is False
    assert await AuditEntry.all().count() == before


async def test_releasing_the_main_number_from_a_user_is_allowed(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234500", 1, "default")
    await numbers.assign(platform, A, "+31201234500", "201")
    await tenants.update_tenant(platform, A, "default", main_number="+31201234500")
    released = await numbers.release(platform, A, "+31201234500")
    assert released.use is None
    assert (await tenants.get_tenant("default")).main_number == "+31201234500"
