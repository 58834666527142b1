"""Everything routing needs, in memory: which tenant a call belongs to, and its plan.

Kamailio asks provd for the plan of every initial INVITE (see ``docs/architecture.md``,
"Call routing"). It says what it knows as a :class:`CallRequest`; a :class:`RoutingTable`
finds the call's source (a tenant's authenticated user, a carrier by its source
address, or nobody) and the tenant (the user's, or the one owning the dialled
number) and hands both to :func:`provd.domain.routing.plan_call`, the one place where
the decision is made. The table is immutable: provd builds a new one from the
database when routing data changes and swaps it in whole, so a call never sees half
of a change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from provd.domain.routing import (
    CallFacts,
    Carriers,
    FromCarrier,
    FromUnknown,
    FromUser,
    Reject,
    RoutePlan,
    Source,
    TenantRouting,
    inbound_number,
    plan_call,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CallRequest:
    """An initial INVITE as Kamailio describes it.

    ``source`` is ``user`` when Kamailio authenticated the caller (``domain`` and
    ``extension`` then name it: the From domain and the extension its credentials
    belong to) and ``peer`` for anything else, which only a carrier may be.
    ``address`` is the packet's source address, never a header.
    """

    source: Literal["user", "peer"]
    address: str
    dialled: str
    domain: str = ""
    extension: str = ""
    from_user: str = ""
    from_display: str = ""
    pai_user: str | None = None
    privacy: str | None = None
    to_user: str = ""


class RoutingTable:
    """Tenants by SIP domain and by number, carriers and the networks they call from."""

    def __init__(
        self,
        tenants: Iterable[TenantRouting] = (),
        carriers: Carriers | None = None,
        carrier_networks: Mapping[str, Sequence[Network]] | None = None,
    ) -> None:
        self.carriers = carriers or Carriers()
        self._by_domain: dict[str, TenantRouting] = {}
        self._by_number: dict[str, TenantRouting] = {}
        for tenant in tenants:
            self._by_domain[tenant.sip_domain.lower()] = tenant
            for number in tenant.numbers:
                if number in self._by_number:
                    raise ValueError(f"{number} is owned by two tenants")
                self._by_number[number] = tenant
        known = {c.name for c in self.carriers.carriers}
        # Most specific network first: a carrier's /32 wins over another's /16.
        self._networks: list[tuple[Network, str]] = sorted(
            (
                (network, name)
                for name, networks in (carrier_networks or {}).items()
                if name in known
                for network in networks
            ),
            key=lambda item: (-item[0].prefixlen, item[1]),
        )

    @property
    def tenant_count(self) -> int:
        return len(self._by_domain)

    def tenant_for_domain(self, domain: str) -> TenantRouting | None:
        return self._by_domain.get(domain.lower())

    def carrier_at(self, address: str) -> str | None:
        """The carrier whose networks hold ``address`` (the most specific one), or None."""
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return None
        for network, name in self._networks:
            if ip.version == network.version and ip in network:
                return name
        return None

    def source_of(self, request: CallRequest) -> Source:
        if request.source == "user":
            tenant = self.tenant_for_domain(request.domain)
            if tenant is None:
                return FromUnknown(request.address)
            return FromUser(tenant.slug, request.extension)
        carrier = self.carrier_at(request.address)
        if carrier is None:
            return FromUnknown(request.address)
        return FromCarrier(carrier)

    def plan(self, request: CallRequest, at: datetime) -> RoutePlan:
        source = self.source_of(request)
        if request.source == "user" and isinstance(source, FromUnknown):
            # Authenticated against a domain provd no longer has: removed meanwhile.
            return Reject(403, "Forbidden: unknown tenant")
        dialled = request.dialled
        if isinstance(source, FromCarrier):
            carrier = self.carriers.by_name(source.carrier)
            if carrier is not None and carrier.registers_as and dialled == carrier.registers_as:
                # Sent to the Contact of our registration: the number is in To.
                dialled = request.to_user
        facts = CallFacts(
            source=source,
            dialled=dialled,
            at=at,
            from_user=request.from_user,
            from_display=request.from_display,
            pai_user=request.pai_user,
            privacy=request.privacy,
        )
        tenant: TenantRouting | None = None
        if isinstance(source, FromUser):
            tenant = self.tenant_for_domain(request.domain)
        elif isinstance(source, FromCarrier):
            number = inbound_number(facts, self.carriers)
            tenant = self._by_number.get(number) if number is not None else None
        return plan_call(facts, tenant, self.carriers)
