"""The discovered list: upserts by MAC, claimed phones hidden, forgetting audited,
sightings not (they must not invalidate the phone path's context cache)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import pytest

from provd.db.models import AuditEntry, Device, DiscoveredDevice
from provd.domain.errors import NotFound
from provd.domain.mac import Mac
from provd.services import devices, discovery
from provd.services.directory import tenants
from provd.services.discovery import Sighting, Source
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

T46G = Mac("0015654aa937")
D785 = Mac("000413922d24")
OTHER = Mac("0a0b0c0d0e0f")


async def _audit_count() -> int:
    return await AuditEntry.all().count()


async def test_a_dhcp_then_a_pnp_sighting_make_one_row(platform: Platform) -> None:
    audit_before = await _audit_count()
    await discovery.record_sighting(
        Sighting(
            T46G,
            Source.DHCP,
            ip="10.0.0.5",
            vendor_class="yealink",
            requested_options=(1, 3, 6, 66, 43),
        )
    )
    await discovery.record_sighting(
        Sighting(
            T46G,
            Source.PNP,
            ip="10.0.0.6",
            vendor="Yealink",
            model="SIP-T46G",
            user_agent="Yealink SIP-T46G 28.83.0.120",
        )
    )
    [row] = await discovery.list_unclaimed()
    view = discovery.discovered_view(row)
    assert view | {"first_seen_at": "-", "last_seen_at": "-"} == {
        "mac": T46G,
        "ip": "10.0.0.6",
        "vendor": "yealink",
        "model": "SIP-T46G",
        "vendor_class": "yealink",  # kept: the PnP sighting had none
        "hostname": None,
        "requested_options": [1, 3, 6, 66, 43],
        "source": "dhcp,pnp",
        "first_seen_at": "-",
        "last_seen_at": "-",
        "seen_count": 2,
    }
    assert row.user_agent == "Yealink SIP-T46G 28.83.0.120"
    assert row.last_seen_at >= row.first_seen_at
    assert await _audit_count() == audit_before


async def test_vendor_is_the_registered_prefix_else_what_the_phone_says(
    platform: Platform,
) -> None:
    await discovery.record_sighting(Sighting(D785, Source.PNP, vendor="OEM", model="snomD785"))
    await discovery.record_sighting(Sighting(OTHER, Source.PNP, vendor="Acme\r\nX", model="Z"))
    vendors = {d.mac: d.vendor for d in await discovery.list_unclaimed()}
    assert vendors == {D785: "snom", OTHER: "acmex"}


async def test_claimed_phones_are_not_listed(platform: Platform) -> None:
    for mac in (T46G, D785):
        await discovery.record_sighting(Sighting(mac, Source.DHCP, ip="10.0.0.9"))
    await devices.add_device(platform, TEST_ACTOR, T46G, "yealink-t46g")
    assert [d.mac for d in await discovery.list_unclaimed()] == [D785]


async def test_the_list_is_bounded(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "MAX_DISCOVERED", 2)
    for mac in (T46G, D785, OTHER):
        await discovery.record_sighting(Sighting(mac, Source.DHCP))
    await discovery.record_sighting(Sighting(T46G, Source.DHCP, ip="10.0.0.7"))
    rows = {d.mac: d for d in await DiscoveredDevice.all()}
    assert set(rows) == {T46G, D785}
    assert (rows[T46G].seen_count, rows[T46G].ip) == (2, "10.0.0.7")


async def test_forgetting_is_audited(platform: Platform) -> None:
    for mac in (T46G, D785, OTHER):
        await discovery.record_sighting(Sighting(mac, Source.DHCP))
    await discovery.forget(TEST_ACTOR, "00:15:65:4A:A9:37")
    entry = await AuditEntry.all().order_by("-id").first()
    assert entry is not None
    assert (entry.action, entry.object_key) == ("discovered.forget", T46G)
    with pytest.raises(NotFound) as e:
        await discovery.forget(TEST_ACTOR, T46G)
    assert e.value.field == "mac"
    await devices.add_device(platform, TEST_ACTOR, D785, "snom-d785")
    # All that is listed; the claimed phone's sighting stays (where it was last seen).
    assert await discovery.forget_all(TEST_ACTOR) == 1
    assert [d.mac for d in await DiscoveredDevice.all()] == [D785]
    entry = await AuditEntry.all().order_by("-id").first()
    assert entry is not None and entry.action == "discovered.forget_all"


async def test_pnp_url_per_kind_of_phone(platform: Platform) -> None:
    bare = platform.settings.provisioning_url
    assert await discovery.pnp_url(platform, T46G, answer_unknown=False) is None
    assert await discovery.pnp_url(platform, T46G, answer_unknown=True) == bare

    await devices.add_device(platform, TEST_ACTOR, T46G, "yealink-t46g")
    url = await discovery.pnp_url(platform, T46G, answer_unknown=False)
    assert url is not None
    parts = urlsplit(url)
    tenant = await tenants.get_tenant("default")
    credential = tenants.bootstrap_credential(platform, tenant)
    # A token of its own (tests/web/test_pnp_token.py), never the tenant's credential.
    assert parts.username is not None and parts.username.startswith("pnp-")
    assert unquote(parts.password or "") != credential.password
    assert f"{parts.scheme}://{parts.hostname}:{parts.port}/" == bare

    # Sealed: a token would be refused, so none is handed out.
    await Device.filter(mac=T46G).update(sealed_at=datetime.now(UTC))
    assert await discovery.pnp_url(platform, T46G, answer_unknown=False) == bare
