"""Customer SIP trunks: a tenant's own PBX connected in place of phones.

A trunk has a primary and a secondary registration account (or none, authenticated
by its source address alone), the networks it may send from, a channel limit, the
notation numbers cross it in, and the tenant's numbers on it: each a DID (inbound
calls go to the PBX; the number is then the trunk's and no one else's) and/or a
caller ID the PBX may present. provd.domain.trunks holds the rules; this package
stores them: one module per use case, each change one transaction with its audit
row (object type ``trunk``, key ``tenant/name``). Account passwords are generated
here, sealed at once, and returned only by the call that made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provd.db.models import PhoneNumber, Tenant, Trunk, TrunkAccount, TrunkNumber
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.numbers import parse_number
from provd.domain.trunks import check_name
from provd.services.destinations import Names
from provd.services.directory.tenants import get_tenant

OBJECT = "trunk"
MIN_RING_SECONDS = 5
MAX_RING_SECONDS = 300
DEFAULT_RING_SECONDS = 30
AUTH_ACCOUNTS = "accounts"
AUTH_IP = "ip"
AUTH_KINDS = (AUTH_ACCOUNTS, AUTH_IP)


@dataclass(frozen=True, slots=True)
class NumberOnTrunk:
    """A number as given for a trunk: any notation of the tenant's country."""

    number: str
    inbound: bool = True
    caller_id: bool = True


@dataclass(frozen=True, slots=True)
class WithPasswords:
    """A trunk's view and the passwords just generated, by account role: the only time
    they are shown."""

    view: dict[str, Any]
    passwords: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        accounts = [
            {**a, "password": self.passwords[a["role"]]}
            for a in self.view["accounts"]
            if a["role"] in self.passwords
        ]
        return {**self.view, "new_passwords": accounts}


def object_key(tenant: Tenant, name: str) -> str:
    return f"{tenant.slug}/{name}"


async def get_trunk(tenant: Tenant, name: str, *, field: str = "name") -> Trunk:
    """The tenant's trunk ``name``; another tenant's is as missing as none."""
    try:
        valid = check_name(name, field=field)
    except InvalidInput:
        raise NotFound("trunk", f"{name} in tenant {tenant.slug}", field=field) from None
    trunk = await Trunk.get_or_none(tenant=tenant, name=valid)
    if trunk is None:
        raise NotFound("trunk", f"{valid} in tenant {tenant.slug}", field=field)
    return trunk


async def trunk_view(trunk: Trunk, tenant: Tenant, names: Names | None = None) -> dict[str, Any]:
    """Everything about the trunk but its passwords."""
    names = names or await Names.of(tenant)
    accounts = await TrunkAccount.filter(trunk=trunk).order_by("role")
    on_trunk = await TrunkNumber.filter(trunk=trunk).select_related("number")
    return {
        "tenant": tenant.slug,
        "name": trunk.name,
        "channels": trunk.channels,
        "format": trunk.number_format,
        "brand": trunk.brand,
        "auth": trunk.auth,
        "allow_ips": list(trunk.networks),
        "address": trunk.address,
        "caller_id_policy": trunk.caller_id_policy,
        "main_number": trunk.main_number,
        "failover": names.view(trunk.failover),
        "ring_seconds": trunk.ring_seconds,
        "enabled": trunk.enabled,
        # primary before secondary, as they sort
        "accounts": [{"role": a.role, "username": a.username} for a in accounts],
        "numbers": [
            {"number": n.number.e164, "inbound": n.inbound, "caller_id": n.caller_id}
            for n in sorted(on_trunk, key=lambda n: n.number.e164)
        ],
    }


async def list_trunks(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every trunk (of one tenant, if named), by tenant and name."""
    query = Trunk.all().select_related("tenant").order_by("tenant__slug", "name")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    names: dict[int, Names] = {}
    views = []
    for trunk in await query:
        tenant = trunk.tenant
        if tenant.id not in names:
            names[tenant.id] = await Names.of(tenant)
        views.append(await trunk_view(trunk, tenant, names[tenant.id]))
    return views


async def show_trunk(tenant_slug: str, name: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await trunk_view(await get_trunk(tenant, name), tenant)


async def tenant_number(tenant: Tenant, text: str, *, field: str = "number") -> PhoneNumber:
    """The tenant's stored number ``text`` names (any notation of its country)."""
    e164 = parse_number(text, tenant.country, field, require_valid=False)
    row = await PhoneNumber.get_or_none(tenant=tenant, e164=e164)
    if row is None:
        raise NotFound("number", f"{e164} of tenant {tenant.slug}", field=field)
    return row
