"""Trunks over the API: tenant admins manage their own tenant's only (another's answers
as a missing one), passwords appear in two answers only, refusals name the field and
write nothing."""

from __future__ import annotations

from typing import Any

from provd.db.models import AuditEntry, Trunk, TrunkAccount, TrunkNumber
from provd.services import numbers
from provd.services.platform import Platform
from provd.services.trunks.create import add_trunk
from tests.conftest import TEST_ACTOR
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served

_NEW = {"name": "pbx", "channels": 2, "allow_ips": ["192.0.2.10"]}


async def _written() -> list[Any]:
    return [
        await AuditEntry.all().count(),
        await Trunk.all().order_by("id").values(),
        await TrunkAccount.all().order_by("id").values(),
        await TrunkNumber.all().order_by("id").values(),
    ]


async def test_a_tenant_admin_manages_only_their_trunks(served: Served, platform: Platform) -> None:
    async with clients(served, platform) as c:
        await numbers.add_block(platform, TEST_ACTOR, "+31201234500", 10, "acme")
        await numbers.assign(platform, TEST_ACTOR, "+31201234501", "201", "acme")
        await add_trunk(platform, TEST_ACTOR, "globex", "pbx", channels=2, allow_ips=["192.0.2.9"])
        added = await call(
            c.acme, "POST", "/trunks", 201,
            json=_NEW | {"failover": "user:202", "format": "national",
                         "numbers": [{"number": "0201234501"},
                                     {"number": "0201234502", "inbound": False}]},
        )  # fmt: skip
        assert added["tenant"] == "acme" and added["main_number"] == "+31201234501"
        passwords = {p["role"]: p["password"] for p in added["new_passwords"]}
        assert [p["username"] for p in added["new_passwords"]] == ["pbx-primary", "pbx-secondary"]
        shown = await call(c.acme, "GET", "/trunks/acme/pbx", 200)
        assert "new_passwords" not in shown
        assert shown == {k: v for k, v in added.items() if k != "new_passwords"}
        listed = await call(c.acme, "GET", "/trunks", 200)
        assert [(t["tenant"], t["name"]) for t in listed] == [("acme", "pbx")]
        for password in passwords.values():
            assert password not in str(listed) and password not in str(shown)
        everyone = await call(c.admin, "GET", "/trunks", 200)
        assert {t["tenant"] for t in everyone} == {"acme", "globex"}
        # The number moved from user 201 to the trunk.
        number = await call(c.acme, "GET", "/numbers", 200, params={"tenant": "acme"})
        use = next(n["use"] for n in number if n["number"] == "+31201234501")
        assert use == {"kind": "trunk", "key": "pbx", "name": ""}

        before = await _written()
        for method, path in (
            ("GET", "/trunks/globex/pbx"),
            ("PATCH", "/trunks/globex/pbx"),
            ("DELETE", "/trunks/globex/pbx"),
            ("POST", "/trunks/globex/pbx/numbers"),
            ("DELETE", "/trunks/globex/pbx/numbers/+31201234501"),
            ("POST", "/trunks/globex/pbx/password"),
        ):
            body: dict[str, Any] = {"channels": 3}
            if path.endswith("/numbers"):
                body = {"number": "+31201234503"}
            elif path.endswith("/password"):
                body = {"account": "primary"}
            json = body if method in ("PATCH", "POST") else None
            message = await refused(c.acme, method, path, 404, "tenant", json=json)
            assert "globex" in message
        await refused(c.acme, "POST", "/trunks", 404, "tenant", json=_NEW | {"tenant": "globex"})
        await refused(c.acme, "GET", "/trunks?tenant=globex", 404, "tenant")
        assert await _written() == before

        new = await call(c.acme, "POST", "/trunks/acme/pbx/password", 200,
                         json={"account": "primary"})  # fmt: skip
        [made] = new["new_passwords"]
        assert made["role"] == "primary" and made["password"] != passwords["primary"]
        await call(c.acme, "DELETE", "/trunks/acme/pbx", 204)


_REFUSED: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/trunks", _NEW | {"name": "PBX one"}, 400, "name"),
    ("POST", "/trunks", _NEW | {"channels": "2"}, 400, "channels"),
    ("POST", "/trunks", _NEW | {"channels": 0}, 400, "channels"),
    ("POST", "/trunks", _NEW | {"allow_ips": ["0.0.0.0/0"]}, 400, "allow_ip"),
    ("POST", "/trunks", _NEW | {"format": "+31"}, 400, "format"),
    ("POST", "/trunks", _NEW | {"brand": "acme"}, 400, "brand"),
    ("POST", "/trunks", _NEW | {"auth": "ip"}, 400, "address"),
    ("POST", "/trunks", _NEW | {"caller_id_policy": "x"}, 400, "caller_id_policy"),
    ("POST", "/trunks", _NEW | {"failover": "group:699"}, 404, "failover"),
    ("POST", "/trunks", _NEW | {"ring_seconds": 301}, 400, "ring_seconds"),
    ("POST", "/trunks", _NEW | {"numbers": [{"number": "+31209999999"}]}, 404, "number"),
    ("POST", "/trunks", _NEW | {"colour": "red"}, 400, "colour"),
    ("POST", "/trunks", _NEW | {"name": "acme"}, 409, "name"),
    ("PATCH", "/trunks/acme/acme", {}, 400, "settings"),
    ("PATCH", "/trunks/acme/acme", {"main_number": "+31209999999"}, 400, "main_number"),
    ("POST", "/trunks/acme/acme/password", {"account": "third"}, 400, "account"),
]


async def test_refusals_name_the_field_and_write_nothing(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await add_trunk(platform, TEST_ACTOR, "acme", "acme", channels=2, allow_ips=["192.0.2.9"])
        before = await _written()
        for method, path, body, status, field in _REFUSED:
            await refused(c.acme, method, path, status, field, json=body)
        assert await _written() == before
