"""The routing table read from the database, and kept current while provd serves.

:func:`load_table` builds a :class:`~provd.domain.routing_table.RoutingTable` from the
tenants, users, numbers and carriers; :class:`LiveTable` holds the current one for
the loopback endpoint Kamailio asks (``provd/web/pbx_routing.py``) and replaces it
whole when routing data changes. A carrier's own address counts as one it may call
from only when no ``inbound_from`` networks are given; a host name is resolved here,
when the table is built, never per call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime

from provd.db.models import Carrier as CarrierRow
from provd.db.models import PhoneNumber, Tenant, User
from provd.domain.routing import (
    Carrier,
    Carriers,
    NumberTarget,
    RoutePlan,
    TenantRouting,
    ToUser,
    UserRouting,
)
from provd.domain.routing_table import CallRequest, Network, Observed, RoutingTable
from provd.services.carriers import carrier_address

log = logging.getLogger("provd.routing")

ROUTING_OBJECTS = ("user", "tenant", "number", "number_block", "carrier")
"""Audit object types whose changes change the routing table."""
_RESOLVE_TIMEOUT_S = 3.0

Resolver = Callable[[str], Awaitable[list[str]]]


async def resolve_addresses(host: str) -> list[str]:
    """Every address ``host`` resolves to."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM), timeout=_RESOLVE_TIMEOUT_S
    )
    return sorted({str(info[4][0]) for info in infos})


async def load_table(resolve: Resolver = resolve_addresses) -> RoutingTable:
    tenants = await Tenant.all().order_by("id")
    users_by_tenant: dict[int, list[User]] = defaultdict(list)
    for user in await User.all().order_by("extension"):
        users_by_tenant[user.tenant_id].append(user)  # type: ignore[attr-defined]
    numbers_by_tenant: dict[int, list[PhoneNumber]] = defaultdict(list)
    for row in await PhoneNumber.all().order_by("e164"):
        numbers_by_tenant[row.tenant_id].append(row)  # type: ignore[attr-defined]

    routing = []
    for tenant in tenants:
        users = users_by_tenant[tenant.id]
        extension_of = {u.id: u.extension for u in users}
        own: dict[str, list[str]] = defaultdict(list)
        targets: dict[str, NumberTarget | None] = {}
        for number in numbers_by_tenant[tenant.id]:
            user_id = number.assigned_user_id  # type: ignore[attr-defined]
            extension = extension_of.get(user_id) if user_id is not None else None
            targets[number.e164] = ToUser(extension) if extension is not None else None
            if extension is not None:
                own[extension].append(number.e164)
        routing.append(
            TenantRouting(
                slug=tenant.slug,
                sip_domain=tenant.sip_domain,
                country=tenant.country,
                main_number=tenant.main_number,
                display_form="e164" if tenant.number_display == "e164" else "national",
                users={
                    u.extension: UserRouting(
                        u.extension,
                        name=u.display_name,
                        numbers=tuple(own[u.extension]),
                        hide_caller_id=u.hide_caller_id,
                    )
                    for u in users
                },
                numbers=targets,
            )
        )

    carriers: list[Carrier] = []
    networks: dict[str, list[Network]] = {}
    for carrier in await CarrierRow.filter(enabled=True).order_by("priority", "name"):
        carriers.append(
            Carrier(
                name=carrier.name,
                address=carrier_address(carrier),
                transport=carrier.transport,  # type: ignore[arg-type]
                # Marked down only by a probe that failed; unknown counts as up.
                up=carrier.probe_up is not False,
                # Kamailio registers with it as its name (provd.pbx.registrations).
                registers_as=carrier.name if carrier.password_enc is not None else None,
            )
        )
        networks[carrier.name] = await _networks(carrier, resolve)
    return RoutingTable(routing, Carriers(tuple(carriers)), networks)


async def _networks(row: CarrierRow, resolve: Resolver) -> list[Network]:
    if row.inbound_from:
        return [ipaddress.ip_network(n) for n in row.inbound_from]
    try:
        return [ipaddress.ip_network(row.host.strip("[]"))]
    except ValueError:
        pass  # a name
    try:
        addresses = await resolve(row.host)
    except (OSError, TimeoutError) as e:
        # Calls out still work (Kamailio resolves the host itself); calls in from
        # this carrier are refused until its host resolves again.
        log.warning(
            "carrier %s: %s does not resolve (%s); no calls in from it", row.name, row.host, e
        )
        return []
    return [ipaddress.ip_network(a) for a in addresses]


class LiveTable:
    """The current routing table, replaced whole by :meth:`refresh`, and what the call
    path has observed (hunt group answers), which outlives a refresh."""

    def __init__(self, resolve: Resolver = resolve_addresses) -> None:
        self.table = RoutingTable()
        self.observed = Observed()
        self._resolve = resolve
        self._lock = asyncio.Lock()

    def plan(self, request: CallRequest, at: datetime) -> RoutePlan:
        return self.table.plan(request, at, self.observed)

    def record_answer(self, domain: str, group: str, member: str, at: datetime) -> bool:
        """A member of ``group`` answered; False when no such group or member."""
        tenant = self.table.tenant_for_domain(domain)
        if tenant is None or group not in tenant.groups:
            return False
        if member not in tenant.groups[group].members:
            return False
        self.observed.record(tenant.slug, group, member, at)
        return True

    async def refresh(self) -> RoutingTable:
        async with self._lock:
            self.table = await load_table(self._resolve)
        return self.table
