"""Who answered a circular group's call last outlives a restart: the live table that
serve runs (keep_answers) writes it to the group, and a table loaded afresh starts
the next call after that member."""

from __future__ import annotations

from datetime import UTC, datetime

from provd.db.models import HuntGroup, Tenant
from provd.services import groups
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.routing import LiveTable, load_table
from tests.conftest import TEST_ACTOR as A

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _domain() -> str:
    return (await Tenant.get(slug="default")).sip_domain


async def _sales(p: Platform) -> None:
    for ext, name in (("202", "Bob"), ("203", "Carol")):
        await users.add_user(p, A, "default", ext, name)
    await groups.add_group(p, A, "default", "610", "Sales", "circular")
    for member in ("202", "203"):
        await groups.add_member(p, A, "default", "610", user=member)


async def test_the_last_answerer_is_kept_and_read_back(platform: Platform) -> None:
    await _sales(platform)
    live = LiveTable(keep_answers=True)
    await live.refresh()
    sip_domain = await _domain()
    assert live.record_answer(sip_domain, "610", "202", AT)
    await live.written()
    row = await HuntGroup.get(extension="610").prefetch_related("last_answered_user")
    assert row.last_answered_user is not None and row.last_answered_user.extension == "202"
    # A restart: a fresh table knows it without having seen the answer.
    fresh = await load_table()
    tenant = fresh.tenant_for_domain(sip_domain)
    assert tenant is not None and tenant.groups["610"].last_answered == "202"


async def test_without_keep_answers_nothing_is_written(platform: Platform) -> None:
    await _sales(platform)
    live = LiveTable()
    await live.refresh()
    sip_domain = await _domain()
    assert live.record_answer(sip_domain, "610", "203", AT)
    await live.written()
    assert (await HuntGroup.get(extension="610")).last_answered_user_id is None  # type: ignore[attr-defined]


async def test_an_unknown_member_or_group_is_not_recorded(platform: Platform) -> None:
    await _sales(platform)
    live = LiveTable(keep_answers=True)
    await live.refresh()
    sip_domain = await _domain()
    assert not live.record_answer(sip_domain, "610", "299", AT)
    assert not live.record_answer(sip_domain, "699", "202", AT)
    await live.written()
    assert (await HuntGroup.get(extension="610")).last_answered_user_id is None  # type: ignore[attr-defined]
