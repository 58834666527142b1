"""A trunk's settings as given by an admin, checked one field at a time before anything
is stored (shared by creating and changing a trunk)."""

from __future__ import annotations

from typing import Any

from provd.db.models import Tenant, Trunk, TrunkNumber
from provd.domain.destinations import check_seconds
from provd.domain.errors import InvalidInput
from provd.domain.network import parse_proxy
from provd.domain.numbers import parse_number
from provd.domain.trunks import BRANDS, CALLER_ID_POLICIES
from provd.services.destinations import resolve_destination
from provd.services.trunks import AUTH_IP, AUTH_KINDS, MAX_RING_SECONDS, MIN_RING_SECONDS


def check_brand(value: object, *, field: str = "brand") -> str:
    for brand in BRANDS:
        if value == brand:
            return brand
    raise InvalidInput(field, f"{value!r} is not one of {', '.join(BRANDS)}")


def check_policy(value: object, *, field: str = "caller_id_policy") -> str:
    for policy in CALLER_ID_POLICIES:
        if value == policy:
            return policy
    raise InvalidInput(field, f"{value!r} is not one of {', '.join(CALLER_ID_POLICIES)}")


def check_auth(value: object, *, field: str = "auth") -> str:
    if value in AUTH_KINDS:
        return str(value)
    raise InvalidInput(field, f"{value!r} is not one of {', '.join(AUTH_KINDS)}")


def check_ring_seconds(value: object, *, field: str = "ring_seconds") -> int:
    return check_seconds(value, MIN_RING_SECONDS, MAX_RING_SECONDS, field=field)


def check_address(value: object, *, field: str = "address") -> str:
    """``HOST[:PORT]`` where an IP-authenticated trunk's inbound calls go, stored with
    its port (5060 unless given)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be HOST[:PORT], the PBX's address")
    proxy = parse_proxy(value, field=field)
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    return f"{host}:{proxy.port}"


def check_auth_address(auth: str, address: str | None) -> None:
    """An IP trunk is reached at its address; an account trunk where it registered."""
    if auth == AUTH_IP and address is None:
        raise InvalidInput("address", "an IP-authenticated trunk needs its PBX's address")
    if auth != AUTH_IP and address is not None:
        raise InvalidInput("address", "only an IP-authenticated trunk has a static address")


async def resolve_failover(tenant: Tenant, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    return await resolve_destination(tenant, text, field="failover")


async def check_main_number(trunk: Trunk, tenant: Tenant, text: str | None) -> str | None:
    """``text`` (one of the trunk's caller-ID numbers) in E.164; None clears it."""
    if text is None or not text.strip() or text.strip().lower() == "none":
        return None
    e164 = parse_number(text, tenant.country, "main_number", require_valid=False)
    if e164 not in await caller_ids(trunk):
        raise InvalidInput("main_number", f"{e164} is not one of the trunk's caller-ID numbers")
    return e164


async def caller_ids(trunk: Trunk) -> list[str]:
    entries = TrunkNumber.filter(trunk=trunk, caller_id=True).select_related("number")
    return sorted(n.number.e164 for n in await entries)
