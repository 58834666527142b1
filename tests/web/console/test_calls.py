"""The console's calls page: a period's totals and detail list with the filters, a bad
filter shown on its field, CSV download; a tenant admin sees its own tenant's calls."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from provd.db.models import CallRecord
from provd.services.directory import tenants
from tests.web.console.conftest import Console

MONTH_START = datetime.now(UTC).replace(day=1, hour=8, minute=0, second=0, microsecond=0)


async def record(slug: str, callid: str, minutes: int, **kw: Any) -> None:
    tenant = await tenants.get_tenant(slug)
    start = MONTH_START + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "tenant_id": tenant.id, "source": "acc_cdrs", "source_id": minutes, "callid": callid,
        "started_at": start, "answered_at": start, "ended_at": start + timedelta(seconds=42),
        "duration": 42, "disposition": "answered", "call_type": "mobile", "caller": "201",
        "callee": "+31612345678", "dialled": "0612345678", "number": "+31201234501",
        "cost": Decimal("0.1000"),
    }  # fmt: skip
    values.update(kw)
    await CallRecord.create(**values)


def rows(page: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    assert body, page
    return [
        " ".join(re.sub(r"<[^>]+>", " ", r).split())
        for r in re.findall(r"<tr data-[^>]*>(.*?)</tr>", body[1], re.S)
    ]


async def test_a_tenant_admin_sees_totals_and_calls_of_its_tenant(tara: Console) -> None:
    await record("acme", "a1", 1)
    await record("acme", "a2", 2, call_type="premium", callee="+31900123456", cost=None,
                 disposition="blocked", reason="Forbidden: destination blocked: premium",
                 duration=0, answered_at=None)  # fmt: skip
    await record("globex", "g1", 3, callee="+31699999999")
    status, page = await tara.get("/console/calls?tenant=globex")
    assert status == 200 and "tenant acme" in page
    listed = rows(page, "calls")
    assert len(listed) == 2
    assert "blocked (Forbidden: destination blocked: premium)" in listed[0]
    assert "+31699999999" not in page
    assert rows(page, "totals")[0] == "overall 2 1 42 0.1000"
    assert "call type premium 1 0 0 0" in rows(page, "totals")
    status, page = await tara.get("/console/calls?type=premium")
    assert len(rows(page, "calls")) == 1
    async with tara.session.get("/console/calls/export?number=612") as r:
        assert r.status == 200
        exported = list(csv.DictReader(io.StringIO(await r.text())))
    assert [e["callee"] for e in exported] == ["'+31612345678"]


async def test_a_bad_filter_is_shown_on_its_field(alice: Console) -> None:
    status, page = await alice.get("/console/calls?cost=lots&from=2026-02-30&to=2026-03-01")
    assert status == 200
    assert re.search(r'id="e-cost">[^<]*is not a comparison', page)
    assert re.search(r'id="e-from">[^<]*is not a date', page)
    assert 'id="calls"' not in page
    async with alice.session.get("/console/calls/export?duration=%3C1.5") as r:
        assert r.status == 400 and "duration" in await r.text()
