"""Carriers: validated before anything is written, the password sealed and never shown."""

from __future__ import annotations

import socket

import pytest

from provd.db.models import AuditEntry, Carrier
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import carriers
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A


async def _unresolvable(host: str, port: int) -> None:
    # What getaddrinfo raises for a name without an address, without asking a DNS server.
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def test_add_list_remove(platform: Platform) -> None:
    added = await carriers.add_carrier(
        platform,
        A,
        "Upstream",
        "localhost:5080",
        transport="TCP",
        username="acct-1",
        password="s3cret-Pass",
        inbound_from=["127.0.0.0/8", "::1", "127.0.0.0/8"],
        priority=5,
    )
    assert (added.name, added.host, added.port, added.transport) == (
        "upstream",
        "localhost",
        5080,
        "tcp",
    )
    assert added.inbound_from == ["127.0.0.0/8", "::1/128"]
    assert added.password_enc is not None and b"s3cret" not in added.password_enc
    assert carriers.carrier_password(platform, added) == "s3cret-Pass"
    await carriers.add_carrier(platform, A, "backup", "127.0.0.1", transport="tls")
    listed = await carriers.list_carriers()
    assert [c.name for c in listed] == ["upstream", "backup"]
    assert listed[1].port == 5061 and carriers.carrier_password(platform, listed[1]) is None
    view = carriers.carrier_view(listed[0])
    assert view["registers"] is True
    assert not any("pass" in k for k in view) and "s3cret-Pass" not in str(view)
    row = await AuditEntry.filter(action="carrier.add").order_by("id").first()
    assert row is not None and "s3cret" not in str(row.after)
    await carriers.remove_carrier(platform, A, "upstream")
    assert [c.name for c in await carriers.list_carriers()] == ["backup"]
    with pytest.raises(NotFound) as e:
        await carriers.remove_carrier(platform, A, "upstream")
    assert e.value.field == "name"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"name": "-bad"}, "name"),
        ({"host": "no host!"}, "host"),
        ({"host": "localhost:99999"}, "host"),
        ({"transport": "sctp"}, "transport"),
        ({"username": "u"}, "password"),
        ({"password": "p"}, "username"),
        ({"username": "u", "password": "a\nb"}, "password"),
        ({"inbound_from": ["10.0.0.1/24"]}, "inbound_from"),
        ({"inbound_from": ["not-a-cidr"]}, "inbound_from"),
        ({"inbound_from": ["10.0.0.0/33"]}, "inbound_from"),
        ({"priority": -1}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": "1"}, "priority"),
        ({"name": "dup"}, "name"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    platform: Platform, kw: dict[str, object], field: str
) -> None:
    await carriers.add_carrier(platform, A, "dup", "127.0.0.1")
    before = (await Carrier.all().count(), await AuditEntry.all().count())
    args: dict[str, object] = {"name": "new", "host": "127.0.0.1", **kw}
    with pytest.raises(InvalidInput) as e:
        await carriers.add_carrier(platform, A, **args)  # type: ignore[arg-type]
    assert e.value.field == field
    assert (await Carrier.all().count(), await AuditEntry.all().count()) == before


async def test_a_host_that_does_not_resolve_is_refused(platform: Platform) -> None:
    with pytest.raises(InvalidInput, match="does not resolve") as e:
        platform.resolve_host = _unresolvable
        await carriers.add_carrier(platform, A, "gone", "sip.example.invalid")
    assert e.value.field == "host"
    assert await Carrier.all().count() == 0


async def test_host_bits_name_the_network_meant(platform: Platform) -> None:
    with pytest.raises(InvalidInput, match=r"the network is 10\.0\.0\.0/24"):
        carriers.parse_networks(["10.0.0.1/24"])


async def test_a_duplicate_name_is_a_conflict(platform: Platform) -> None:
    await carriers.add_carrier(platform, A, "one", "127.0.0.1")
    with pytest.raises(Conflict):
        await carriers.add_carrier(platform, A, "ONE", "127.0.0.2")
