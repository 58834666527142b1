"""The outbound policy pages of a tenant and a user: shown on the tenant and
user pages, set through one form with an audit row, an unchanged form writes nothing,
refusals are shown by field with nothing written, and a tenant admin reaches their own
tenant's only."""

from __future__ import annotations

from provd.db.models import AuditEntry, Tenant, Trunk, User
from provd.services import outbound
from tests.web.console.conftest import Console
from tests.web.console.test_numbers import field_error, flashes
from tests.web.console.test_user_numbers import fact

TENANT_PAGE = "/console/outbound/acme"
USER_PAGE = "/console/outbound/acme/users/201"


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await Tenant.all().order_by("id").values("id", "outbound_policy"),
        await User.all().order_by("id").values("id", "outbound_policy"),
        await Trunk.all().order_by("id").values("id", "outbound_policy"),
    ]


async def test_the_tenant_policy_is_shown_and_set(tara: Console) -> None:
    _, tenant_page = await tara.get("/console/tenants/acme")
    assert fact(tenant_page, "outbound") == "no restrictions (fraud-prone destinations blocked)"
    assert f'href="{TENANT_PAGE}"' in tenant_page

    _, page = await tara.post(
        TENANT_PAGE,
        {
            "block_premium": "on",
            "block_international": "on",
            "preset_benelux": "on",
            "allow_prefixes": "0044, +49",
        },
    )
    assert "Outbound policy saved." in flashes(page)
    assert fact(page, "outbound-description") == (
        "blocks international, premium; only benelux, +44, +49"
    )
    assert 'name="block_premium" checked' in page
    assert 'name="block_mobile">' in page
    assert 'value="+44 +49"' in page
    entry = await AuditEntry.filter(action="outbound.policy.set").order_by("-id").first()
    assert entry is not None and entry.actor == "web:tara" and entry.object_key == "acme"
    _, tenant_page = await tara.get("/console/tenants/acme")
    assert fact(tenant_page, "outbound") == "blocks international, premium; only benelux, +44, +49"

    # The form as shown, sent again: nothing changes and nothing is written.
    before = await snapshot()
    same = {
        "block_premium": "on",
        "block_international": "on",
        "preset_benelux": "on",
        "allow_prefixes": "+44 +49",
    }
    _, page = await tara.post(TENANT_PAGE, same)
    assert "Nothing changed." in flashes(page)
    assert await snapshot() == before
    # An unticked box clears its part.
    _, page = await tara.post(TENANT_PAGE, {"allow_prefixes": ""})
    assert fact(page, "outbound-description") == (
        "no restrictions (fraud-prone destinations blocked)"
    )


async def test_a_users_policy_is_set_from_their_page(tara: Console) -> None:
    _, user_page = await tara.get("/console/users/acme/201")
    assert fact(user_page, "outbound") == "no restrictions (fraud-prone destinations blocked)"
    assert f'href="{USER_PAGE}"' in user_page
    _, page = await tara.post(USER_PAGE, {"block_mobile": "on", "preset_nl": "on"})
    assert "Outbound policy saved." in flashes(page)
    assert "Outbound policy of user 201" in page
    _, user_page = await tara.get("/console/users/acme/201")
    assert fact(user_page, "outbound") == "blocks mobile; only nl"
    # The tenant's own is untouched.
    assert (await outbound.show_policy("acme"))["block"] == []


async def test_a_refusal_is_shown_by_field_with_what_was_typed(tara: Console) -> None:
    before = await snapshot()
    _, page = await tara.post(TENANT_PAGE, {"block_premium": "on", "allow_prefixes": "+44 call"})
    assert field_error(page, "e-allow_prefix").startswith("'call' is not a number prefix")
    assert any(f.startswith("Nothing was saved:") for f in flashes(page))
    assert 'value="+44 call"' in page
    assert 'name="block_premium" checked' in page
    assert await snapshot() == before


async def test_another_tenant_or_a_missing_user_is_404(tara: Console) -> None:
    before = await snapshot()
    for path in (
        "/console/outbound/globex",
        "/console/outbound/globex/users/301",
        "/console/outbound/acme/users/299",
    ):
        assert (await tara.get(path))[0] == 404, path
        assert (await tara.post(path, {"block_premium": "on"}))[0] == 404, path
    assert await snapshot() == before
