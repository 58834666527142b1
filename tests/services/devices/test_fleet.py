"""The fleet page's queries: search, filters, sort, pages, drift against pins, and a
constant number of queries per page however large the fleet."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from provd.db.models import Device, DeviceLine, User
from provd.domain.errors import InvalidInput, NotFound
from provd.firmware.resolution import firmware_status
from provd.pbx import ContactBinding, Registration
from provd.pbx.status import SipAddress
from provd.services import devices, firmware
from provd.services.devices import fleet
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, add_image

T48G = "yealink-t48g"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _mac(i: int) -> str:
    return f"001565{i:06x}"


async def _bulk(p: Platform, count: int, *, tenant: str = "default", first: int = 0) -> None:
    """``count`` T46Gs with one user each, written in bulk (the services add one at a time)."""
    t = await tenants.get_tenant(tenant)
    sealed = p.box.seal("not-a-real-secret")
    await User.bulk_create(
        [
            User(
                tenant=t,
                extension=str(10000 + first + i),
                display_name=f"Person {first + i}",
                sip_username=str(10000 + first + i),
                sip_password_enc=sealed,
            )
            for i in range(count)
        ]
    )
    await Device.bulk_create(
        [
            Device(
                tenant=t,
                mac=_mac(first + i),
                vendor="yealink",
                model=T46G,
                prov_username=f"dev-{_mac(first + i)}",
                prov_password_enc=sealed,
                admin_password_enc=sealed,
            )
            for i in range(count)
        ]
    )
    ids = dict(await Device.filter(tenant=t).values_list("mac", "id"))
    user_ids = dict(await User.filter(tenant=t).values_list("extension", "id"))
    await DeviceLine.bulk_create(
        [
            DeviceLine(
                device_id=ids[_mac(first + i)],
                slot=1,
                user_id=user_ids[str(10000 + first + i)],
            )
            for i in range(count)
        ]
    )


def _registered(*aors: str) -> dict[str, Registration]:
    binding = ContactBinding(
        uri="sip:x@192.168.1.20:5060",
        user_agent="Yealink SIP-T46G 28.83.0.120",
        lan_address=SipAddress("192.168.1.20", 5060),
        wan_address=SipAddress("203.0.113.7", 40000),
        expires_in=300,
        expires_at=NOW + timedelta(seconds=300),
        socket="udp:127.0.0.1:5060",
        instance=None,
    )
    return {aor: Registration(aor, (binding,)) for aor in aors}


async def _page(
    registrations: dict[str, Registration] | None = None, **params: str
) -> fleet.FleetPage:
    return await fleet.fleet_page(fleet.parse_query(params), registrations)


def _macs(page: fleet.FleetPage) -> list[str]:
    return [r.mac for r in page.rows]


# --- search and filters ------------------------------------------------------------------


async def _small_fleet(p: Platform) -> None:
    await tenants.add_tenant(p, TEST_ACTOR, "acme")
    await users.add_user(p, TEST_ACTOR, "default", "201", "Anna Front")
    await users.add_user(p, TEST_ACTOR, "default", "202", "Bram Back")
    await users.add_user(p, TEST_ACTOR, "acme", "301", "Carla")
    await devices.add_device(p, TEST_ACTOR, "0015654aa937", T46G, users=["201"], name="Desk")
    await devices.add_device(p, TEST_ACTOR, "0015654aa938", T48G, users=["202"])
    await devices.add_device(p, TEST_ACTOR, "000413aabbcc", "snom-d785", tenant_slug="acme")
    await devices.add_device(p, TEST_ACTOR, "0015654aa940", T46G, tenant_slug="acme", users=["301"])


async def test_search_finds_a_mac_in_any_notation_a_name_or_an_extension(
    platform: Platform,
) -> None:
    await _small_fleet(platform)
    for text in ("00:15:65:4A:A9:37", "00-15-65-4a-a9-37", "0015.654a.a937", "4a:a9:37"):
        assert _macs(await _page(q=text)) == ["0015654aa937"], text
    assert _macs(await _page(q="a93")) == ["0015654aa937", "0015654aa938"]
    assert _macs(await _page(q="bram")) == ["0015654aa938"]
    assert _macs(await _page(q="201")) == ["0015654aa937"]
    assert _macs(await _page(q="desk")) == ["0015654aa937"]
    assert _macs(await _page(q="nobody")) == []


async def test_filters_by_tenant_model_and_never_fetched(platform: Platform) -> None:
    await _small_fleet(platform)
    await Device.filter(mac="0015654aa938").update(last_fetch_at=NOW)
    acme = await _page(tenant="acme")
    assert _macs(acme) == ["000413aabbcc", "0015654aa940"]
    assert acme.summary.devices == 2
    assert _macs(await _page(model=T46G)) == ["0015654aa937", "0015654aa940"]
    assert _macs(await _page(model=T46G, tenant="acme")) == ["0015654aa940"]
    never = await _page(status="never-fetched")
    assert "0015654aa938" not in _macs(never) and never.matching == 3
    assert never.summary.never_fetched == 3


async def test_registration_filter_and_counts_come_from_one_dump(platform: Platform) -> None:
    await _small_fleet(platform)
    dump = _registered("201@default.provd.internal", "301@acme.provd.internal")
    page = await _page(dump)
    assert (page.summary.registered, page.summary.unregistered) == (2, 2)
    rows = {r.mac: r for r in page.rows}
    assert rows["0015654aa937"].registered is True
    assert rows["0015654aa937"].lan_address == "192.168.1.20:5060"
    assert rows["0015654aa937"].wan_address == "203.0.113.7:40000"
    # No line at all counts as not registered: nothing could register for it.
    assert rows["000413aabbcc"].registered is False
    assert _macs(await _page(dump, status="unregistered")) == ["000413aabbcc", "0015654aa938"]
    assert _macs(await _page(dump, status="registered")) == ["0015654aa937", "0015654aa940"]
    assert (await _page(dump, status="registered", tenant="default")).matching == 1
    # The same extension in another tenant's domain is another account.
    other = await _page(_registered("202@acme.provd.internal"), status="registered")
    assert other.matching == 0


async def test_without_a_pbx_registration_is_unknown_and_not_filtered(
    platform: Platform,
) -> None:
    await _small_fleet(platform)
    page = await _page(None, status="unregistered")
    assert page.matching == 4 and page.notes
    assert page.summary.registered is None
    assert {r.registered for r in page.rows} == {None}


async def test_bad_parameters_name_their_field(platform: Platform) -> None:
    for params, field in (
        ({"status": "up"}, "status"),
        ({"sort": "colour"}, "sort"),
        ({"per_page": "501"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"model": "t99"}, "model"),
    ):
        with pytest.raises(InvalidInput) as e:
            fleet.parse_query(params)
        assert e.value.field == field
    with pytest.raises(NotFound):
        await _page(tenant="nope")


# --- sort and pages ----------------------------------------------------------------------


async def test_sorts_and_pages(platform: Platform) -> None:
    await _bulk(platform, 25)
    await Device.filter(mac=_mac(7)).update(last_fetch_at=NOW)
    await Device.filter(mac=_mac(3)).update(last_fetch_at=NOW - timedelta(hours=1))
    first = await _page(per_page="10")
    assert first.matching == 25 and first.pages == 3
    assert _macs(first) == [_mac(i) for i in range(10)]
    last = await _page(per_page="10", page="3")
    assert _macs(last) == [_mac(i) for i in range(20, 25)]
    assert _macs(await _page(per_page="10", page="9")) == []
    down = await _page(sort="mac", dir="desc", per_page="3")
    assert _macs(down) == [_mac(24), _mac(23), _mac(22)]
    # Where never-fetched devices go depends on the database's NULL order; the others sort.
    for direction, order in (("", [_mac(3), _mac(7)]), ("desc", [_mac(7), _mac(3)])):
        macs = _macs(await _page(sort="fetched", dir=direction, per_page="25"))
        assert len(macs) == 25
        assert [m for m in macs if m in order] == order
    query = fleet.parse_query({"sort": "model", "dir": "desc", "page": "2", "q": "x"})
    assert query.params(page=1) == {"q": "x", "sort": "model", "dir": "desc"}


# --- drift -------------------------------------------------------------------------------


async def test_drift_follows_the_most_specific_pin_as_firmware_resolve_does(
    platform: Platform,
) -> None:
    p = platform
    await tenants.add_tenant(p, TEST_ACTOR, "acme")
    await add_image(p, "28.83.0.110")
    await add_image(p, "28.83.0.120")
    await add_image(p, "28.83.0.130")
    await _bulk(p, 6)
    await _bulk(p, 4, tenant="acme", first=100)
    await devices.add_device(p, TEST_ACTOR, "0015654aa948", T48G)
    scope = firmware.pin_scope
    await firmware.set_pin(TEST_ACTOR, await scope(), model=T46G, version="28.83.0.120")
    await firmware.set_pin(
        TEST_ACTOR, await scope(tenant="acme"), model=T46G, version="28.83.0.130"
    )
    await firmware.set_pin(
        TEST_ACTOR, await scope(device=_mac(1)), model=T46G, version="28.83.0.110"
    )
    earlier, later = NOW - timedelta(hours=1), NOW
    reports = {
        _mac(0): dict(reported_firmware="28.83.0.120", reported_firmware_at=later),
        # Device pin wins over the platform's: .120 here is drift.
        _mac(1): dict(reported_firmware="28.83.0.120", reported_firmware_at=later),
        # The SIP report is newer than the HTTP one, and it is the pinned version.
        _mac(2): dict(
            reported_firmware="28.83.0.110",
            reported_firmware_at=earlier,
            sip_firmware="28.83.0.120",
            sip_firmware_at=later,
        ),
        # The HTTP report is newer: still on the old version.
        _mac(3): dict(
            reported_firmware="28.83.0.110",
            reported_firmware_at=later,
            sip_firmware="28.83.0.120",
            sip_firmware_at=earlier,
        ),
        _mac(4): dict(sip_firmware="28.83.0.999", sip_firmware_at=later),
        # Tenant acme pins .130: the platform's .120 is drift there.
        _mac(100): dict(reported_firmware="28.83.0.120", reported_firmware_at=later),
        _mac(101): dict(reported_firmware="28.83.0.130", reported_firmware_at=later),
        # No pin for the T48G: nothing is drift.
        "0015654aa948": dict(reported_firmware="1.0", reported_firmware_at=later),
    }
    for mac, values in reports.items():
        await Device.filter(mac=mac).update(**values)

    expected = set()
    for d in await Device.all():
        if (await firmware_status(d)).drifted:
            expected.add(d.mac)
    assert expected == {_mac(1), _mac(3), _mac(4), _mac(100)}
    page = await _page(drift="1")
    assert set(_macs(page)) == expected
    assert page.summary.drift == 4
    assert all(r.drifted for r in page.rows)
    rows = {r.mac: r for r in (await _page()).rows}
    assert (rows[_mac(1)].expected, rows[_mac(1)].expected_level) == ("28.83.0.110", "device")
    assert (rows[_mac(100)].expected, rows[_mac(100)].expected_level) == ("28.83.0.130", "tenant")
    assert (rows[_mac(2)].running, rows[_mac(2)].running_source) == ("28.83.0.120", "sip")
    assert (rows[_mac(3)].running, rows[_mac(3)].running_source) == ("28.83.0.110", "http")
    assert rows["0015654aa948"].expected is None and not rows["0015654aa948"].drifted
    assert set(_macs(await _page(drift="1", tenant="acme"))) == {_mac(100)}


async def test_no_pin_means_no_drift(platform: Platform) -> None:
    await _bulk(platform, 3)
    await Device.filter(mac=_mac(0)).update(reported_firmware="1.0", reported_firmware_at=NOW)
    page = await _page(drift="1")
    assert page.matching == 0 and page.summary.drift == 0


# --- scaling -----------------------------------------------------------------------------


class _QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@pytest.fixture
def queries() -> Iterator[_QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _QueryCounter()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(level)


async def _count_page(
    counter: _QueryCounter, dump: dict[str, Registration], **params: str
) -> tuple[int, fleet.FleetPage]:
    counter.count = 0
    page = await _page(dump, **params)
    return counter.count, page


async def test_a_page_costs_the_same_queries_for_10_and_1000_devices(
    platform: Platform, queries: _QueryCounter
) -> None:
    p = platform
    await add_image(p, "28.83.0.120")
    await firmware.set_pin(
        TEST_ACTOR, await firmware.pin_scope(), model=T46G, version="28.83.0.120"
    )
    await _bulk(p, 10)
    small_dump = _registered(*(f"{10000 + i}@default.provd.internal" for i in range(0, 10, 2)))
    params = {"per_page": "500", "status": "registered", "drift": "", "q": "person"}
    small, small_page = await _count_page(queries, small_dump, **params)
    assert small_page.matching == 5

    await _bulk(p, 990, first=10)
    big_dump = _registered(*(f"{10000 + i}@default.provd.internal" for i in range(0, 1000, 2)))
    big, big_page = await _count_page(queries, big_dump, **params)
    assert big_page.matching == 500 and len(big_page.rows) == 500
    assert small > 0
    assert big == small, f"{small} queries for 10 devices, {big} for 1000"
    # Another sort, the drift filter: still a fixed number of queries.
    drift, _ = await _count_page(queries, big_dump, sort="fetched", drift="1")
    assert drift <= small + 1
