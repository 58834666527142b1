"""The Limits page of a tenant: limits per level and window, current use from the
records, alerts sent; an admin sets them with an audit row, a refusal is shown by field
with nothing written; a tenant admin reads its own tenant's page only and may not
change it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from provd.db.models import AuditEntry, CallRecord, SpendLimit, Tenant
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes

PAGE = "/console/limits/acme"


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await SpendLimit.all().order_by("id").values("owner", "limits", "alert_email"),
    ]


def row(page: str, row_id: str) -> str:
    start = page.index(f'id="{row_id}"')
    return page[start : page.index("</tr>", start)]


async def test_the_page_shows_limits_and_use_and_an_admin_sets_them(alice: Console) -> None:
    _, tenant_page = await alice.get("/console/tenants/acme")
    assert f'href="{PAGE}"' in tenant_page
    acme = await Tenant.get(slug="acme")
    now = datetime.now(UTC)
    await CallRecord.create(
        tenant=acme,
        source="acc_cdrs",
        source_id=1,
        callid="c1",
        started_at=now,
        ended_at=now,
        duration=60,
        disposition="answered",
        call_type="mobile",
        cost=Decimal("2.5"),
    )
    status, page = await alice.get(PAGE)
    assert status == 200
    hour = row(page, "usage-tenant-hour")
    assert "EUR 10" in hour and "EUR 2.50" in hour and "no limit" in hour
    assert "None yet." in page

    status, page = await alice.post(
        PAGE,
        {
            "trunk": "",
            "hour": "5",
            "day": "",
            "week": "40",
            "calls_hour": "3",
            "calls_day": "",
            "calls_week": "",
            "alert_email": "billing@acme.test",
        },
    )
    assert "Limits saved." in flashes(page)
    hour = row(page, "usage-tenant-hour")
    assert "EUR 5.00" in hour and ">3<" in hour
    assert "no limit" in row(page, "usage-tenant-day")
    assert 'id="alert-email">billing@acme.test<' in page
    entry = await AuditEntry.filter(action="limits.set").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme"


async def test_a_refusal_is_shown_by_field_with_nothing_written(alice: Console) -> None:
    before = await snapshot()
    status, page = await alice.post(PAGE, {"trunk": "", "hour": "lots", "day": "25"})
    assert status == 400
    assert field_error(page, "e-tenant-hour").startswith("'lots' is not an amount")
    assert any(f.startswith("Nothing was saved:") for f in flashes(page))
    assert 'value="lots"' in page
    assert await snapshot() == before


async def test_a_tenant_admin_reads_its_own_only_and_changes_nothing(tara: Console) -> None:
    status, page = await tara.get(PAGE)
    assert status == 200
    assert "EUR 10" in row(page, "usage-tenant-hour")
    assert 'id="limits-form-tenant"' not in page
    before = await snapshot()
    assert (await tara.post(PAGE, {"trunk": "", "hour": "1000"}))[0] in (403, 404)
    assert (await tara.get("/console/limits/globex"))[0] == 404
    assert await snapshot() == before
