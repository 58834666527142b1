"""The console's carriers page, platform admins only: each carrier with its address,
order, registration, inbound networks and its state from the last OPTIONS probe (or
"not probed yet"); added and removed through the forms, refusals by field with
nothing written and the password never sent back."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

import pytest

from provd.db.models import AuditEntry, Carrier
from provd.services import carriers
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console, snapshot
from tests.web.console.test_numbers import field_error, flashes

_CELLS = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def table(page: str) -> dict[str, list[str]]:
    """Each carrier's cells as text, by name."""
    rows = re.findall(r'<tr data-carrier="([^"]+)">(.*?)</tr>', page, re.S)
    return {
        name: [
            " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in _CELLS.findall(cells)
        ][:8]
        for name, cells in rows
    }


async def test_the_list_shows_each_carrier_with_its_probe_state(
    alice: Console, platform: Platform
) -> None:
    await carriers.add_carrier(
        platform,
        TEST_ACTOR,
        "upstream",
        "127.0.0.1:5080",
        transport="tcp",
        username="acct-1",
        password="s3cret-Pass",
        inbound_from=["192.0.2.0/24", "198.51.100.7"],
        priority=5,
    )
    await carriers.add_carrier(platform, TEST_ACTOR, "backup", "::1", transport="tls")
    await carriers.add_carrier(platform, TEST_ACTOR, "spare", "127.0.0.2", priority=20)
    at = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    await Carrier.filter(name="upstream").update(
        probe_up=True, probe_status=200, probe_reason="OK", probed_at=at
    )
    await Carrier.filter(name="spare").update(
        probe_up=False, probe_status=503, probe_reason="Service Unavailable", probed_at=at
    )
    status, page = await alice.get("/console/carriers")
    assert status == 200
    listed = table(page)
    assert list(listed) == ["upstream", "backup", "spare"]  # the order calls try them
    assert listed["upstream"] == [
        "upstream",
        "127.0.0.1:5080/tcp",
        "5",
        "yes",
        "yes as acct-1",
        "192.0.2.0/24 198.51.100.7/32",
        "up",
        "200 OK 2026-12-06 22:00 UTC",
    ]
    assert listed["backup"][1:3] == ["[::1]:5061/tls", "10"]
    assert listed["backup"][4:] == ["no", "its own address", "unknown", "not probed yet"]
    assert listed["spare"][6:] == ["down", "503 Service Unavailable 2026-12-06 22:00 UTC"]
    assert '<span class="badge bad">down</span>' in page
    assert "s3cret" not in page


async def test_a_carrier_added_and_removed_through_the_forms_is_audited(alice: Console) -> None:
    form = {
        "name": "Upstream",
        "host": "127.0.0.1",
        "transport": "udp",
        "priority": "3",
        "inbound_from": "192.0.2.0/24\r\n198.51.100.0/24, 203.0.113.9",
        "username": "acct",
        "password": "s3cret-Pass",
    }
    status, page = await alice.post("/console/carriers", form)
    assert status == 200 and "Carrier upstream added." in flashes(page)
    carrier = await Carrier.get(name="upstream")
    assert carrier.inbound_from == ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.9/32"]
    assert (carrier.priority, carrier.username) == (3, "acct")
    assert table(page)["upstream"][4] == "yes as acct"
    assert "s3cret" not in page
    entry = await AuditEntry.filter(action="carrier.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice"

    status, page = await alice.post("/console/carriers/upstream/remove")
    assert status == 200 and "Carrier upstream removed." in flashes(page)
    assert not await Carrier.exists(name="upstream")
    assert await AuditEntry.filter(action="carrier.remove", actor="web:alice").exists()
    status, page = await alice.post("/console/carriers/upstream/remove")
    assert any("not found" in f for f in flashes(page))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "-bad"}, "name", "not a carrier name"),
        ({"host": "no host!"}, "host", ""),
        ({"transport": "sctp"}, "transport", "not udp, tcp or tls"),
        ({"priority": "high"}, "priority", "not a whole number"),
        ({"priority": "1001"}, "priority", "between 0 and 1000"),
        ({"inbound_from": "10.0.0.1/24"}, "inbound_from", "host bits set"),
        ({"inbound_from": "not-a-network"}, "inbound_from", "not a network"),
        ({"username": "acct"}, "password", "both a username and a password"),
        ({"password": "s3cret-Pass"}, "username", "both a username and a password"),
        ({"name": "taken"}, "name", "already exists"),
    ],
)
async def test_a_refused_carrier_names_the_field_and_writes_nothing(
    alice: Console, platform: Platform, changes: dict[str, str], field: str, message: str
) -> None:
    await carriers.add_carrier(platform, TEST_ACTOR, "taken", "127.0.0.1")
    before = await snapshot()
    form = {"name": "new", "host": "127.0.0.1", "transport": "udp", "priority": "", **changes}
    status, page = await alice.post("/console/carriers", form)
    assert status == 200
    assert field_error(page, f"e-{field}") != ""
    assert message in field_error(page, f"e-{field}")
    assert any(f.startswith("The carrier was not added") for f in flashes(page))
    assert f'value="{html_lib.escape(form["name"])}"' in page
    # The password typed is not sent back.
    assert "s3cret-Pass" not in page
    assert await snapshot() == before


async def test_a_host_that_does_not_resolve_is_refused_by_its_field(
    alice: Console, platform: Platform
) -> None:
    async def unresolvable(host: str, port: int) -> None:
        raise OSError("Name or service not known")

    platform.resolve_host = unresolvable
    before = await snapshot()
    _, page = await alice.post("/console/carriers", {"name": "gone", "host": "sip.invalid"})
    assert "does not resolve" in field_error(page, "e-host")
    assert await snapshot() == before


async def test_carriers_are_the_platform_admins(tara: Console) -> None:
    before = await snapshot()
    for method, path in (
        ("GET", "/console/carriers"),
        ("POST", "/console/carriers"),
        ("POST", "/console/carriers/upstream/remove"),
    ):
        if method == "GET":
            status, page = await tara.get(path)
        else:
            status, page = await tara.post(path, {"name": "sneaky", "host": "127.0.0.1"})
        assert status == 403 and "tenant-admin role may not open this page" in page, path
    _, page = await tara.get("/console/numbers")
    assert 'href="/console/carriers"' not in page
    assert await snapshot() == before
