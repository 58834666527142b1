"""Tenants: the customer accounts that own users and devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from tortoise.transactions import in_transaction

from provd.db.models import PhoneNumber, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.network import OFF, check_pickup_code, parse_proxy, parse_switch, parse_vlan
from provd.domain.numbers import check_country, parse_number
from provd.domain.passwords import generate_password
from provd.domain.routing import DisplayForm
from provd.domain.tenancy import check_display_name, check_domain, check_slug
from provd.domain.timezones import get_zone
from provd.services import audit
from provd.services.platform import Platform

DEFAULT_TENANT = "default"

NUMBER_DISPLAYS: tuple[DisplayForm, ...] = get_args(DisplayForm)
"""How callers' numbers are shown on a tenant's phones: national (0201234567) or E.164."""
NO_MAIN_NUMBER = "none"
"""What clears a tenant's main number, where a number is expected."""


@dataclass(frozen=True, slots=True)
class BootstrapCredential:
    """The tenant-wide credential a factory-new phone uses before it has its own."""

    username: str
    password: str


def tenant_view(t: Tenant) -> dict[str, Any]:
    return {
        "slug": t.slug,
        "name": t.name,
        "sip_domain": t.sip_domain,
        "timezone": t.timezone,
        "bootstrap_username": t.bootstrap_username,
        "vlan_lan": t.vlan_lan or OFF,
        "vlan_pc": t.vlan_pc or OFF,
        "lldp": t.lldp,
        "sip_proxy": t.sip_proxy or "default",
        "pickup_code": t.pickup_code,
        "country": t.country,
        "number_display": t.number_display,
        "main_number": t.main_number,
        "created_at": t.created_at.isoformat(),
    }


async def get_tenant(slug: str, *, field: str = "tenant") -> Tenant:
    try:
        # What cannot be a slug names no tenant; the ORM would refuse to look up a
        # value longer than the column (a 500), or one that cannot be encoded.
        valid = check_slug(slug)
    except InvalidInput:
        raise NotFound("tenant", slug, field=field) from None
    tenant = await Tenant.get_or_none(slug=valid)
    if tenant is None:
        raise NotFound("tenant", slug, field=field)
    return tenant


async def tenant_by_id(tenant_id: int) -> Tenant:
    """The tenant a stored reference (an account's, a user's) points at."""
    return await Tenant.get(id=tenant_id)


async def add_tenant(
    p: Platform,
    actor: audit.Actor,
    slug: str,
    *,
    name: str | None = None,
    sip_domain: str | None = None,
    timezone: str = "Europe/Amsterdam",
) -> tuple[Tenant, BootstrapCredential]:
    slug = check_slug(slug)
    name = check_display_name(name or slug)
    domain = check_domain(sip_domain or f"{slug}.provd.internal")
    get_zone(timezone)
    async with in_transaction():
        if await Tenant.exists(slug=slug):
            raise Conflict("tenant", f"a tenant named {slug!r} already exists")
        if await Tenant.exists(sip_domain=domain):
            raise Conflict("sip_domain", f"{domain!r} is already another tenant's SIP domain")
        credential = BootstrapCredential(f"bootstrap-{slug}", generate_password(24))
        tenant = await Tenant.create(
            slug=slug,
            name=name,
            sip_domain=domain,
            timezone=timezone,
            bootstrap_username=credential.username,
            bootstrap_password_enc=p.box.seal(credential.password),
        )
        await audit.record(actor, AuditAction.TENANT_ADD, "tenant", slug, after=tenant_view(tenant))
    await p.accounts_changed()
    return tenant, credential


async def list_tenants() -> list[Tenant]:
    return await Tenant.all().order_by("slug")


def bootstrap_credential(p: Platform, tenant: Tenant) -> BootstrapCredential:
    return BootstrapCredential(tenant.bootstrap_username, p.box.open(tenant.bootstrap_password_enc))


async def update_tenant(
    p: Platform,
    actor: audit.Actor,
    slug: str,
    *,
    vlan_lan: str | None = None,
    vlan_pc: str | None = None,
    lldp: str | None = None,
    sip_proxy: str | None = None,
    pickup_code: str | None = None,
    timezone: str | None = None,
    country: str | None = None,
    number_display: str | None = None,
    main_number: str | None = None,
) -> Tenant:
    """Change the tenant's phone defaults and how its numbers are read and shown; each
    value is validated before anything is saved.

    ``main_number`` (the caller ID of users without a number of their own) is read in
    the tenant's country (the new one, if ``country`` changes too) and must be one of
    the tenant's own numbers; ``none`` clears it.
    """
    changes: dict[str, Any] = {}
    if vlan_lan is not None:
        vlan = parse_vlan(vlan_lan, field="vlan_lan")
        changes["vlan_lan"] = str(vlan) if vlan else None
    if vlan_pc is not None:
        vlan = parse_vlan(vlan_pc, field="vlan_pc")
        changes["vlan_pc"] = str(vlan) if vlan else None
    if lldp is not None:
        changes["lldp"] = parse_switch(lldp, field="lldp")
    if sip_proxy is not None:
        changes["sip_proxy"] = (
            None if sip_proxy.strip().lower() == "default" else str(parse_proxy(sip_proxy))
        )
    if pickup_code is not None:
        changes["pickup_code"] = check_pickup_code(pickup_code)
    if timezone is not None:
        changes["timezone"] = get_zone(timezone).iana
    if country is not None:
        changes["country"] = check_country(country.strip(), field="country")
    if number_display is not None:
        changes["number_display"] = _check_number_display(number_display)
    clear_main = main_number is not None and main_number.strip().lower() == NO_MAIN_NUMBER
    if clear_main:
        changes["main_number"] = None
    if not changes and main_number is None:
        raise InvalidInput("settings", "nothing to change")
    async with in_transaction():
        tenant = await get_tenant(slug)
        before = tenant_view(tenant)
        if main_number is not None and not clear_main:
            changes["main_number"] = await _owned_number(
                tenant, main_number, changes.get("country", tenant.country)
            )
        tenant.update_from_dict(changes)
        await tenant.save()
        await audit.record(
            actor,
            AuditAction.TENANT_SET,
            "tenant",
            tenant.slug,
            before=before,
            after=tenant_view(tenant),
        )
    return tenant


def _check_number_display(text: str) -> DisplayForm:
    for form in NUMBER_DISPLAYS:
        if text.strip().lower() == form:
            return form
    raise InvalidInput(
        "number_display", f"{text!r} is not a display form: {' or '.join(NUMBER_DISPLAYS)}"
    )


async def _owned_number(tenant: Tenant, text: str, country: str) -> str:
    """``text`` as E.164, if it is one of the tenant's numbers; else InvalidInput.

    Another tenant's number is refused exactly as one nobody owns: whose it is stays
    the platform's business.
    """
    e164 = parse_number(text, country, "main_number", require_valid=False)
    if not await PhoneNumber.exists(tenant=tenant, e164=e164):
        raise InvalidInput(
            "main_number",
            f"{e164} is not one of tenant {tenant.slug}'s numbers (add its block first)",
        )
    return e164
