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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provd.db.models import (
    Announcement,
    HuntGroup,
    HuntGroupMember,
    IncomingBlock,
    Menu,
    PhoneNumber,
    Queue,
    QueueAgent,
    ScheduledRoute,
    Tenant,
    Trunk,
    TrunkAccount,
    TrunkNumber,
    User,
)
from provd.db.models import Carrier as CarrierRow
from provd.db.models import Schedule as ScheduleRow
from provd.domain import destinations, limits, outbound_policy, schedules
from provd.domain.routing import (
    Block,
    Carrier,
    Carriers,
    Destination,
    Forwarding,
    GroupRouting,
    MenuRouting,
    NumberTarget,
    QueueRouting,
    RoutePlan,
    ScheduledRouting,
    ScheduleRouting,
    TenantRouting,
    ToAnnouncement,
    ToExternal,
    ToGroup,
    ToMenu,
    ToQueue,
    ToScheduled,
    ToTrunk,
    ToUser,
    ToVoicemail,
    TrunkRouting,
    UserRouting,
)
from provd.domain.routing_table import CallRequest, Network, Observed, RoutingTable
from provd.services.carriers import carrier_address
from provd.services.limits import load_limits
from provd.services.rating.costs import table as rate_table
from provd.services.schedules import override_of

log = logging.getLogger("provd.routing")

ROUTING_OBJECTS = (
    "user",
    "tenant",
    "number",
    "number_block",
    "carrier",
    "group",
    "schedule",
    "route",
    "block",
    "trunk",
    "outbound_policy",
    "limits",
    "rates",
    "menu",
    "announcement",
    "queue",
)
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


async def load_table(
    resolve: Resolver = resolve_addresses, *, media: str | None = None
) -> RoutingTable:
    tenants = await Tenant.all().order_by("id")
    users_by_tenant = await _by_tenant(User.all().order_by("extension"))
    numbers_by_tenant = await _by_tenant(PhoneNumber.all().order_by("e164"))
    groups_by_tenant = await _by_tenant(HuntGroup.all().order_by("extension"))
    schedules_by_tenant = await _by_tenant(ScheduleRow.all().order_by("name"))
    routes_by_tenant = await _by_tenant(ScheduledRoute.all().order_by("name"))
    blocks_by_tenant = await _by_tenant(IncomingBlock.all().order_by("id"))
    trunks_by_tenant = await _by_tenant(Trunk.filter(enabled=True).order_by("name"))
    menus_by_tenant = await _by_tenant(Menu.all().order_by("extension"))
    announcements_by_tenant = await _by_tenant(Announcement.all().order_by("extension"))
    queues_by_tenant = await _by_tenant(Queue.all().order_by("extension"))
    agents_by_queue: dict[int, list[int]] = defaultdict(list)
    for agent in await QueueAgent.all().order_by("position"):
        agents_by_queue[agent.queue_id].append(agent.user_id)  # type: ignore[attr-defined]
    stored_limits = await load_limits()
    # One table for every tenant (each looks up its own overrides in it): a call out's
    # budget is priced by the rate its record will be.
    rates = await rate_table()
    members_by_group: dict[int, list[HuntGroupMember]] = defaultdict(list)
    for member in await HuntGroupMember.all().order_by("position"):
        members_by_group[member.group_id].append(member)  # type: ignore[attr-defined]

    routing = []
    for tenant in tenants:
        users = users_by_tenant[tenant.id]
        names = _Names(
            users={u.id: u.extension for u in users},
            groups={g.id: g.extension for g in groups_by_tenant[tenant.id]},
            routes={r.id: r.name for r in routes_by_tenant[tenant.id]},
            schedules={sc.id: sc.name for sc in schedules_by_tenant[tenant.id]},
            trunks={t.id: t.name for t in trunks_by_tenant[tenant.id]},
            menus={m.id: m.extension for m in menus_by_tenant[tenant.id]},
            announcements={a.id: a.extension for a in announcements_by_tenant[tenant.id]},
            queues={q.id: q.extension for q in queues_by_tenant[tenant.id]},
        )
        own: dict[str, list[str]] = defaultdict(list)
        targets: dict[str, NumberTarget | None] = {}
        for number in numbers_by_tenant[tenant.id]:
            target = names.number_target(number)
            targets[number.e164] = target
            if isinstance(target, ToUser):
                own[target.extension].append(number.e164)
        blocks = blocks_by_tenant[tenant.id]
        user_blocks: dict[int, list[Block]] = defaultdict(list)
        tenant_blocks: list[Block] = []
        for block in blocks:
            (user_blocks[block.user_id] if block.user_id else tenant_blocks).append(
                names.block(block)
            )
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
                        forwarding=Forwarding(
                            always=names.destination(u.forward_always),
                            busy=names.destination(u.forward_busy),
                            no_answer=names.destination(u.forward_no_answer),
                            no_answer_after_s=u.forward_no_answer_seconds,
                            unreachable=names.destination(u.forward_unreachable),
                        ),
                        dnd=u.dnd,
                        blocks=tuple(user_blocks[u.id]),
                        outbound=_outbound_policy(u.outbound_policy),
                    )
                    for u in users
                },
                numbers=targets,
                groups={
                    g.extension: GroupRouting(
                        g.extension,
                        g.name,
                        g.policy,
                        tuple(names.member(m) for m in members_by_group[g.id]),
                        ring_s=g.ring_seconds,
                        total_wait_s=g.total_wait_seconds,
                        overflow=names.destination(g.overflow),
                        last_answered=names.users.get(g.last_answered_user_id),
                    )
                    for g in groups_by_tenant[tenant.id]
                },
                blocks=tuple(tenant_blocks),
                schedules={
                    sc.name: _schedule(sc, tenant.timezone) for sc in schedules_by_tenant[tenant.id]
                },
                routes={
                    r.name: ScheduledRouting(
                        r.name,
                        names.schedules[r.schedule_id],
                        open=names.destination(r.open_destination),
                        closed=names.destination(r.closed_destination),
                        holiday=names.destination(r.holiday_destination),
                    )
                    for r in routes_by_tenant[tenant.id]
                },
                trunks=await _trunks(trunks_by_tenant[tenant.id], names, stored_limits),
                outbound=_outbound_policy(tenant.outbound_policy),
                timezone=tenant.timezone,
                limits=stored_limits.get((tenant.id, None), limits.DEFAULT),
                rates=rates,
                menus={m.extension: names.menu(m) for m in menus_by_tenant[tenant.id]},
                announcements=frozenset(names.announcements.values()),
                queues={
                    q.extension: names.queue(q, agents_by_queue[q.id])
                    for q in queues_by_tenant[tenant.id]
                },
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
    return RoutingTable(routing, Carriers(tuple(carriers)), networks, media=media)


async def _trunks(
    rows: list[Trunk],
    names: _Names,
    stored_limits: dict[tuple[int, int | None], limits.Limits] | None = None,
) -> dict[str, TrunkRouting]:
    """A tenant's enabled trunks: registering ones by their accounts (primary first),
    IP-authenticated ones by their address."""
    ids = [t.id for t in rows]
    accounts: dict[int, list[str]] = defaultdict(list)
    for account in await TrunkAccount.filter(trunk_id__in=ids).order_by("role"):
        accounts[account.trunk_id].append(account.username)  # type: ignore[attr-defined]
    caller_ids: dict[int, set[str]] = defaultdict(set)
    entries = TrunkNumber.filter(trunk_id__in=ids, caller_id=True).select_related("number")
    for entry in await entries:
        caller_ids[entry.trunk_id].add(entry.number.e164)  # type: ignore[attr-defined]
    return {
        t.name: TrunkRouting(
            t.name,
            channels=t.channels,
            networks=tuple(t.networks),
            number_format=t.number_format,  # type: ignore[arg-type]
            accounts=tuple(accounts[t.id]) if t.auth == "accounts" else (),
            address=t.address if t.auth == "ip" else None,
            caller_ids=frozenset(caller_ids[t.id]),
            main_number=t.main_number,
            caller_id_policy=t.caller_id_policy,  # type: ignore[arg-type]
            failover=names.destination(t.failover),
            ring_s=t.ring_seconds,
            outbound=_outbound_policy(t.outbound_policy),
            limits=(stored_limits or {}).get(
                (t.tenant_id, t.id),  # type: ignore[attr-defined]
                limits.DEFAULT,
            ),
        )
        for t in rows
    }


def _outbound_policy(stored: object) -> outbound_policy.Policy:
    try:
        return outbound_policy.from_json(stored)
    except ValueError:
        # Fail closed: a policy nobody can read must not let every number through.
        log.error("an unreadable stored outbound policy refuses all but emergency: %r", stored)
        return outbound_policy.REFUSE_ALL


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


async def _by_tenant(query: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in await query:
        out[row.tenant_id].append(row)
    return out


@dataclass(frozen=True)
class _Names:
    """A tenant's ids as routing names them (extensions, route and schedule names)."""

    users: dict[int, str]
    groups: dict[int, str]
    routes: dict[int, str]
    schedules: dict[int, str]
    trunks: dict[int, str]
    """Enabled trunks only: a disabled trunk's numbers take no calls."""
    menus: dict[int, str]
    announcements: dict[int, str]
    queues: dict[int, str]

    def destination(self, stored: object) -> Destination | None:
        """A stored destination; one whose target is gone (or another tenant's) is none."""
        try:
            value = destinations.from_json(stored)
        except ValueError:
            log.error("an unreadable stored destination is treated as none: %r", stored)
            return None
        match value:
            case None:
                return None
            case destinations.UserDestination(user_id):
                ext = self.users.get(user_id)
                return ToUser(ext) if ext is not None else None
            case destinations.GroupDestination(group_id):
                ext = self.groups.get(group_id)
                return ToGroup(ext) if ext is not None else None
            case destinations.ScheduledDestination(route_id):
                name = self.routes.get(route_id)
                return ToScheduled(name) if name is not None else None
            case destinations.ExternalDestination(number):
                return ToExternal(number)
            case destinations.MenuDestination(menu_id):
                ext = self.menus.get(menu_id)
                return ToMenu(ext) if ext is not None else None
            case destinations.VoicemailDestination(user_id):
                ext = self.users.get(user_id)
                return ToVoicemail(ext) if ext is not None else None
            case destinations.AnnouncementDestination(announcement_id):
                ext = self.announcements.get(announcement_id)
                return ToAnnouncement(ext) if ext is not None else None
            case destinations.QueueDestination(queue_id):
                ext = self.queues.get(queue_id)
                return ToQueue(ext) if ext is not None else None

    def number_target(self, row: PhoneNumber) -> NumberTarget | None:
        user_id = row.assigned_user_id  # type: ignore[attr-defined]
        group_id = row.assigned_group_id  # type: ignore[attr-defined]
        route_id = row.assigned_route_id  # type: ignore[attr-defined]
        trunk_id = row.assigned_trunk_id  # type: ignore[attr-defined]
        menu_id = row.assigned_menu_id  # type: ignore[attr-defined]
        announcement_id = row.assigned_announcement_id  # type: ignore[attr-defined]
        queue_id = row.assigned_queue_id  # type: ignore[attr-defined]
        if user_id is not None and user_id in self.users:
            return ToUser(self.users[user_id])
        if group_id is not None and group_id in self.groups:
            return ToGroup(self.groups[group_id])
        if route_id is not None and route_id in self.routes:
            return ToScheduled(self.routes[route_id])
        if trunk_id is not None and trunk_id in self.trunks:
            return ToTrunk(self.trunks[trunk_id])
        if menu_id is not None and menu_id in self.menus:
            return ToMenu(self.menus[menu_id])
        if announcement_id is not None and announcement_id in self.announcements:
            return ToAnnouncement(self.announcements[announcement_id])
        if queue_id is not None and queue_id in self.queues:
            return ToQueue(self.queues[queue_id])
        return None

    def menu(self, row: Menu) -> MenuRouting:
        """A menu's keys that leave it (transfers), and its default."""
        keys: dict[str, Destination] = {}
        for key, entry in row.keys.items():
            if isinstance(entry, dict) and entry.get("action") == "transfer":
                destination = self.destination(entry.get("destination"))
                if destination is not None:
                    keys[key] = destination
        return MenuRouting(
            row.extension, row.name, keys, default=self.destination(row.default_destination)
        )

    def queue(self, row: Queue, agent_ids: list[int]) -> QueueRouting:
        """A queue's agents (every one, logged in or not: the media application offers
        only to the logged-in), ring time and failover, resolved like a menu's default."""
        return QueueRouting(
            row.extension,
            row.name,
            tuple(self.users[u] for u in agent_ids if u in self.users),
            ring_s=row.ring_seconds,
            failover=self.destination(row.failover),
        )

    def member(self, row: HuntGroupMember) -> str:
        user_id = row.user_id  # type: ignore[attr-defined]
        if user_id is not None:
            return self.users.get(user_id, "")
        return row.external_number or ""

    def block(self, row: IncomingBlock) -> Block:
        when = None
        schedule_id = row.schedule_id  # type: ignore[attr-defined]
        if schedule_id is not None and row.when_state in ("open", "closed", "holiday"):
            when = (self.schedules.get(schedule_id, ""), row.when_state)
        if row.anonymous:
            return Block(anonymous=True, when=when)  # type: ignore[arg-type]
        # A whole number is its own prefix; a prefix matches every number under it.
        return Block(prefix=row.pattern, when=when)  # type: ignore[arg-type]


async def _keep_answer(tenant_slug: str, group: str, member: str) -> None:
    # Observed state, not configuration (no audit row, like the call records): the
    # table in memory is already right; this only carries it over a restart.
    try:
        tenant = await Tenant.get_or_none(slug=tenant_slug)
        user = await User.get_or_none(tenant=tenant, extension=member) if tenant else None
        if tenant is None or user is None:
            return
        await HuntGroup.filter(tenant=tenant, extension=group).update(last_answered_user=user)
    except Exception:
        log.exception("could not keep who answered group %s of %s", group, tenant_slug)


def _schedule(row: ScheduleRow, timezone: str) -> ScheduleRouting:
    schedule = schedules.Schedule(
        row.name,
        timezone,
        rules=tuple(schedules.parse_rule(r) for r in row.rules),
        holidays=tuple(schedules.parse_holiday(h) for h in row.holidays),
    )
    return ScheduleRouting(schedule, override_of(row))


class LiveTable:
    """The current routing table, replaced whole by :meth:`refresh`, and what the call
    path has observed (hunt group answers), which outlives a refresh.

    With ``keep_answers``, the member that answered a group's call last is also
    written to the group (``HuntGroup.last_answered_user``), after the answer is
    acknowledged: Kamailio waits for that acknowledgement, not for the database. A
    circular group then starts after its last answerer after a restart too.
    """

    def __init__(
        self,
        resolve: Resolver = resolve_addresses,
        *,
        keep_answers: bool = False,
        media: str | None = None,
    ) -> None:
        self.media = media
        """The media application's ``host:port`` when it runs (menus need it)."""
        self.table = RoutingTable(media=media)
        self.observed = Observed()
        self._resolve = resolve
        self._lock = asyncio.Lock()
        self._keep_answers = keep_answers
        self._writes: set[asyncio.Task[None]] = set()

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
        if self._keep_answers and member in tenant.users:
            task = asyncio.get_running_loop().create_task(
                _keep_answer(tenant.slug, group, member), name="hunt-group-answer"
            )
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        return True

    async def written(self) -> None:
        """Wait for the answers being written (tests, and a clean stop)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def refresh(self) -> RoutingTable:
        async with self._lock:
            self.table = await load_table(self._resolve, media=self.media)
        return self.table
