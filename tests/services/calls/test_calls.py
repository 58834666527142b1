"""The call views: totals and filters agree with the records, newest first, one tenant only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from provd.db.models import CallRecord, Tenant
from provd.domain.call_records import CallFilter, Period, parse_comparison
from provd.domain.call_types import CallType
from provd.domain.errors import NotFound
from provd.services import calls
from provd.services.directory import tenants
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

DEC = Period(datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
NUMBERS = ("+31201234501", "+31201234502", "2003")
TYPES = (CallType.INTERNAL, CallType.MOBILE, CallType.FIXED, CallType.INBOUND)


async def seed(tenant: Tenant, n: int, *, rng: random.Random, prefix: str) -> list[CallRecord]:
    rows = []
    for i in range(n):
        start = datetime(2026, 11, 28, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 40))
        answered = rng.random() < 0.7
        duration = rng.randrange(1, 600) if answered else 0
        rows.append(
            CallRecord(
                tenant_id=tenant.id,
                source="acc_cdrs" if answered else "acc",
                source_id=i,
                callid=f"{prefix}{i}",
                started_at=start,
                answered_at=start if answered else None,
                ended_at=start + timedelta(seconds=duration),
                duration=duration,
                disposition="answered" if answered else rng.choice(("busy", "no_answer")),
                call_type=rng.choice(TYPES).value,
                caller="2000",
                callee=f"+3161234{rng.randrange(10000):04d}",
                number=rng.choice(NUMBERS),
                cost=Decimal(rng.randrange(0, 200)) / 100 if rng.random() < 0.8 else None,
            )
        )
    await CallRecord.bulk_create(rows)
    return rows


@pytest.fixture
async def records(platform: Platform) -> list[CallRecord]:
    rng = random.Random(19)
    default = await tenants.get_tenant(tenants.DEFAULT_TENANT)
    other, _ = await tenants.add_tenant(platform, TEST_ACTOR, "other")
    await seed(other, 50, rng=rng, prefix="other-")
    await seed(default, 300, rng=rng, prefix="d-")
    # As stored (with their ids; bulk_create leaves them unset on SQLite).
    return list(await CallRecord.filter(tenant_id=default.id))


def in_period(rows: list[CallRecord]) -> list[CallRecord]:
    return [r for r in rows if DEC.start <= r.started_at < DEC.end]


async def test_totals_match_the_records(records: list[CallRecord]) -> None:
    mine = in_period(records)
    assert 0 < len(mine) < len(records)
    totals = await calls.totals(CallFilter("default", DEC))
    assert totals.overall.calls == len(mine)
    assert totals.overall.answered == sum(r.disposition == "answered" for r in mine)
    assert totals.overall.seconds == sum(r.duration for r in mine)
    assert totals.overall.cost == sum((r.cost or Decimal(0) for r in mine), Decimal(0))
    for t in TYPES:
        of_type = [r for r in mine if r.call_type == t.value]
        assert totals.by_type[t.value].calls == len(of_type)
        assert totals.by_type[t.value].seconds == sum(r.duration for r in of_type)
    for n in NUMBERS:
        assert totals.by_number[n].calls == sum(r.number == n for r in mine)
        for t in TYPES:
            both = [r for r in mine if r.number == n and r.call_type == t.value]
            if both:
                assert totals.by_number_and_type[(n, t.value)].calls == len(both)
    assert sum(t.calls for t in totals.by_number_and_type.values()) == len(mine)


@pytest.mark.parametrize(
    ("types", "number", "cost", "duration"),
    [
        ((CallType.MOBILE,), None, None, None),
        ((), "1234", None, None),
        ((), None, ">0.50", None),
        ((), None, "=0", None),
        ((), None, None, "<60"),
        ((CallType.INBOUND, CallType.FIXED), "+316", "<=1", ">=30"),
    ],
)
async def test_filters_match_the_records(
    records: list[CallRecord],
    types: tuple[CallType, ...],
    number: str | None,
    cost: str | None,
    duration: str | None,
) -> None:
    c = parse_comparison(cost, "cost") if cost else None
    d = parse_comparison(duration, "duration") if duration else None
    expected = [
        r
        for r in in_period(records)
        if (not types or r.call_type in {t.value for t in types})
        and (number is None or number in r.caller or number in r.callee)
        and (c is None or c.matches(r.cost))
        and (d is None or d.matches(r.duration))
    ]
    flt = CallFilter("default", DEC, types, number, c, d)
    page = await calls.list_calls(flt, limit=500)
    assert page.total == len(expected)
    assert {r.id for r in page.records} == {int(r.id) for r in expected}
    totals = await calls.totals(flt)
    assert totals.overall.calls == len(expected)


async def test_the_list_is_newest_first_in_pages_and_the_export_has_every_record(
    records: list[CallRecord],
) -> None:
    flt = CallFilter("default", DEC)
    first = await calls.list_calls(flt, limit=20)
    second = await calls.list_calls(flt, offset=20, limit=20)
    starts = [r.start for r in first.records + second.records]
    assert starts == sorted(starts, reverse=True)
    assert not {r.id for r in first.records} & {r.id for r in second.records}
    exported = [r async for batch in calls.export(flt) for r in batch]
    assert len(exported) == first.total
    assert [r.start for r in exported] == sorted((r.start for r in exported), reverse=True)


async def test_an_unknown_tenant_is_refused(platform: Platform) -> None:
    with pytest.raises(NotFound):
        await calls.list_calls(CallFilter("nope", DEC))


async def test_costs_compare_as_numbers_not_as_text(platform: Platform) -> None:
    """SQLite keeps a decimal as text, where "10.0000" sorts before "9.5000"."""
    default = await tenants.get_tenant(tenants.DEFAULT_TENANT)
    at = datetime(2026, 12, 2, tzinfo=UTC)
    for i, cost in enumerate(("12.5000", "9.5000", "0.0500")):
        await CallRecord.create(
            tenant_id=default.id, source="acc_cdrs", source_id=i, callid=f"c{i}",
            started_at=at + timedelta(minutes=i), ended_at=at, duration=60,
            disposition="answered", call_type="international", cost=Decimal(cost),
        )  # fmt: skip
    expensive = await calls.list_calls(
        CallFilter("default", DEC, cost=parse_comparison(">9", "cost"))
    )
    assert sorted(str(r.cost) for r in expensive.records) == ["12.5000", "9.5000"]
    exact = await calls.list_calls(
        CallFilter("default", DEC, cost=parse_comparison("=12.5", "cost"))
    )
    assert [str(r.cost) for r in exact.records] == ["12.5000"]
    totals = await calls.totals(CallFilter("default", DEC))
    assert totals.overall.cost == Decimal("22.0500")
