"""Customer trunks: the wizard's create in one transaction, numbers moved to a trunk by
the seed's rule, refusals naming the field with nothing written, audit rows, tenant
scoping, and account passwords shown once and sealed at rest."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from provd.db.models import AuditEntry, PhoneNumber, Trunk, TrunkAccount, TrunkNumber
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import groups, numbers
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.trunks import NumberOnTrunk, list_trunks, show_trunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.numbers import add_number, remove_number
from provd.services.trunks.passwords import regenerate_password
from provd.services.trunks.remove import remove_trunk
from provd.services.trunks.update import update_trunk
from tests.conftest import TEST_ACTOR as A
from tests.conftest import starting_from

NETS = ["192.0.2.10", "198.51.100.0/24"]


async def written() -> dict[str, Any]:
    return {
        "audit": await AuditEntry.all().count(),
        "trunks": await Trunk.all().order_by("id").values(),
        "accounts": await TrunkAccount.all().order_by("id").values(),
        "on_trunks": await TrunkNumber.all().order_by("id").values(),
        "numbers": await PhoneNumber.all().order_by("id").values(),
    }


async def _use(e164: str) -> dict[str, Any] | None:
    use: dict[str, Any] | None = (await numbers.get_number(e164, "default")).as_dict()["use"]
    return use


async def _office(platform: Platform) -> None:
    await users.add_user(platform, A, "default", "201", "Front Desk")
    await groups.add_group(platform, A, "default", "600", "Sales", "fixed")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.assign(platform, A, "+31201234501", "201", "default")
    await numbers.assign(platform, A, "+31201234502", tenant_slug="default", group="600")


platform_start = starting_from(_office)


@pytest.fixture
def office(platform: Platform) -> Platform:
    return platform


async def test_the_wizard_creates_the_trunk_with_numbers_and_both_accounts(
    office: Platform,
) -> None:
    made = await add_trunk(
        office, A, "default", "acme-pbx", channels=4, allow_ips=NETS, number_format="national",
        brand="3cx", failover="user:201",
        numbers=[
            NumberOnTrunk("020 123 4501", inbound=True, caller_id=True),
            NumberOnTrunk("+31201234502", inbound=False, caller_id=True),
            NumberOnTrunk("+31201234503", inbound=True, caller_id=False),
        ],
    )  # fmt: skip
    view = made.view
    assert view["allow_ips"] == ["192.0.2.10/32", "198.51.100.0/24"]
    assert (view["channels"], view["format"], view["brand"], view["auth"]) == (
        4, "national", "3cx", "accounts",
    )  # fmt: skip
    assert view["accounts"] == [
        {"role": "primary", "username": "acme-pbx-primary"},
        {"role": "secondary", "username": "acme-pbx-secondary"},
    ]
    assert view["numbers"] == [
        {"number": "+31201234501", "inbound": True, "caller_id": True},
        {"number": "+31201234502", "inbound": False, "caller_id": True},
        {"number": "+31201234503", "inbound": True, "caller_id": False},
    ]
    # The first caller-ID number is the main number unless another is named.
    assert view["main_number"] == "+31201234501"
    assert view["failover"] == {
        "kind": "user",
        "key": "201",
        "name": "Front Desk",
        "text": "user:201",
    }
    assert view["ring_seconds"] == 30 and view["caller_id_policy"] == "replace"
    # Inbound moved the user's number; caller-ID-only left the group's alone.
    assert await _use("+31201234501") == {"kind": "trunk", "key": "acme-pbx", "name": ""}
    assert (await _use("+31201234502") or {})["kind"] == "group"
    assert (await _use("+31201234503") or {})["kind"] == "trunk"
    assert set(made.passwords) == {"primary", "secondary"}
    assert made.passwords["primary"] != made.passwords["secondary"]
    entry = await AuditEntry.filter(action="trunk.add").get()
    assert (entry.object_type, entry.object_key, entry.after) == ("trunk", "default/acme-pbx", view)
    moved = [(n["number"], n["use"]) for n in (entry.before or {})["numbers_before"]]
    assert moved == [
        ("+31201234501", {"kind": "user", "key": "201", "name": "Front Desk"}),
        ("+31201234502", {"kind": "group", "key": "600", "name": "Sales"}),
    ]
    assert [t["name"] for t in await list_trunks("default")] == ["acme-pbx"]
    assert await show_trunk("default", "acme-pbx") == view


async def test_an_ip_trunk_has_an_address_and_no_accounts(office: Platform) -> None:
    made = await add_trunk(
        office, A, "default", "ip-pbx", channels=2, allow_ips=["192.0.2.10"], auth="ip",
        address="192.0.2.10",
    )  # fmt: skip
    assert made.view["accounts"] == [] and made.passwords == {}
    assert made.view["address"] == "192.0.2.10:5060"
    assert made.view["main_number"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Acme PBX"}, "name"),
        ({"name": "-acme"}, "name"),
        ({"channels": 0}, "channels"),
        ({"channels": 1001}, "channels"),
        ({"allow_ips": []}, "allow_ip"),
        ({"allow_ips": ["10.0.0.0/8"]}, "allow_ip"),
        ({"allow_ips": ["192.0.2.1/24"]}, "allow_ip"),
        ({"allow_ips": ["pbx.example"]}, "allow_ip"),
        ({"number_format": "0031"}, "format"),
        ({"brand": "panasonic"}, "brand"),
        ({"auth": "tls"}, "auth"),
        ({"auth": "ip"}, "address"),
        ({"address": "192.0.2.10"}, "address"),
        ({"auth": "ip", "address": "pbx example"}, "address"),
        ({"caller_id_policy": "keep"}, "caller_id_policy"),
        ({"ring_seconds": 4}, "ring_seconds"),
        ({"failover": "user:299"}, "failover"),
        ({"failover": "external:112"}, "failover"),
        ({"main_number": "+31201234509"}, "main_number"),
        ({"numbers": [NumberOnTrunk("+31201234599")]}, "number"),
        ({"numbers": [NumberOnTrunk("+31201234503", inbound=False, caller_id=False)]}, "number"),
        # All or nothing: the first number would move, the second does not exist.
        (
            {"numbers": [NumberOnTrunk("+31201234501"), NumberOnTrunk("+31201234599")]},
            "numbers[1]",
        ),
    ],
)
async def test_refusals_name_the_field_and_write_nothing(
    office: Platform, kwargs: dict[str, Any], field: str
) -> None:
    before = await written()
    args: dict[str, Any] = {"name": "acme", "channels": 2, "allow_ips": NETS} | kwargs
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await add_trunk(office, A, "default", args.pop("name"), **args)
    assert getattr(refused.value, "field", None) == field
    assert await written() == before


async def test_a_number_is_on_one_trunk_and_moves_back_by_release(office: Platform) -> None:
    await add_trunk(office, A, "default", "one", channels=2, allow_ips=NETS)
    await add_trunk(office, A, "default", "two", channels=2, allow_ips=NETS)
    await add_number(office, A, "default", "one", NumberOnTrunk("+31201234504", caller_id=False))
    with pytest.raises(Conflict, match="on trunk one") as refused:
        await add_number(office, A, "default", "two", NumberOnTrunk("+31201234504"))
    assert refused.value.field == "number"
    # A number on a trunk is in use: a user gets it only once it is released...
    with pytest.raises(Conflict, match="in use by trunk one"):
        await numbers.assign(office, A, "+31201234504", "201", "default")
    await numbers.release(office, A, "+31201234504", "default")
    # ...which takes it off the trunk, so that it no longer claims it.
    assert await TrunkNumber.all().count() == 0
    await numbers.assign(office, A, "+31201234504", "201", "default")
    # A caller-ID number released from its inbound use keeps its caller-ID flag.
    await add_number(office, A, "default", "two", NumberOnTrunk("+31201234504"))
    await numbers.release(office, A, "+31201234504", "default")
    view = await show_trunk("default", "two")
    assert view["numbers"] == [{"number": "+31201234504", "inbound": False, "caller_id": True}]
    # Nor can its block go while a trunk presents one of its numbers.
    with pytest.raises(InvalidInput, match="a caller ID of trunk two"):
        await numbers.remove_block(office, A, "+31201234500", "default")


async def test_flags_change_and_detaching_an_inbound_number_leaves_it_unused(
    office: Platform,
) -> None:
    await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS)
    await add_number(office, A, "default", "pbx", NumberOnTrunk("+31201234505", caller_id=False))
    assert (await _use("+31201234505") or {})["kind"] == "trunk"
    # Inbound off: the number's inbound use goes, its caller-ID flag stays.
    view = await add_number(
        office, A, "default", "pbx", NumberOnTrunk("+31201234505", inbound=False)
    )
    assert view["numbers"] == [{"number": "+31201234505", "inbound": False, "caller_id": True}]
    assert await _use("+31201234505") is None
    await add_number(office, A, "default", "pbx", NumberOnTrunk("+31201234505"))
    await update_trunk(office, A, "default", "pbx", main_number="+31201234505")
    with pytest.raises(InvalidInput, match="main number") as refused:
        await remove_number(office, A, "default", "pbx", "+31201234505")
    assert refused.value.field == "number"
    with pytest.raises(InvalidInput, match="main number"):
        await add_number(
            office, A, "default", "pbx", NumberOnTrunk("+31201234505", caller_id=False)
        )
    await update_trunk(office, A, "default", "pbx", main_number="none")
    view = await remove_number(office, A, "default", "pbx", "+31201234505")
    assert view["numbers"] == []
    assert await _use("+31201234505") is None
    actions = [e.action for e in await AuditEntry.filter(object_type="trunk").order_by("id")]
    assert actions == [
        "trunk.add", "trunk.number.add", "trunk.number.add", "trunk.number.add", "trunk.set",
        "trunk.set", "trunk.number.remove",
    ]  # fmt: skip


async def test_update_checks_everything_before_saving(office: Platform) -> None:
    await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS)
    before = await written()
    with pytest.raises(InvalidInput) as refused:
        await update_trunk(office, A, "default", "pbx", channels=3, allow_ips=["10.0.0.0/8"])
    assert refused.value.field == "allow_ip"
    with pytest.raises(InvalidInput) as refused:
        await update_trunk(office, A, "default", "pbx", address="192.0.2.1")
    assert refused.value.field == "address"
    with pytest.raises(InvalidInput) as refused:
        await update_trunk(office, A, "default", "pbx")
    assert refused.value.field == "settings"
    assert await written() == before
    view = await update_trunk(
        office, A, "default", "pbx", channels=3, allow_ips=["203.0.113.7"], number_format="00",
        failover="group:600", caller_id_policy="refuse", ring_seconds=20, enabled=False,
    )  # fmt: skip
    assert (view["channels"], view["allow_ips"], view["format"], view["enabled"]) == (
        3, ["203.0.113.7/32"], "00", False,
    )  # fmt: skip
    assert view["failover"]["text"] == "group:600"
    assert (view["caller_id_policy"], view["ring_seconds"]) == ("refuse", 20)


async def test_another_tenants_trunks_and_numbers_are_not_found(office: Platform) -> None:
    await tenants.add_tenant(office, A, "acme")
    await numbers.add_block(office, A, "+31301234500", 1, "acme")
    await add_trunk(office, A, "acme", "pbx", channels=2, allow_ips=NETS)
    with pytest.raises(NotFound):
        await show_trunk("default", "pbx")
    with pytest.raises(NotFound):
        await remove_trunk(office, A, "default", "pbx")
    with pytest.raises(NotFound) as refused:
        await add_trunk(
            office, A, "default", "pbx", channels=2, allow_ips=NETS,
            numbers=[NumberOnTrunk("+31301234500")],
        )  # fmt: skip
    assert refused.value.field == "number"
    assert [t["tenant"] for t in await list_trunks()] == ["acme"]
    # Names are per tenant.
    await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS)
    with pytest.raises(Conflict) as again:
        await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS)
    assert again.value.field == "name"


async def test_passwords_are_shown_once_and_sealed_at_rest(
    office: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS)
    new = await regenerate_password(office, A, "default", "pbx", "secondary")
    assert set(new.passwords) == {"secondary"}
    assert new.passwords["secondary"] != made.passwords["secondary"]
    assert new.as_dict()["new_passwords"] == [
        {"role": "secondary", "username": "pbx-secondary", "password": new.passwords["secondary"]}
    ]
    shown = [made.passwords["primary"], made.passwords["secondary"], new.passwords["secondary"]]
    stored = {a.role: a.password_enc for a in await TrunkAccount.all()}
    assert office.box.open(stored["primary"]) == made.passwords["primary"]
    assert office.box.open(stored["secondary"]) == new.passwords["secondary"]
    for password in shown:
        assert password.encode() not in b"".join(stored.values())
        assert password not in str(await AuditEntry.all().values())
        assert password not in caplog.text
        assert password not in str(await show_trunk("default", "pbx"))
    entry = await AuditEntry.filter(action="trunk.password").get()
    assert entry.after == {"account": "secondary", "username": "pbx-secondary"}
    with pytest.raises(InvalidInput) as refused:
        await regenerate_password(office, A, "default", "pbx", "tertiary")
    assert refused.value.field == "account"


async def test_removing_a_trunk_frees_its_numbers(office: Platform) -> None:
    await add_trunk(
        office, A, "default", "pbx", channels=2, allow_ips=NETS,
        numbers=[NumberOnTrunk("+31201234501")],
    )  # fmt: skip
    await remove_trunk(office, A, "default", "pbx")
    assert await Trunk.all().count() == 0
    assert await TrunkAccount.all().count() == 0
    assert await _use("+31201234501") is None
    entry = await AuditEntry.filter(action="trunk.remove").get()
    assert entry.before is not None and entry.before["name"] == "pbx"


async def test_what_a_trunk_fails_over_to_is_not_removed(office: Platform) -> None:
    await add_trunk(office, A, "default", "pbx", channels=2, allow_ips=NETS, failover="group:600")
    with pytest.raises(InvalidInput, match="trunk pbx's failover"):
        await groups.remove_group(office, A, "default", "600")
    await update_trunk(office, A, "default", "pbx", failover="none")
    await numbers.release(office, A, "+31201234502", "default")
    await groups.remove_group(office, A, "default", "600")
