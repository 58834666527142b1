"""Creating a trunk: the console wizard's steps in one call, all of them or nothing.

Name, channels, number format and allowed networks; the numbers with their flags; the
failover; then the accounts (both, for a registering trunk; none for one known by its
address, which needs that address). The new accounts' passwords are returned once.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from provd.db.models import Trunk
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict
from provd.domain.trunks import check_channels, check_format, check_name, check_networks
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform
from provd.services.trunks import (
    AUTH_ACCOUNTS,
    DEFAULT_RING_SECONDS,
    OBJECT,
    NumberOnTrunk,
    WithPasswords,
    object_key,
    trunk_view,
)
from provd.services.trunks.numbers import put_number
from provd.services.trunks.passwords import create_accounts
from provd.services.trunks.settings import (
    caller_ids,
    check_address,
    check_auth,
    check_auth_address,
    check_brand,
    check_main_number,
    check_policy,
    check_ring_seconds,
    resolve_failover,
)


async def add_trunk(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    name: str,
    *,
    channels: int,
    allow_ips: Sequence[str],
    number_format: str = "e164",
    brand: str = "other",
    auth: str = AUTH_ACCOUNTS,
    address: str | None = None,
    caller_id_policy: str = "replace",
    numbers: Sequence[NumberOnTrunk] = (),
    main_number: str | None = None,
    failover: str | None = None,
    ring_seconds: int = DEFAULT_RING_SECONDS,
) -> WithPasswords:
    """Create the trunk with its numbers and accounts. ``main_number`` defaults to its
    first caller-ID number."""
    name = check_name(name)
    checked_channels = check_channels(channels)
    networks = check_networks(list(allow_ips))
    fmt = check_format(number_format)
    checked_brand = check_brand(brand)
    checked_auth = check_auth(auth)
    stored_address = check_address(address) if address is not None else None
    check_auth_address(checked_auth, stored_address)
    policy = check_policy(caller_id_policy)
    ring = check_ring_seconds(ring_seconds)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        if await Trunk.exists(tenant=tenant, name=name):
            raise Conflict("name", f"trunk {name} already exists in {tenant.slug}")
        trunk = await Trunk.create(
            tenant=tenant,
            name=name,
            channels=checked_channels,
            number_format=fmt,
            brand=checked_brand,
            auth=checked_auth,
            networks=list(networks),
            address=stored_address,
            caller_id_policy=policy,
            failover=await resolve_failover(tenant, failover),
            ring_seconds=ring,
        )
        moved = {}
        for i, given in enumerate(numbers):
            field = f"numbers[{i}]" if len(numbers) > 1 else "number"
            moved[given.number] = await put_number(trunk, tenant, given, field=field)
        if main_number is None:
            ids = await caller_ids(trunk)
            trunk.main_number = ids[0] if ids else None
        else:
            trunk.main_number = await check_main_number(trunk, tenant, main_number)
        await trunk.save(update_fields=["main_number"])
        passwords = await create_accounts(p, trunk) if checked_auth == AUTH_ACCOUNTS else {}
        view = await trunk_view(trunk, tenant)
        await audit.record(
            actor,
            AuditAction.TRUNK_ADD,
            OBJECT,
            object_key(tenant, name),
            before={"numbers_before": [u for u in moved.values() if u["use"] is not None]},
            after=view,
        )
    await p.accounts_changed()
    return WithPasswords(view, passwords)
