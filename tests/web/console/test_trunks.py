"""The console's trunks page: the wizard adds a trunk with its numbers moved by the
seed's rule and shows the accounts' passwords once; registration and channels in use
read "unknown" without a PBX; refusals shown by field with nothing written; a tenant
admin sees and changes their own tenant's trunks only."""

from __future__ import annotations

import html as html_lib
import re

from provd.db.models import AuditEntry, PhoneNumber, Trunk, TrunkAccount, TrunkNumber
from provd.services import numbers
from provd.services.platform import Platform
from provd.services.trunks.create import add_trunk
from provd.services.trunks.status import _size
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console
from tests.web.console.test_groups import fact, text
from tests.web.console.test_numbers import field_error, flashes

_WIZARD = {
    "name": "acme-pbx",
    "brand": "asterisk",
    "channels": "4",
    "format": "national",
    "allow_ips": "192.0.2.10\n198.51.100.0/24",
    "auth": "accounts",
    "address": "",
    "caller_id_policy": "replace",
    "inbound:+31201234501": "on",
    "caller_id:+31201234501": "on",
    "caller_id:+31201234502": "on",
    "failover_kind": "user",
    "failover_key": "202",
    "ring_seconds": "25",
}


def sections(page: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'<section class="card trunk"[^>]*data-trunk="([^"]+)"(.*?)</section>', page, re.S
        )
    )


async def snapshot() -> list[object]:
    out: list[object] = [await AuditEntry.all().count()]
    for model in (Trunk, TrunkAccount, TrunkNumber, PhoneNumber):
        out.append(await model.all().order_by("id").values())
    return out


async def test_the_wizard_adds_a_trunk_and_shows_its_passwords_once(
    tara: Console, platform: Platform
) -> None:
    await numbers.assign(platform, TEST_ACTOR, "+31201234501", "201", "acme")
    status, page = await tara.get("/console/trunks")
    assert status == 200
    assert 'id="no-trunks"' in page and 'data-number="+31201234501"' in page
    status, page = await tara.post("/console/trunks/acme", _WIZARD)
    assert status == 200
    rows = dict(
        re.findall(
            r'<td class="mono username">([^<]+)</td>\s*<td class="mono password">([^<]+)</td>', page
        )
    )
    assert set(rows) == {"acme-pbx-primary", "acme-pbx-secondary"}
    stored = {a.username: a.password_enc for a in await TrunkAccount.all()}
    for username, password in rows.items():
        assert platform.box.open(stored[username]) == html_lib.unescape(password)

    status, page = await tara.get("/console/trunks")
    card = sections(page)["acme-pbx"]
    for password in rows.values():
        assert password not in page
    assert fact(card, "channels") == "unknown of 4"  # no PBX runs with this server
    assert fact(card, "format") == "national"
    assert fact(card, "allowed") == "192.0.2.10/32 , 198.51.100.0/24"
    assert fact(card, "failover") == "user 202 (Back Office) after 25 s"
    assert fact(card, "main") == "+31201234501"
    accounts = re.findall(r'<li data-account="(\w+)">(.*?)<form', card, re.S)
    assert [(role, text(body)) for role, body in accounts] == [
        ("primary", "primary acme-pbx-primary : unknown"),
        ("secondary", "secondary acme-pbx-secondary : unknown"),
    ]
    numbers_on = re.findall(r'<li data-number="([^"]+)">(.*?)<form', card, re.S)
    assert [(n, text(body)) for n, body in numbers_on] == [
        ("+31201234501", "+31201234501 inbound, caller ID"),
        ("+31201234502", "+31201234502 caller ID"),
    ]
    # The user's number moved to the trunk, as the numbers page says.
    status, listed = await tara.get("/console/numbers")
    assert 'in use by trunk <a href="/console/trunks?tenant=acme#trunk-acme-pbx">' in listed
    row = await PhoneNumber.get(e164="+31201234501")
    assert row.assigned_user_id is None and row.assigned_trunk_id is not None  # type: ignore[attr-defined]

    # A new password: shown on its own page, the other account's left alone.
    status, page = await tara.post("/console/trunks/acme/acme-pbx/accounts/secondary/password")
    assert status == 200
    shown = re.findall(r'<td class="mono password">(.*?)</td>', page, re.S)
    assert "unchanged" in shown[0] and shown[1] not in rows.values()


async def test_refusals_show_by_field_and_write_nothing(tara: Console) -> None:
    before = await snapshot()
    for change, field_id in (
        ({"name": "Acme PBX"}, "e-name"),
        ({"channels": "x"}, "e-channels"),
        ({"allow_ips": "10.0.0.0/8"}, "e-allow_ip"),
        ({"auth": "ip"}, "e-address"),
        ({"failover_key": "299"}, "a-failover-error"),
    ):  # fmt: skip
        status, page = await tara.post("/console/trunks/acme", _WIZARD | change)
        assert status == 200
        assert field_error(page, field_id), (change, page)
        assert flashes(page)[0].startswith("The trunk was not added")
    assert await snapshot() == before


async def test_a_tenant_admin_sees_and_changes_only_their_trunks(
    tara: Console, alice: Console, platform: Platform
) -> None:
    await add_trunk(
        platform, TEST_ACTOR, "globex", "globex-pbx", channels=2, allow_ips=["192.0.2.9"]
    )
    await add_trunk(platform, TEST_ACTOR, "acme", "mine", channels=2, allow_ips=["192.0.2.8"])
    status, page = await tara.get("/console/trunks?tenant=globex")
    assert "globex-pbx" not in page
    before = await snapshot()
    for path in (
        "/console/trunks/globex",
        "/console/trunks/globex/globex-pbx",
        "/console/trunks/globex/globex-pbx/remove",
        "/console/trunks/globex/globex-pbx/accounts/primary/password",
        "/console/trunks/acme/globex-pbx/remove",
    ):
        status, _ = await tara.post(path, _WIZARD)
        assert status == 404, path
    assert await snapshot() == before
    status, page = await alice.get("/console/trunks?tenant=globex")
    assert list(sections(page)) == ["globex-pbx"]
    # The edit form saves what changed only.
    status, page = await tara.post(
        "/console/trunks/acme/mine",
        {"channels": "3", "allow_ips": "192.0.2.8/32", "format": "e164", "brand": "other",
         "caller_id_policy": "replace", "main_number": "", "ring_seconds": "30",
         "enabled": "on", "failover_kind": "none", "failover_key": ""},
    )  # fmt: skip
    assert fact(sections(page)["mine"], "channels") == "unknown of 3"
    assert await AuditEntry.filter(action="trunk.set").count() == 1
    status, page = await tara.post("/console/trunks/acme/mine/remove")
    assert "Trunk mine removed." in flashes(page)


def test_channels_in_use_as_kamailio_answers() -> None:
    assert _size(2) == 2
    assert _size({"profile": "channels", "value": "acme/pbx", "count": 1}) == 1
    assert _size([{"size": 0}]) == 0
    assert _size("x") is None and _size(True) is None
