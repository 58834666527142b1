"""Call records over the API: a tenant admin sees its own tenant's only, filters are
refused by field, totals and the CSV export agree with the list."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from provd.db.models import CallRecord
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served

NOW = datetime.now(UTC).replace(day=1, hour=9, minute=0, second=0, microsecond=0)


async def record(slug: str, callid: str, minutes: int, **kw: object) -> None:
    tenant = await tenants.get_tenant(slug)
    start = NOW + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "tenant_id": tenant.id, "source": "acc_cdrs", "source_id": minutes, "callid": callid,
        "started_at": start, "answered_at": start, "ended_at": start + timedelta(seconds=30),
        "duration": 30, "disposition": "answered", "call_type": "mobile", "caller": "201",
        "callee": "+31612345678", "number": "+31201234501", "cost": Decimal("0.0500"),
    }  # fmt: skip
    values.update(kw)
    await CallRecord.create(**values)


async def test_a_tenant_admin_reads_its_own_calls_newest_first(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await record("acme", "a1", 1)
        await record("acme", "a2", 2, call_type="international", callee="+3225551234",
                     cost=Decimal("0.4000"), duration=75)  # fmt: skip
        await record("acme", "a3", 3, disposition="busy", duration=0, cost=None, answered_at=None)
        await record("globex", "g1", 4)
        page = await call(c.acme, "GET", "/calls", 200)
        assert page["total"] == 3
        assert [r["start"] for r in page["records"]] == sorted(
            (r["start"] for r in page["records"]), reverse=True
        )
        assert page["records"][0]["disposition"] == "busy"
        assert page["records"][1]["cost"] == "0.4000"
        # Another tenant answers as one that does not exist.
        await call(c.acme, "GET", "/calls?tenant=globex", 404)
        globex = await call(c.admin, "GET", "/calls?tenant=globex", 200)
        assert [r["callee"] for r in globex["records"]] == ["+31612345678"]
        # Filters.
        dear = await call(c.acme, "GET", "/calls?cost=%3E0.10", 200)
        assert [r["call_type"] for r in dear["records"]] == ["international"]
        short = await call(c.acme, "GET", "/calls?duration=%3C60&type=mobile", 200)
        assert short["total"] == 2
        by_number = await call(c.acme, "GET", "/calls?number=3225", 200)
        assert by_number["total"] == 1
        paged = await call(c.acme, "GET", "/calls?limit=1&offset=1", 200)
        assert (paged["total"], len(paged["records"])) == (3, 1)
        totals = await call(c.acme, "GET", "/calls/totals", 200)
        assert totals["overall"] == {"calls": 3, "answered": 2, "seconds": 105, "cost": "0.4500"}
        assert totals["by_type"]["international"]["calls"] == 1
        assert totals["by_number"]["+31201234501"]["calls"] == 3
        async with c.acme.get(PREFIX + "/calls/export?type=mobile") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert 'filename="calls-acme-' in r.headers["Content-Disposition"]
            rows = list(csv.DictReader(io.StringIO(await r.text())))
        assert [row["disposition"] for row in rows] == ["busy", "answered"]
        assert rows[1]["callee"] == "'+31612345678"


async def test_bad_filters_are_refused_by_field(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        await refused(c.acme, "GET", "/calls?cost=cheap", 400, "cost")
        await refused(c.acme, "GET", "/calls?duration=%3C1.5", 400, "duration")
        await refused(c.acme, "GET", "/calls?from=2026-02-30&to=2026-03-01", 400, "from")
        await refused(c.acme, "GET", "/calls?from=2026-02-01", 400, "to")
        await refused(c.acme, "GET", "/calls?month=last", 400, "month")
        await refused(c.acme, "GET", "/calls/totals?type=fax", 400, "type")
        await refused(c.acme, "GET", "/calls?number=12a", 400, "number")
        await refused(c.acme, "GET", "/calls?limit=0", 400, "limit")
        await refused(c.acme, "GET", "/calls/export?cost=%3E%3E1", 400, "cost")
