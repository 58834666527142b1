"""What a trunk becomes outside provd's own tables: Kamailio subscriber rows for its
accounts (with the trunk and its networks), and the routing table's TrunkRouting and
ToTrunk numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from provd.db.models import Tenant
from provd.domain.routing import ToExternal, ToGroup, ToTrunk, ToUser, TrunkRouting
from provd.pbx.database import PostgresKamailioDb, SqliteKamailioDb
from provd.pbx.schema import ensure_schema
from provd.pbx.subscribers import derive_subscriber_rows, ha1, load_accounts, sync_subscribers
from provd.services import groups, numbers
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.routing import load_table
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.update import update_trunk
from tests.conftest import TEST_ACTOR as A
from tests.pg import create_database


async def _no_resolve(host: str) -> list[str]:
    return []


@pytest.fixture
async def trunked(platform: Platform) -> tuple[Platform, dict[str, str]]:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.assign(platform, A, "+31201234502", tenant_slug="default", group="600")
    made = await add_trunk(
        platform, A, "default", "acme", channels=4, allow_ips=["192.0.2.10", "198.51.100.0/24"],
        number_format="national", failover="external:0612345678", ring_seconds=20,
        numbers=[
            NumberOnTrunk("+31201234501"),
            NumberOnTrunk("+31201234502", inbound=False),
            NumberOnTrunk("+31201234503", caller_id=False),
        ],
    )  # fmt: skip
    await add_trunk(
        platform, A, "default", "by-ip", channels=2, allow_ips=["203.0.113.5"], auth="ip",
        address="203.0.113.5:5080", caller_id_policy="refuse",
        numbers=[NumberOnTrunk("+31201234504")],
    )  # fmt: skip
    return platform, made.passwords


async def test_trunk_accounts_are_subscribers_with_their_trunk_and_networks(
    trunked: tuple[Platform, dict[str, str]],
) -> None:
    platform, passwords = trunked
    domain = (await Tenant.get(slug="default")).sip_domain
    rows = derive_subscriber_rows(await load_accounts(platform.box))
    by_user = {r.username: r for r in rows}
    assert set(by_user) == {"201", "acme-primary", "acme-secondary"}
    primary = by_user["acme-primary"]
    assert (primary.domain, primary.aor_user, primary.trunk, primary.allow_ips) == (
        domain, "acme-primary", "acme", "192.0.2.10/32,198.51.100.0/24",
    )  # fmt: skip
    assert primary.ha1 == ha1("acme-primary", domain, passwords["primary"])
    assert primary.ha1b == ha1(f"acme-primary@{domain}", domain, passwords["primary"])
    assert by_user["acme-secondary"].ha1 == ha1("acme-secondary", domain, passwords["secondary"])
    assert (by_user["201"].trunk, by_user["201"].allow_ips) == ("", "")
    # New networks rewrite the rows; a disabled trunk's accounts go.
    await update_trunk(platform, A, "default", "acme", allow_ips=["192.0.2.11"])
    rows = derive_subscriber_rows(await load_accounts(platform.box))
    assert {r.allow_ips for r in rows if r.trunk} == {"192.0.2.11/32"}
    await update_trunk(platform, A, "default", "acme", enabled=False)
    rows = derive_subscriber_rows(await load_accounts(platform.box))
    assert [r.username for r in rows] == ["201"]


async def test_the_sync_writes_and_rewrites_trunk_columns_in_kamailios_table(
    trunked: tuple[Platform, dict[str, str]], tmp_path: Path
) -> None:
    platform, _ = trunked
    db = SqliteKamailioDb(tmp_path / "kamailio.sqlite3")
    await ensure_schema(db)
    report = await sync_subscribers(db, platform.box)
    assert report.written == 3
    stored = {r[0]: r for r in await db.fetch_subscribers()}
    assert stored["acme-primary"][4:] == ("acme-primary", "acme", "192.0.2.10/32,198.51.100.0/24")
    assert stored["201"][4:] == ("201", "", "")
    await update_trunk(platform, A, "default", "acme", allow_ips=["192.0.2.11"])
    report = await sync_subscribers(db, platform.box)
    assert report.written == 2 and report.deleted == 0
    stored = {r[0]: r for r in await db.fetch_subscribers()}
    assert stored["acme-secondary"][6] == "192.0.2.11/32"


async def test_the_routing_table_reads_enabled_trunks_and_their_numbers(
    trunked: tuple[Platform, dict[str, str]],
) -> None:
    platform, _ = trunked
    table = await load_table(_no_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert tenant.trunks["acme"] == TrunkRouting(
        "acme",
        channels=4,
        networks=("192.0.2.10/32", "198.51.100.0/24"),
        number_format="national",
        accounts=("acme-primary", "acme-secondary"),
        address=None,
        caller_ids=frozenset({"+31201234501", "+31201234502"}),
        main_number="+31201234501",
        caller_id_policy="replace",
        failover=ToExternal("+31612345678"),
        ring_s=20,
    )
    by_ip = tenant.trunks["by-ip"]
    assert (by_ip.accounts, by_ip.address, by_ip.caller_id_policy) == (
        (), "203.0.113.5:5080", "refuse",
    )  # fmt: skip
    assert tenant.numbers["+31201234501"] == ToTrunk("acme")
    assert tenant.numbers["+31201234502"] == ToGroup("600")  # caller ID only
    assert tenant.numbers["+31201234503"] == ToTrunk("acme")
    assert tenant.numbers["+31201234504"] == ToTrunk("by-ip")
    await update_trunk(platform, A, "default", "acme", failover="user:201", enabled=False)
    table = await load_table(_no_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None
    assert set(tenant.trunks) == {"by-ip"}
    assert tenant.numbers["+31201234501"] is None
    await update_trunk(platform, A, "default", "acme", enabled=True)
    table = await load_table(_no_resolve)
    tenant = table.tenant_for_domain((await Tenant.get(slug="default")).sip_domain)
    assert tenant is not None and tenant.trunks["acme"].failover == ToUser("201")


async def test_kamailios_postgresql_table_takes_the_trunk_columns(
    tmp_path: Path, postgres_server: str
) -> None:
    db = PostgresKamailioDb(create_database(postgres_server, "kamailio_trunks"))
    try:
        await ensure_schema(db)
        row = ("acme-primary", "acme.test", "h1", "h1b", "acme-primary", "acme", "192.0.2.10/32")
        phone = ("201", "acme.test", "h2", "h2b", "201", "", "")
        await db.replace_subscribers([row, phone], [])
        assert sorted(await db.fetch_subscribers()) == [phone, row]
        moved = (*row[:6], "192.0.2.11/32")
        await db.replace_subscribers([moved], [("201", "acme.test")])
        assert await db.fetch_subscribers() == [moved]
    finally:
        await db.close()
