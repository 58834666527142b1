"""A tenant's numbering settings: the country its users dial in, how callers' numbers
are shown, and its main number (one of its own numbers, read in its country)."""

from __future__ import annotations

from typing import Any

import pytest

from provd.db.models import AuditEntry, Tenant
from provd.domain.errors import InvalidInput, NotFound
from provd.services import numbers
from provd.services.directory import tenants
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR as A


async def _state() -> tuple[int, dict[str, Any]]:
    tenant = await tenants.get_tenant("default")
    return await AuditEntry.all().count(), tenants.tenant_view(tenant)


async def test_defaults_are_in_the_view(platform: Platform) -> None:
    view = tenants.tenant_view(await tenants.get_tenant("default"))
    assert (view["country"], view["number_display"], view["main_number"]) == (
        "NL",
        "national",
        None,
    )


async def test_country_and_display_form_are_set_and_audited(platform: Platform) -> None:
    tenant = await tenants.update_tenant(
        platform, A, "default", country=" be ", number_display="E164"
    )
    assert (tenant.country, tenant.number_display) == ("BE", "e164")
    stored = await Tenant.get(slug="default")
    assert (stored.country, stored.number_display) == ("BE", "e164")
    row = await AuditEntry.all().order_by("-id").first()
    assert row is not None and row.action == "tenant.set"
    assert row.before is not None and row.after is not None
    assert (row.before["country"], row.after["country"]) == ("NL", "BE")
    assert (row.before["number_display"], row.after["number_display"]) == ("national", "e164")


async def test_main_number_in_any_notation_of_the_tenants_country(platform: Platform) -> None:
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    for text in ("020 123 45 01", "0031 20 1234501", "+31 (0)20 1234501"):
        tenant = await tenants.update_tenant(platform, A, "default", main_number=text)
        assert tenant.main_number == "+31201234501"
    row = await AuditEntry.all().order_by("-id").first()
    assert row is not None and row.after is not None
    assert row.after["main_number"] == "+31201234501"

    cleared = await tenants.update_tenant(platform, A, "default", main_number="None")
    assert cleared.main_number is None
    assert (await Tenant.get(slug="default")).main_number is None


async def test_main_number_is_read_in_the_new_country_when_both_change(
    platform: Platform,
) -> None:
    # A Belgian number: 02 is Brussels. Read as Dutch, "02 234 56 00" is +3122345600.
    await numbers.add_block(platform, A, "+3222345600", 1, "default", country="BE")
    with pytest.raises(InvalidInput, match=r"\+3122345600 is not one of"):
        await tenants.update_tenant(platform, A, "default", main_number="02 234 56 00")
    tenant = await tenants.update_tenant(
        platform, A, "default", country="BE", main_number="02 234 56 00"
    )
    assert (tenant.country, tenant.main_number) == ("BE", "+3222345600")
    # Once the tenant is Belgian, its own country's notation is what is read.
    await tenants.update_tenant(platform, A, "default", main_number="none")
    again = await tenants.update_tenant(platform, A, "default", main_number="022345600")
    assert again.main_number == "+3222345600"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"country": "XX"}, "country", "'XX' is not a country code"),
        ({"country": "Netherlands"}, "country", "is not a country code"),
        ({"country": ""}, "country", "is not a country code"),
        ({"number_display": "international"}, "number_display", "national or e164"),
        ({"main_number": "not a number"}, "main_number", "is not a telephone number"),
        ({"main_number": ""}, "main_number", "is empty"),
        # Valid numbers, but not the tenant's own.
        ({"main_number": "020 123 4599"}, "main_number", "not one of tenant default's numbers"),
        ({"main_number": "+31201234510"}, "main_number", "not one of tenant default's numbers"),
        # Owned, but read in the country the same call sets: a Belgian 020… is not it.
        ({"country": "BE", "main_number": "0201234501"}, "main_number", "not one of"),
        # One bad value spoils the whole call.
        ({"number_display": "e164", "country": "XX"}, "country", "is not a country code"),
        ({"country": "BE", "main_number": "+31209999999"}, "main_number", "not one of"),
    ],
)
async def test_bad_values_name_the_field_and_write_nothing(
    platform: Platform, changes: dict[str, str], field: str, message: str
) -> None:
    await tenants.add_tenant(platform, A, "other")
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await numbers.add_block(platform, A, "+31201234510", 10, "other")
    before = await _state()
    with pytest.raises(InvalidInput) as refused:
        await tenants.update_tenant(platform, A, "default", **changes)
    assert refused.value.field == field
    assert message in refused.value.message
    # Another tenant's number is refused exactly as one nobody owns.
    assert "other" not in refused.value.message
    assert await _state() == before


async def test_an_unknown_tenant_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound) as missing:
        await tenants.update_tenant(platform, A, "ghost", main_number="0201234501")
    assert missing.value.field == "tenant"


async def test_a_block_holding_the_main_number_is_not_removed(platform: Platform) -> None:
    await numbers.add_block(platform, A, "+31201234500", 10, "default")
    await tenants.update_tenant(platform, A, "default", main_number="+31201234507")
    audit_before = await AuditEntry.all().count()
    with pytest.raises(InvalidInput) as refused:
        await numbers.remove_block(platform, A, "+31201234500")
    assert refused.value.field == "first"
    assert "+31201234507 in use as tenant default's main number" in refused.value.message
    assert "set another main number" in refused.value.message
    assert len(await numbers.list_numbers("default")) == 10
    assert await AuditEntry.all().count() == audit_before

    await tenants.update_tenant(platform, A, "default", main_number="none")
    await numbers.remove_block(platform, A, "+31201234500")
    assert await numbers.list_numbers("default") == []
