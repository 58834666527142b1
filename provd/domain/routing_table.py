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
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Literal

from provd.domain import call_accounting, limits
from provd.domain.call_accounting import CallAccount
from provd.domain.routing import (
    CallFacts,
    Carriers,
    Failure,
    FromCarrier,
    FromMedia,
    FromTrunk,
    FromUnknown,
    FromUser,
    Reject,
    Route,
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
    belong to), ``trunk`` when the credentials were a trunk account's (``extension``
    is then the account's username), and ``peer`` for anything else, which only a
    carrier or an IP-authenticated trunk may be; ``media`` when it came from provd's media
    application's address (``domain`` is then the Request-URI's). ``address`` is the
    packet's source address, never a header.
    """

    source: Literal["user", "trunk", "peer", "media"]
    address: str
    dialled: str
    domain: str = ""
    extension: str = ""
    from_user: str = ""
    from_display: str = ""
    pai_user: str | None = None
    privacy: str | None = None
    to_user: str = ""
    failed: tuple[Failure, ...] = ()
    """How the call's earlier steps failed (empty for its first step)."""


class RoutingTable:
    """Tenants by SIP domain and by number, carriers and the networks they call from."""

    def __init__(
        self,
        tenants: Iterable[TenantRouting] = (),
        carriers: Carriers | None = None,
        carrier_networks: Mapping[str, Sequence[Network]] | None = None,
        media: str | None = None,
    ) -> None:
        self.carriers = carriers or Carriers()
        self.media = media
        """The media application's ``host:port``, where menus are played (None: none)."""
        self._by_domain: dict[str, TenantRouting] = {}
        self._by_number: dict[str, TenantRouting] = {}
        self._by_slug: dict[str, TenantRouting] = {}
        self._by_account: dict[tuple[str, str], tuple[TenantRouting, str]] = {}
        ip_trunks: list[tuple[Network, tuple[TenantRouting, str]]] = []
        for tenant in tenants:
            self._by_domain[tenant.sip_domain.lower()] = tenant
            self._by_slug[tenant.slug] = tenant
            for trunk in tenant.trunks.values():
                for account in trunk.accounts:
                    self._by_account[(tenant.sip_domain.lower(), account)] = (tenant, trunk.name)
                if not trunk.accounts:
                    ip_trunks.extend(
                        (ipaddress.ip_network(n), (tenant, trunk.name)) for n in trunk.networks
                    )
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
        # An IP-authenticated trunk is known by its address alone: most specific first.
        self._trunk_networks = sorted(
            ip_trunks, key=lambda item: (-item[0].prefixlen, item[1][0].slug, item[1][1])
        )

    @property
    def tenant_count(self) -> int:
        return len(self._by_domain)

    def tenants(self) -> tuple[TenantRouting, ...]:
        return tuple(self._by_slug.values())

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

    def ip_trunk_at(self, address: str) -> tuple[TenantRouting, str] | None:
        """The IP-authenticated trunk whose networks hold ``address``, or None."""
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return None
        for network, found in self._trunk_networks:
            if ip.version == network.version and ip in network:
                return found
        return None

    def source_of(self, request: CallRequest) -> Source:
        if request.source == "user":
            tenant = self.tenant_for_domain(request.domain)
            if tenant is None:
                return FromUnknown(request.address)
            return FromUser(tenant.slug, request.extension)
        if request.source == "trunk":
            found = self._by_account.get((request.domain.lower(), request.extension))
            if found is None:
                return FromUnknown(request.address)
            return FromTrunk(found[0].slug, found[1], request.address)
        if request.source == "media":
            tenant = self.tenant_for_domain(request.domain)
            return FromUnknown(request.address) if tenant is None else FromMedia(tenant.slug)
        carrier = self.carrier_at(request.address)
        if carrier is not None:
            return FromCarrier(carrier)
        trunk = self.ip_trunk_at(request.address)
        if trunk is not None:
            return FromTrunk(trunk[0].slug, trunk[1], request.address)
        return FromUnknown(request.address)

    def plan(
        self, request: CallRequest, at: datetime, observed: Observed | None = None
    ) -> RoutePlan:
        source = self.source_of(request)
        if request.source != "peer" and isinstance(source, FromUnknown):
            # Authenticated against a domain or trunk provd no longer has: removed meanwhile.
            return Reject(403, "Forbidden: unknown tenant or trunk")
        facts = self._facts(request, source, at)
        tenant = self._tenant(request, facts)
        if tenant is not None and observed is not None:
            tenant = observed.applied_to(tenant, at)
        plan = plan_call(facts, tenant, self.carriers, media=self.media)
        if observed is not None and tenant is not None and _calls_out(plan):
            # Counted when planned, not when its record comes: a burst of calls set up
            # at once meets the call limit before any of them has ended.
            trunk = source.trunk if isinstance(source, FromTrunk) else None
            observed.count_call(tenant.slug, trunk, at, limits.zone_of(tenant.timezone))
        return plan

    def _facts(self, request: CallRequest, source: Source, at: datetime) -> CallFacts:
        dialled = request.dialled
        if isinstance(source, FromCarrier):
            carrier = self.carriers.by_name(source.carrier)
            if carrier is not None and carrier.registers_as and dialled == carrier.registers_as:
                # Sent to the Contact of our registration: the number is in To.
                dialled = request.to_user
        return CallFacts(
            source=source,
            dialled=dialled,
            at=at,
            from_user=request.from_user,
            from_display=request.from_display,
            pai_user=request.pai_user,
            privacy=request.privacy,
            failed=request.failed,
        )

    def _tenant(self, request: CallRequest, facts: CallFacts) -> TenantRouting | None:
        source = facts.source
        if isinstance(source, FromUser | FromMedia):
            return self.tenant_for_domain(request.domain)
        if isinstance(source, FromTrunk):
            return self._by_slug.get(source.tenant)
        if isinstance(source, FromCarrier):
            number = inbound_number(facts, self.carriers)
            return self._by_number.get(number) if number is not None else None
        return None

    def account(self, request: CallRequest, plan: RoutePlan, at: datetime) -> CallAccount | None:
        """What the call's record says about it with ``plan`` (provd.domain.call_accounting)."""
        source = self.source_of(request)
        facts = self._facts(request, source, at)
        hint = request.pai_user or request.from_user
        tenant = self._tenant(request, facts)
        return call_accounting.account(source, tenant, facts.dialled, plan, caller_hint=hint)


def _calls_out(plan: RoutePlan) -> bool:
    """A step that sends the call to the carriers and is not an emergency call."""
    return isinstance(plan, Route) and plan.kind == "outbound"


@dataclass
class Observed:
    """What the call path has seen that routing uses: the member of each hunt group that
    answered last (circular) and when each member last answered a group call (longest
    idle counts from then); each tenant's and trunk's outside calls and spend in the
    current limit windows (provd.domain.limits). Kept in memory: after a restart
    circular groups start at their first member again, and the usage is read back from
    the call records (``services.limits.seed``)."""

    last_answered: dict[tuple[str, str], str] = field(default_factory=dict)
    """(tenant slug, group extension) -> member."""
    answered_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """(tenant slug, member) -> when."""
    meters: dict[tuple[str, str | None], limits.Meter] = field(default_factory=dict)
    """(tenant slug, trunk name or None for the tenant) -> usage."""

    def record(self, tenant: str, group: str, member: str, at: datetime) -> None:
        self.last_answered[(tenant, group)] = member
        self.answered_at[(tenant, member)] = at

    def meter(self, tenant: str, trunk: str | None = None) -> limits.Meter:
        return self.meters.setdefault((tenant, trunk), limits.Meter())

    def count_call(self, tenant: str, trunk: str | None, at: datetime, zone: tzinfo) -> None:
        self.meter(tenant).count_call(at, zone)
        if trunk is not None:
            self.meter(tenant, trunk).count_call(at, zone)

    def add_spend(
        self,
        tenant: str,
        trunk: str | None,
        amount: Decimal,
        started: datetime,
        at: datetime,
        zone: tzinfo,
    ) -> None:
        """A collected record's cost, in the windows of when the call started."""
        self.meter(tenant).add_spend(amount, started, at, zone)
        if trunk:
            self.meter(tenant, trunk).add_spend(amount, started, at, zone)

    def applied_to(self, tenant: TenantRouting, at: datetime | None = None) -> TenantRouting:
        if at is not None:
            zone = limits.zone_of(tenant.timezone)
            trunks = {
                name: replace(t, usage=self.meter(tenant.slug, name).usage(at, zone))
                for name, t in tenant.trunks.items()
            }
            tenant = replace(tenant, usage=self.meter(tenant.slug).usage(at, zone), trunks=trunks)
        if not tenant.groups:
            return tenant
        groups = {}
        for ext, group in tenant.groups.items():
            idle = {
                m: self.answered_at[(tenant.slug, m)]
                for m in group.members
                if (tenant.slug, m) in self.answered_at
            }
            groups[ext] = replace(
                group,
                last_answered=self.last_answered.get((tenant.slug, ext), group.last_answered),
                idle_since={**group.idle_since, **idle},
            )
        return replace(tenant, groups=groups)
