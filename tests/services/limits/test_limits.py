"""Limits through the service: per tenant and trunk, values replaced as given, an audit
row per change, refusals naming the field with nothing written; the routing table reads
them; the brake seeds usage from the records, adds collected spend and sends each 80 %
and 95 % alert once to a local SMTP sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from provd.db.models import AuditEntry, CallRecord, LimitAlert, SpendLimit, Tenant
from provd.domain import limits as domain
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.limits import Window
from provd.domain.routing import Reject, Route
from provd.domain.routing_table import CallRequest
from provd.services import carriers, limits, numbers
from provd.services.directory import users
from provd.services.limits.brake import Brake
from provd.services.limits.mail import Smtp
from provd.services.platform import Platform
from provd.services.routing import LiveTable
from provd.services.trunks.create import add_trunk
from tests.conftest import TEST_ACTOR as A
from tests.smtp_sink import smtp_sink


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


@pytest.fixture
async def office(platform: Platform) -> Platform:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.assign(platform, A, "+31201234501", "201")
    await carriers.add_carrier(platform, A, "upstream", "192.0.2.1")
    await add_trunk(platform, A, "default", "hq", channels=2, allow_ips=["192.0.2.10/32"])
    return platform


async def stored() -> list[Any]:
    return [
        await AuditEntry.all().count(),
        [(r.owner, r.limits, r.alert_email) for r in await SpendLimit.all().order_by("id")],
    ]


async def test_defaults_shown_without_a_row(office: Platform) -> None:
    view = await limits.show_limits("default")
    assert (view["hour"], view["day"], view["week"]) == ("10", "25", "50")
    assert (view["calls_hour"], view["alert_email"]) == (None, None)
    assert await SpendLimit.all().count() == 0


async def test_set_replaces_what_is_given_and_audits(office: Platform) -> None:
    view = await limits.set_limits(
        office, A, "default", {"hour": "5", "calls_hour": "3", "alert_email": "b@example.com"}
    )
    assert (view["hour"], view["day"], view["calls_hour"]) == ("5.00", "25", 3)
    again = await limits.set_limits(office, A, "default", {"day": "none"})
    assert (again["hour"], again["day"], again["alert_email"]) == ("5.00", None, "b@example.com")
    rows = await AuditEntry.filter(action="limits.set").order_by("id")
    assert [r.object_key for r in rows] == ["default", "default"]
    assert rows[1].before is not None and rows[1].before["day"] == "25"
    # The same values again: nothing written.
    count = await AuditEntry.all().count()
    await limits.set_limits(office, A, "default", {"day": None})
    assert await AuditEntry.all().count() == count


async def test_a_trunks_own_row(office: Platform) -> None:
    await limits.set_limits(office, A, "default", {"calls_day": "20"}, trunk="hq")
    assert (await limits.show_limits("default", trunk="hq"))["calls_day"] == 20
    assert (await limits.show_limits("default"))["calls_day"] is None
    entry = await AuditEntry.filter(action="limits.set").first()
    assert entry is not None and entry.object_key == "default/trunk/hq"


@pytest.mark.parametrize(
    ("changes", "trunk", "field"),
    [
        ({"hour": "-1"}, None, "hour"),
        ({"week": "a lot"}, None, "week"),
        ({"hour": "1", "calls_day": "1.5"}, None, "calls_day"),
        ({"alert_email": "nobody"}, None, "alert_email"),
        ({"alert_email": "a@example.com"}, "hq", "alert_email"),
        ({"month": "5"}, None, "month"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    office: Platform, changes: dict[str, object], trunk: str | None, field: str
) -> None:
    before = await stored()
    with pytest.raises(InvalidInput) as e:
        await limits.set_limits(office, A, "default", changes, trunk=trunk)
    assert e.value.field == field
    assert await stored() == before


async def test_unknown_tenant_or_trunk(office: Platform) -> None:
    with pytest.raises(NotFound):
        await limits.set_limits(office, A, "nope", {"hour": "1"})
    with pytest.raises(NotFound) as e:
        await limits.set_limits(office, A, "default", {"hour": "1"}, trunk="nope")
    assert e.value.field == "trunk"


async def _live() -> LiveTable:
    live = LiveTable(_resolve)
    await live.refresh()
    return live


def _call(live: LiveTable, at: datetime) -> object:
    tenant = live.table.tenants()[0]
    request = CallRequest(
        "user", "192.0.2.50", "0612345678", domain=tenant.sip_domain, extension="201"
    )
    return live.plan(request, at)


async def test_the_routing_table_applies_the_stored_limits(office: Platform) -> None:
    await limits.set_limits(office, A, "default", {"calls_hour": "2"})
    live = await _live()
    now = datetime.now(UTC)
    assert isinstance(_call(live, now), Route)
    assert isinstance(_call(live, now), Route)
    assert _call(live, now) == Reject(403, "Forbidden: call limit reached (hour)")


async def _record(tenant: Tenant, callid: str, started: datetime, cost: str | None) -> CallRecord:
    return await CallRecord.create(
        tenant=tenant,
        source="acc_cdrs",
        source_id=1,
        callid=callid,
        started_at=started,
        ended_at=started + timedelta(seconds=30),
        duration=30,
        disposition="answered",
        call_type="mobile",
        cost=Decimal(cost) if cost is not None else None,
    )


async def test_a_restart_keeps_the_brake_on(office: Platform) -> None:
    """Usage is read back from the records of the current windows."""
    tenant = await Tenant.get(slug="default")
    # Mid-hour: both records in the hour the check is made in, whenever the test runs
    # (at 13:01 the second one fell into the hour before, and the brake stayed off).
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    await _record(tenant, "a", now - timedelta(minutes=1), "6")
    await _record(tenant, "b", now - timedelta(minutes=2), "4")
    await _record(tenant, "old", now - timedelta(days=9), "100")
    live = await _live()
    assert isinstance(_call(live, now), Route)
    await Brake(live).seed(now)
    zone = domain.zone_of(tenant.timezone)
    assert live.observed.meter("default").usage(now, zone)[Window.DAY].spend == Decimal("10")
    assert _call(live, now) == Reject(403, "Forbidden: spend limit reached (hour)")


async def test_collected_spend_brakes_and_alerts_once_each(office: Platform) -> None:
    await limits.set_limits(
        office, A, "default", {"hour": "10", "alert_email": "billing@example.com"}
    )
    tenant = await Tenant.get(slug="default")
    live = await _live()
    now = datetime.now(UTC)
    with smtp_sink() as (port, inbox):
        brake = Brake(live, Smtp("127.0.0.1", port, "provd@pbx.test"))
        await brake.records_collected([await _record(tenant, "1", now, "7.99")])
        assert inbox == []
        await brake.records_collected([await _record(tenant, "2", now, "0.01")])
        assert [m["Subject"] for m in inbox] == ["default: 80% of the hour's limit reached"]
        assert inbox[0]["To"] == "billing@example.com"
        await brake.records_collected([await _record(tenant, "3", now, "1.50")])
        await brake.check_alerts()
        await brake.check_alerts()
        assert [m["Subject"] for m in inbox] == [
            "default: 80% of the hour's limit reached",
            "default: 95% of the hour's limit reached",
        ]
        assert "EUR 9.50 of EUR 10.00" in inbox[1].get_payload()
    rows = await LimitAlert.all().order_by("id")
    assert [(r.percent, r.delivered, r.recipient) for r in rows] == [
        (80, True, "billing@example.com"),
        (95, True, "billing@example.com"),
    ]
    assert [a["percent"] for a in await limits.list_alerts("default")] == [95, 80]
    # 9.50 of 10 spent: the next call still goes out, with 0.50 to spend.
    plan = _call(live, now)
    assert isinstance(plan, Route) and plan.budget is not None
    assert plan.budget.remaining == Decimal("0.50")


async def test_an_unreachable_smtp_server_is_written_down(office: Platform) -> None:
    await limits.set_limits(
        office, A, "default", {"calls_hour": "1", "alert_email": "b@example.com"}
    )
    live = await _live()
    assert isinstance(_call(live, datetime.now(UTC)), Route)
    # One call of one: past 80 % and 95 % at once, each written once.
    rows = await Brake(live, Smtp("127.0.0.1", 9, "provd@pbx.test")).check_alerts()
    assert [(r.percent, r.delivered) for r in rows] == [(80, False), (95, False)]
    assert all(r.error for r in rows)
    assert await Brake(live, Smtp("127.0.0.1", 9, "x@y.z")).check_alerts() == []


def test_the_cfg_writes_the_cut_reason_the_collector_reads() -> None:
    from provd.pbx.call_records import CUT_REASON

    cfg = Path(__file__).parents[3] / "provd" / "pbx" / "templates" / "kamailio.cfg"
    assert f'acc_db_request("200 {CUT_REASON}", "acc");' in cfg.read_text()


def test_smtp_comes_from_the_settings(tmp_path: Path) -> None:
    from provd.settings import Settings, load_settings

    assert Smtp.from_settings(Settings(public_host="pbx.example")) is None
    smtp = Smtp.from_settings(Settings(public_host="pbx.example", smtp_host="mail.example"))
    assert smtp == Smtp("mail.example", 25, "provd@pbx.example")
    (tmp_path / "provd.json").write_text('{"smtp_host": "mail.example", "smtp_port": 0}')
    with pytest.raises(InvalidInput) as e:
        load_settings(tmp_path)
    assert e.value.field == "smtp_port"
