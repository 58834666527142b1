"""Changing a trunk's settings: what is given, every value checked before any is saved.

The name is not among them (it is part of the accounts' usernames), nor is the way the
trunk authenticates: a trunk that should register instead is a new trunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.transactions import in_transaction

from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.domain.trunks import check_channels, check_format, check_networks
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.trunks import AUTH_IP, OBJECT, get_trunk, object_key, trunk_view
from provd.services.trunks.settings import (
    check_address,
    check_brand,
    check_main_number,
    check_policy,
    check_ring_seconds,
    resolve_failover,
)


async def update_trunk(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    *,
    channels: int | None = None,
    allow_ips: Sequence[str] | None = None,
    number_format: str | None = None,
    brand: str | None = None,
    address: str | None = None,
    caller_id_policy: str | None = None,
    main_number: str | None = None,
    failover: str | None = None,
    ring_seconds: int | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    """Change what is given (``failover="none"`` clears it)."""
    given = (
        channels,
        allow_ips,
        number_format,
        brand,
        address,
        caller_id_policy,
        main_number,
        failover,
        ring_seconds,
        enabled,
    )
    if all(v is None for v in given):
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        trunk = await get_trunk(tenant, name)
        before = await trunk_view(trunk, tenant)
        if channels is not None:
            trunk.channels = check_channels(channels)
        if allow_ips is not None:
            trunk.networks = list(check_networks(list(allow_ips)))
        if number_format is not None:
            trunk.number_format = check_format(number_format)
        if brand is not None:
            trunk.brand = check_brand(brand)
        if address is not None:
            if trunk.auth != AUTH_IP:
                raise InvalidInput("address", "only an IP-authenticated trunk has a static address")
            trunk.address = check_address(address)
        if caller_id_policy is not None:
            trunk.caller_id_policy = check_policy(caller_id_policy)
        if main_number is not None:
            trunk.main_number = await check_main_number(trunk, tenant, main_number)
        if failover is not None:
            trunk.failover = await resolve_failover(tenant, failover)
        if ring_seconds is not None:
            trunk.ring_seconds = check_ring_seconds(ring_seconds)
        if enabled is not None:
            trunk.enabled = bool(enabled)
        await trunk.save()
        after = await trunk_view(trunk, tenant)
        await audit.record(
            actor,
            AuditAction.TRUNK_SET,
            OBJECT,
            object_key(tenant, trunk.name),
            before=before,
            after=after,
        )
    # The allowed networks are in the accounts' subscriber rows.
    await p.accounts_changed()
    return after
