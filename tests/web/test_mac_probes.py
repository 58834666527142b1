"""Installers learning about other tenants' MACs: every probe audited, a bound per
account and per tenant, and a claim of a phone provisioned elsewhere refused without
naming where."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from provd.db.models import AuditEntry, Device, ProvisioningToken
from provd.domain.mac import Mac
from provd.services import devices, discovery
from provd.services.access import tokens
from provd.services.directory import tenants
from provd.services.installer import mac_probes
from provd.services.platform import Platform
from provd.web.api import PREFIX
from tests.conftest import TEST_ACTOR
from tests.web.conftest import Served

# Globex's phones, which acme's installer must not take or learn much about.
GLOBEX = [Mac(f"0015650000{i:02x}") for i in range(1, 8)]
FREE = [Mac(f"0015651111{i:02x}") for i in range(1, 4)]

Client = Callable[[str], Awaitable[aiohttp.ClientSession]]


@pytest.fixture
async def client(served: Served, platform: Platform) -> AsyncIterator[Client]:
    """Tenants acme and globex, globex with unsealed phones; a session per token name:
    ``ivan`` and ``olga`` install for acme, ``root`` is the platform admin."""
    for slug in ("acme", "globex"):
        await tenants.add_tenant(platform, TEST_ACTOR, slug)
    for mac in GLOBEX:
        await devices.add_device(platform, TEST_ACTOR, mac, "yealink-t46g", tenant_slug="globex")
    bearer = {
        "ivan": await tokens.create_token(TEST_ACTOR, "ivan", role="installer", tenant_slug="acme"),
        "olga": await tokens.create_token(TEST_ACTOR, "olga", role="installer", tenant_slug="acme"),
        "root": await tokens.create_token(TEST_ACTOR, "root"),
    }
    opened: list[aiohttp.ClientSession] = []

    async def open_as(who: str) -> aiohttp.ClientSession:
        s = aiohttp.ClientSession(
            base_url=served.base,
            connector=aiohttp.TCPConnector(ssl=served.client_ssl()),
            headers={"Authorization": f"Bearer {bearer[who]}"},
        )
        opened.append(s)
        return s

    yield open_as
    for s in opened:
        await s.close()


async def _claim(s: aiohttp.ClientSession, mac: str, **extra: str) -> tuple[int, Any, str | None]:
    body = {"mac": mac, "model": "yealink-t46g", "extension": None, **extra}
    async with s.post(f"{PREFIX}/claims", json=body) as r:
        return r.status, await r.json(), r.headers.get("Retry-After")


async def _import(s: aiohttp.ClientSession, macs: list[Mac], *, dry_run: bool) -> tuple[int, Any]:
    text = "mac,model\r\n" + "".join(f"{m},yealink-t46g\r\n" for m in macs)
    query = "?dry_run=1" if dry_run else ""
    async with s.post(
        f"{PREFIX}/devices/import{query}",
        data=text.encode(),
        headers={"Content-Type": "text/csv"},
    ) as r:
        return r.status, await r.json()


async def _probes() -> list[AuditEntry]:
    return await AuditEntry.filter(action="device.probe").order_by("id")


async def test_a_claim_of_another_tenants_phone_is_refused_audited_and_changes_nothing(
    client: Client, platform: Platform
) -> None:
    ivan = await client("ivan")
    before = await Device.all().count()
    status, body, _ = await _claim(ivan, GLOBEX[0])
    assert status == 409
    assert body["error"]["field"] == "mac"
    assert "another account" in body["error"]["message"]
    assert "globex" not in str(body).lower()
    # Nothing written: the phone stays globex's, and its PnP answer opens globex's device.
    assert await Device.all().count() == before
    assert (await Device.get(mac=GLOBEX[0]).prefetch_related("tenant")).tenant.slug == "globex"
    url = await discovery.pnp_url(platform, GLOBEX[0], answer_unknown=False)
    assert url is not None
    token = await ProvisioningToken.all().select_related("device__tenant").get()
    assert token.device.tenant.slug == "globex"
    # The refusal told ivan something about another tenant: it is audited.
    [probe] = await _probes()
    assert (probe.actor, probe.object_type, probe.object_key) == ("api:ivan", "tenant", "acme")
    assert probe.after is not None
    assert (probe.after["via"], probe.after["elsewhere"], probe.after["macs"]) == (
        "claim",
        1,
        [GLOBEX[0]],
    )


async def test_dry_runs_are_audited_with_the_macs_found_elsewhere(client: Client) -> None:
    ivan = await client("ivan")
    status, body = await _import(ivan, FREE[:2], dry_run=True)
    assert (status, body["added"], body["dry_run"]) == (200, 2, True)
    status, body = await _import(ivan, [FREE[0], GLOBEX[0], GLOBEX[1]], dry_run=True)
    assert status == 400
    assert {e["row"] for e in body["errors"]} == {3, 4}
    assert "globex" not in str(body).lower()
    # A real import naming another tenant's phone is refused, and audited all the same.
    status, body = await _import(ivan, [FREE[0], GLOBEX[2]], dry_run=False)
    assert status == 400
    assert await Device.filter(mac=FREE[0]).count() == 0
    views = [
        (p.actor, p.object_key, p.after["via"], p.after["checked"], p.after["elsewhere"])
        for p in await _probes()
        if p.after is not None
    ]
    assert views == [
        ("api:ivan", "acme", "import dry run", 2, 0),
        ("api:ivan", "acme", "import dry run", 3, 2),
        ("api:ivan", "acme", "import", 2, 1),
    ]


async def test_refusals_past_the_bound_pause_the_installer_with_429(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mac_probes, "MAX_PER_ACCOUNT", 3)
    ivan, olga = await client("ivan"), await client("olga")
    for mac in GLOBEX[:3]:
        assert (await _claim(ivan, mac))[0] == 409
    # Paused: even a free MAC gets the same 429, so a paused answer tells nothing.
    for mac in (GLOBEX[3], FREE[0]):
        status, body, retry_after = await _claim(ivan, mac)
        assert status == 429
        assert retry_after is not None and int(retry_after) > 0
        message = body["error"]["message"]
        assert "registered on another account 3 times in the last hour (at most 3)" in message
        assert "paused" in message and "ask your provd administrator" in message
        assert "globex" not in message.lower()
    assert (await _import(ivan, FREE[:1], dry_run=True))[0] == 429
    assert (await _import(ivan, FREE[:1], dry_run=False))[0] == 429
    assert await Device.filter(mac__in=FREE).count() == 0
    # Another installer of the tenant still works; the paused requests wrote nothing.
    assert (await _claim(olga, FREE[0]))[0] == 201
    assert len(await _probes()) == 3

    # Once the refusals have left the window, ivan may go on.
    for probe in await _probes():
        probe.at = probe.at - mac_probes.WINDOW - timedelta(seconds=1)
        await probe.save(update_fields=["at"])
    assert (await _claim(ivan, FREE[1]))[0] == 201


async def test_a_tenants_installers_share_a_bound(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mac_probes, "MAX_PER_TENANT", 3)
    ivan, olga = await client("ivan"), await client("olga")
    for s, mac in ((ivan, GLOBEX[0]), (ivan, GLOBEX[1]), (olga, GLOBEX[2])):
        assert (await _claim(s, mac))[0] == 409
    for s in (ivan, olga):
        status, body, _ = await _claim(s, FREE[0])
        assert status == 429
        assert "your account's installers" in body["error"]["message"]


async def test_a_file_with_more_of_them_than_are_left_gets_429_not_the_rows(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mac_probes, "MAX_PER_ACCOUNT", 3)
    ivan = await client("ivan")
    status, body = await _import(ivan, [*GLOBEX[:5], FREE[0]], dry_run=True)
    assert status == 429
    assert "errors" not in body
    assert not any(m in str(body) for m in GLOBEX)
    [probe] = await _probes()
    assert probe.after is not None and probe.after["elsewhere"] == 5


async def test_dry_runs_are_bounded_too(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mac_probes, "MAX_DRY_RUNS", 2)
    ivan = await client("ivan")
    for _ in range(2):
        assert (await _import(ivan, FREE, dry_run=True))[0] == 200
    status, body = await _import(ivan, FREE, dry_run=True)
    assert status == 429
    assert "checked an import without importing 2 times" in body["error"]["message"]


async def test_the_platform_admin_is_neither_bounded_nor_kept_from_moving_a_phone(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mac_probes, "MAX_PER_ACCOUNT", 1)
    root = await client("root")
    for mac in GLOBEX[:3]:
        status, body, _ = await _claim(root, mac, tenant="acme")
        assert status == 409
        assert "already registered in tenant globex" in body["error"]["message"]
    assert await _probes() == []
