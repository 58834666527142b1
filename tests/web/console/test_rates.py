"""The console's rates page: the platform's table for platform admins (the shipped
example until one is imported), a tenant's overrides, CSV download and upload (all or
nothing, every error listed); a tenant admin reads its own overrides only."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import aiohttp
import pytest

from provd.db.models import AuditEntry
from provd.db.models import Rate as RateRow
from provd.services import rating
from provd.services.rating import costs
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import flashes

_CELLS = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.fixture(autouse=True)
def _fresh_costs() -> Iterator[None]:
    costs.forget()
    yield
    costs.forget()


def table(page: str) -> dict[str, list[str]]:
    """Each rate's cells as text, by match."""
    rows = re.findall(r'<tr data-match="([^"]+)">(.*?)</tr>', page, re.S)
    return {
        match: [
            " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in _CELLS.findall(cells)
        ]
        for match, cells in rows
    }


def import_errors(page: str) -> list[str]:
    listed = re.search(r'id="import-errors">(.*?)</ul>', page, re.S)
    return (
        [html_lib.unescape(e) for e in re.findall(r"<li>(.*?)</li>", listed[1])] if listed else []
    )


async def _upload(console: Console, text: str, tenant: str = "") -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", console.csrf)
    form.add_field("tenant", tenant)
    form.add_field("file", text.encode(), filename="rates.csv", content_type="text/csv")
    async with console.session.post("/console/rates", data=form) as r:
        return r.status, await r.text()


async def test_the_shipped_table_then_an_uploaded_one(alice: Console) -> None:
    status, page = await alice.get("/console/rates")
    assert status == 200
    assert "the example table shipped with provd" in page
    assert table(page)["mobile"] == ["mobile (call type)", "0.0600", "0.0000", "1/1", "EUR"]

    status, page = await _upload(
        alice, "match,price_per_minute,setup_fee,increment\n+3197,0.25,0,60/1\nmobile,0.1,,\n"
    )
    assert status == 200
    assert "Rates imported: 1 added, 1 changed, 7 removed, 0 unchanged." in flashes(page)
    assert list(table(page)) == ["+3197", "mobile"]
    assert table(page)["+3197"] == ["+3197", "0.2500", "0.0000", "60/1", "EUR"]

    async with alice.session.get("/console/rates/export") as r:
        assert r.status == 200 and r.content_type == "text/csv"
        assert '"\'+3197",0.2500,0.0000,60/1' in await r.text()


async def test_a_tenants_overrides_and_a_refused_file(alice: Console) -> None:
    status, page = await _upload(alice, "match,price_per_minute\npremium,0.8\n", tenant="acme")
    assert status == 200 and "Overrides of tenant acme" in page
    assert list(table(page)) == ["premium"]
    audit_before = await AuditEntry.all().count()
    bad = "match,price_per_minute\npremium,0.9\nlandline,1\nmobile,-1\n"
    status, page = await _upload(alice, bad, tenant="acme")
    assert status == 400
    assert "Nothing imported: 2 error(s) in the file." in flashes(page)
    assert [e.split(":")[0] for e in import_errors(page)] == [
        "row 3, column match",
        "row 4, column price_per_minute",
    ]
    assert await AuditEntry.all().count() == audit_before
    assert [r.match for r in (await rating.list_rates("acme")).rates] == ["premium"]
    status, page = await alice.get("/console/rates?tenant=nobody")
    assert status == 404 and "tenant 'nobody' not found" in flashes(page)


async def test_a_tenant_admin_reads_its_own_overrides_only(alice: Console, tara: Console) -> None:
    await rating.import_table(TEST_ACTOR, "match,price_per_minute\nmobile,0.05\n", tenant="acme")
    await rating.import_table(TEST_ACTOR, "match,price_per_minute\nmobile,0.07\n", tenant="globex")
    status, page = await tara.get("/console/rates")
    assert status == 200 and "Overrides of tenant acme" in page
    assert table(page)["mobile"][1] == "0.0500"
    assert 'id="import-rates"' not in page and 'id="rates-table"' not in page
    # Whatever tenant it names, it gets its own.
    status, page = await tara.get("/console/rates?tenant=globex")
    assert table(page)["mobile"][1] == "0.0500"
    async with tara.session.get("/console/rates/export?tenant=globex") as r:
        assert "mobile,0.0500" in await r.text()
    before = await RateRow.all().order_by("id").values()
    status, _ = await _upload(tara, "match,price_per_minute\nmobile,0\n", tenant="acme")
    assert status == 403
    assert await RateRow.all().order_by("id").values() == before
