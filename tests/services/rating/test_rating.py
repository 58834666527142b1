"""Rate tables: imported whole or not at all, audited, exported as they were imported;
the shipped example table while the platform has none; the cost of a call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from provd.db.models import AuditEntry
from provd.db.models import Rate as RateRow
from provd.domain.call_types import CallType
from provd.domain.device_csv import ImportRefused
from provd.domain.errors import NotFound
from provd.domain.rate_csv import parse_rates
from provd.services import rating
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.rating import costs
from provd.services.rating.stored import shipped_rates
from tests.conftest import TEST_ACTOR as A

PLATFORM_CSV = (
    "match,price_per_minute,setup_fee,increment\n"
    "national_fixed,0.0200,,\n"
    "mobile,0.1000,0.0500,60/1\n"
    "+3197,0.3000,,\n"
)
ACME_CSV = "match,price_per_minute\nmobile,0.0500\n+3197,0.2000\n"


@pytest.fixture
async def acme(platform: Platform) -> AsyncIterator[Platform]:
    # The kept table is per process; every test starts from what its database holds.
    costs.forget()
    await tenants.add_tenant(platform, A, "acme")
    yield platform
    costs.forget()


async def test_the_shipped_table_is_the_platforms_until_it_has_its_own(acme: Platform) -> None:
    listed = await rating.list_rates()
    assert listed.source is rating.Source.SHIPPED
    assert listed.rates == list(shipped_rates())
    # Every outbound type has a price in it, so every outbound call has a cost.
    priced = {r.call_type for r in shipped_rates()}
    for kind in (CallType.FIXED, CallType.MOBILE, CallType.PREMIUM, CallType.SERVICE):
        assert kind in priced
    assert CallType.INTERNATIONAL in priced
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0600")

    await rating.import_table(A, PLATFORM_CSV)
    listed = await rating.list_rates()
    assert listed.source is rating.Source.PLATFORM
    assert [r.match for r in listed.rates] == ["+3197", "mobile", "national_fixed"]
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.1500")
    # A call type the platform's own table leaves out has no price: no shipped fallback.
    assert await rating.cost_of("acme", "+319001234567", CallType.PREMIUM, 60) is None

    # An empty platform file goes back to the shipped table.
    result = await rating.import_table(A, "match,price_per_minute\n")
    assert sorted(result.removed) == ["+3197", "mobile", "national_fixed"]
    assert (await rating.list_rates()).source is rating.Source.SHIPPED


async def test_tenant_overrides_come_before_the_platforms(acme: Platform) -> None:
    await rating.import_table(A, PLATFORM_CSV)
    result = await rating.import_table(A, ACME_CSV, tenant="ACME")
    assert (result.tenant, result.added, result.changed, result.removed) == (
        "acme",
        ["+3197", "mobile"],
        [],
        [],
    )
    listed = await rating.list_rates("acme")
    assert listed.source is rating.Source.TENANT
    assert [r.match for r in listed.rates] == ["+3197", "mobile"]
    cost = rating.cost_of
    assert await cost("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0500")
    assert await cost("acme", "+31971234567", CallType.MOBILE, 60) == Decimal("0.2000")
    assert await cost("default", "+31612345678", CallType.MOBILE, 60) == Decimal("0.1500")
    assert await cost("default", "+31971234567", CallType.MOBILE, 60) == Decimal("0.3000")
    assert await cost(None, "+31201234567", CallType.FIXED, 60) == Decimal("0.0200")
    # Unanswered, internal, inbound and emergency: nothing.
    assert await cost("acme", "+31612345678", CallType.MOBILE, 0) == Decimal(0)
    assert await cost("acme", "201", CallType.INTERNAL, 60) == Decimal(0)
    assert await cost("acme", "+31612345678", CallType.INBOUND, 60) == Decimal(0)
    assert await cost("acme", "112", CallType.EMERGENCY, 60) == Decimal(0)


async def test_an_import_replaces_the_owners_table_and_writes_one_audit_row(
    acme: Platform,
) -> None:
    await rating.import_table(A, ACME_CSV, tenant="acme")
    await rating.import_table(A, PLATFORM_CSV)
    result = await rating.import_table(
        A, "match,price_per_minute\nmobile,0.0500\npremium,0.9\n", tenant="acme"
    )
    assert (result.added, result.changed, result.removed, result.unchanged) == (
        ["premium"],
        [],
        ["+3197"],
        1,
    )
    assert result.summary == "1 added, 0 changed, 1 removed, 1 unchanged (tenant acme)"
    assert await RateRow.filter(owner="platform").count() == 3  # untouched
    rows = await AuditEntry.filter(action="rates.import").order_by("id")
    assert [(r.object_type, r.object_key) for r in rows] == [
        ("rates", "acme"),
        ("rates", "platform"),
        ("rates", "acme"),
    ]
    last = rows[-1]
    assert last.before is not None and last.after is not None
    assert last.before["rates"] == 2 and last.after["rates"] == 2
    assert last.after["table"]["premium"] == "0.9000/min + 0.0000, 1/1"
    assert last.before["sha256"] != last.after["sha256"]
    assert rows[1].before is not None and rows[1].before["source"] == "shipped"


async def test_a_bad_file_writes_nothing(acme: Platform) -> None:
    await rating.import_table(A, ACME_CSV, tenant="acme")
    before = await AuditEntry.all().count()
    bad = "match,price_per_minute\nmobile,0.01\npremium,-1\n"
    with pytest.raises(ImportRefused) as e:
        await rating.import_table(A, bad, tenant="acme")
    assert [(x.row, x.column) for x in e.value.errors] == [(3, "price_per_minute")]
    assert [r.match for r in (await rating.list_rates("acme")).rates] == ["+3197", "mobile"]
    assert await AuditEntry.all().count() == before


async def test_an_unknown_tenant_is_not_found_and_nothing_is_written(acme: Platform) -> None:
    with pytest.raises(NotFound) as e:
        await rating.import_table(A, ACME_CSV, tenant="nobody")
    assert e.value.field == "tenant"
    assert await RateRow.all().count() == 0
    with pytest.raises(NotFound):
        await rating.list_rates("nobody")


async def test_a_dry_run_reports_and_writes_nothing(acme: Platform) -> None:
    result = await rating.import_table(A, PLATFORM_CSV, dry_run=True)
    # Compared with the table that applies now: the shipped one.
    assert result.dry_run and result.added == ["+3197"]
    assert result.changed == ["mobile", "national_fixed"] and "premium" in result.removed
    assert result.summary.startswith("dry run, nothing written: 1 added, 2 changed, 6 removed")
    assert await RateRow.all().count() == 0
    assert await AuditEntry.filter(action="rates.import").count() == 0


async def test_export_reads_back_as_the_same_table(acme: Platform) -> None:
    text, count = await rating.export_table()
    assert count == len(shipped_rates()) and parse_rates(text) == sorted(
        shipped_rates(), key=lambda r: (r.call_type is not None, -len(r.match), r.match)
    )
    await rating.import_table(A, PLATFORM_CSV)
    await rating.import_table(A, ACME_CSV, tenant="acme")
    for tenant in (None, "acme"):
        text, _ = await rating.export_table(tenant)
        again = await rating.import_table(A, text, tenant=tenant)
        assert (again.added, again.changed, again.removed) == ([], [], [])
        assert (await rating.export_table(tenant))[0] == text


async def test_the_kept_table_follows_every_change(acme: Platform) -> None:
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0600")
    await rating.import_table(A, ACME_CSV, tenant="acme")
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0500")
    # A change another process made (rows written past this process's import) is seen too.
    await RateRow.filter(owner__startswith="tenant:").delete()
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0600")
    tenant = await tenants.get_tenant("acme")
    await RateRow.create(
        owner=f"tenant:{tenant.id}",
        tenant=tenant,
        match="mobile",
        price_per_minute=Decimal("0.0700"),
        setup_fee=Decimal(0),
    )
    assert await rating.cost_of("acme", "+31612345678", CallType.MOBILE, 60) == Decimal("0.0700")


async def test_a_removed_tenants_overrides_go_with_it(acme: Platform) -> None:
    await rating.import_table(A, ACME_CSV, tenant="acme")
    tenant = await tenants.get_tenant("acme")
    await RateRow.filter(tenant=tenant).delete()
    assert (await rating.list_rates("acme")).rates == []


@dataclass
class _Record:
    """The fields of a call record that rating reads."""

    call_type: str
    callee: str
    duration: int
    dialled: str = ""


async def test_the_call_records_hook_prices_a_record(acme: Platform) -> None:
    await rating.import_table(A, PLATFORM_CSV)
    await rating.import_table(A, ACME_CSV, tenant="acme")
    rate = rating.rate_record
    assert await rate("acme", _Record("mobile", "+31612345678", 60)) == Decimal("0.0500")
    assert await rate("default", _Record("mobile", "+31612345678", 61)) == Decimal("0.1517")
    # The callee as it left, else the number dialled.
    dialled = _Record("mobile", "0612345678", 60, dialled="+31971234567")
    assert await rate("acme", dialled) == Decimal("0.2000")
    assert await rate("acme", _Record("mobile", "+31612345678", 0)) == Decimal(0)
    assert await rate("acme", _Record("internal", "202", 300)) == Decimal(0)
    # Not priced: a type the platform's table leaves out, or one provd does not know.
    assert await rate("acme", _Record("premium", "+319001234567", 60)) is None
    assert await rate("acme", _Record("", "+31612345678", 60)) is None
