"""Rates over the API: the platform's table for admins only, a tenant's overrides read
by its tenant admin, imports by admins, all or nothing with every error by row."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from provd.db.models import AuditEntry
from provd.db.models import Rate as RateRow
from provd.services.platform import Platform
from provd.services.rating import costs
from provd.web.api import PREFIX
from tests.web.call_handling import call, clients
from tests.web.conftest import Served

CSV = {"Content-Type": "text/csv"}
TABLE = "match,price_per_minute,setup_fee,increment\n+3197,0.30,,60/1\nmobile,0.10,0.05,\n"


@pytest.fixture(autouse=True)
def _fresh_costs() -> Iterator[None]:
    costs.forget()
    yield
    costs.forget()


async def test_admins_import_and_read_both_tables(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        shipped = await call(c.admin, "GET", "/rates", 200)
        assert shipped["source"] == "shipped" and shipped["tenant"] is None
        result = await call(c.admin, "POST", "/rates/import", 200, data=TABLE, headers=CSV)
        assert result["added"] == ["+3197"] and result["tenant"] is None
        own = await call(c.admin, "GET", "/rates", 200)
        assert own["source"] == "platform"
        assert own["rates"][0] == {
            "match": "+3197",
            "kind": "prefix",
            "price_per_minute": "0.3000",
            "setup_fee": "0.0000",
            "increment": "60/1",
            "currency": "EUR",
        }
        acme = await call(
            c.admin,
            "POST",
            "/rates/import?tenant=acme",
            200,
            data="match,price_per_minute\npremium,0.8\n",
            headers=CSV,
        )
        assert (acme["tenant"], acme["added"]) == ("acme", ["premium"])
        async with c.admin.get(PREFIX + "/rates/export?tenant=acme") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert 'filename="rates-acme.csv"' in r.headers["Content-Disposition"]
            text = await r.text()
        assert text == "match,price_per_minute,setup_fee,increment\r\npremium,0.8000,0.0000,\r\n"
        again = await call(
            c.admin, "POST", "/rates/import?tenant=acme", 200, data=text, headers=CSV
        )
        assert (again["added"], again["changed"], again["removed"]) == ([], [], [])


async def test_a_tenant_admin_reads_its_own_overrides_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        for tenant, price in (("acme", "0.05"), ("globex", "0.07")):
            await call(
                c.admin,
                "POST",
                f"/rates/import?tenant={tenant}",
                200,
                data=f"match,price_per_minute\nmobile,{price}\n",
                headers=CSV,
            )
        mine = await call(c.acme, "GET", "/rates", 200)
        assert (mine["tenant"], mine["source"]) == ("acme", "tenant")
        assert [r["price_per_minute"] for r in mine["rates"]] == ["0.0500"]
        assert (await call(c.acme, "GET", "/rates?tenant=acme", 200)) == mine
        other = await call(c.acme, "GET", "/rates?tenant=globex", 404)
        assert other["error"]["field"] == "tenant"
        await call(c.acme, "GET", "/rates/export?tenant=globex", 404)
        async with c.acme.get(PREFIX + "/rates/export") as r:
            assert r.status == 200 and "mobile,0.0500" in await r.text()
        # Prices are what the spend limits count: a tenant admin does not set its own.
        before = await RateRow.all().count()
        await call(c.acme, "POST", "/rates/import", 403, data=TABLE, headers=CSV)
        await call(c.acme, "POST", "/rates/import?tenant=acme", 403, data=TABLE, headers=CSV)
        assert await RateRow.all().count() == before


async def test_a_bad_file_is_400_with_every_error_and_writes_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        audit_before = await AuditEntry.all().count()
        bad = "match,price_per_minute\nmobile,0.1\nlandline,0.1\npremium,-1\nmobile,0.2\n"
        body = await call(c.admin, "POST", "/rates/import", 400, data=bad, headers=CSV)
        assert [(e["row"], e["column"]) for e in body["errors"]] == [
            (3, "match"),
            (4, "price_per_minute"),
            (5, "match"),
        ]
        assert body["error"] == {**body["error"], "field": "match", "row": 3}
        unknown = await call(
            c.admin, "POST", "/rates/import?tenant=nobody", 404, data=TABLE, headers=CSV
        )
        assert unknown["error"]["field"] == "tenant"
        big = b"match,price_per_minute\n" + b"mobile,0.1\n" * 100_000
        too_big = await call(
            c.admin, "POST", "/rates/import", 413, data=io.BytesIO(big), headers=CSV
        )
        assert too_big["error"]["field"] == "file"
        dry = await call(c.admin, "POST", "/rates/import?dry_run=1", 200, data=TABLE, headers=CSV)
        assert dry["dry_run"] is True
        assert await RateRow.all().count() == 0
        assert await AuditEntry.all().count() == audit_before
