"""Destinations within a tenant: resolving what an admin wrote, naming what is stored,
and finding what points at a user, group, scheduled route, IVR menu, announcement or
call queue.

The one place a destination is checked before it is stored (provd.domain.destinations
has its forms): it must name something of the same tenant, and an outside number
must be one a call can be sent to. Views show a destination in the terms it was
written in (``user:201``), so a view's ``text`` can be given back as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provd.db.models import (
    Announcement,
    HuntGroup,
    HuntGroupMember,
    Menu,
    PhoneNumber,
    Queue,
    QueueAgent,
    ScheduledRoute,
    Tenant,
    Trunk,
    User,
)
from provd.domain.destinations import (
    AnnouncementDestination,
    Destination,
    DestinationKind,
    ExternalDestination,
    GroupDestination,
    MenuDestination,
    QueueDestination,
    ScheduledDestination,
    UserDestination,
    VoicemailDestination,
    as_json,
    check_outside_number,
    from_json,
    parse_text,
)
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.forwarding import ForwardCase
from provd.domain.tenancy import check_extension

MAX_NAME = 64
"""Of a scheduled route (and a schedule)."""
ROUTE_STATES = ("open", "closed", "holiday")
"""A scheduled route's destinations, each in the column ``<state>_destination``."""


async def resolve_destination(
    tenant: Tenant, text: str, *, field: str, itself: Destination | None = None
) -> dict[str, Any] | None:
    """What ``text`` (``user:201``, …, ``none``) names in ``tenant``, in its stored form.

    Something of another tenant is not found, exactly as something that does not exist.
    ``itself`` is the destination of the thing being set (a group's overflow): pointing
    a thing at itself is refused here; longer loops are cut by the call path.
    """
    written = parse_text(text, field=field)
    if written is None:
        return None
    key = written.key
    destination: Destination
    if written.kind is DestinationKind.USER:
        user = await _by_extension(User, tenant, key)
        if user is None:
            raise NotFound("user", f"{key} in tenant {tenant.slug}", field=field)
        destination = UserDestination(user.id)
    elif written.kind is DestinationKind.GROUP:
        group = await _by_extension(HuntGroup, tenant, key)
        if group is None:
            raise NotFound("group", f"{key} in tenant {tenant.slug}", field=field)
        destination = GroupDestination(group.id)
    elif written.kind is DestinationKind.EXTERNAL:
        destination = ExternalDestination(check_outside_number(key, tenant.country, field=field))
    elif written.kind is DestinationKind.VOICEMAIL:
        owner = await _by_extension(User, tenant, key)
        if owner is None:
            raise NotFound("user", f"{key} in tenant {tenant.slug}", field=field)
        destination = VoicemailDestination(owner.id)
    elif written.kind is DestinationKind.MENU:
        menu = await _by_extension(Menu, tenant, key)
        if menu is None:
            raise NotFound("menu", f"{key} in tenant {tenant.slug}", field=field)
        destination = MenuDestination(menu.id)
    elif written.kind is DestinationKind.ANNOUNCEMENT:
        announcement = await _by_extension(Announcement, tenant, key)
        if announcement is None:
            raise NotFound("announcement", f"{key} in tenant {tenant.slug}", field=field)
        destination = AnnouncementDestination(announcement.id)
    elif written.kind is DestinationKind.QUEUE:
        queue = await _by_extension(Queue, tenant, key)
        if queue is None:
            raise NotFound("queue", f"{key} in tenant {tenant.slug}", field=field)
        destination = QueueDestination(queue.id)
    else:
        route = await route_by_name(tenant, key)
        if route is None:
            raise NotFound("route", f"{key} in tenant {tenant.slug}", field=field)
        destination = ScheduledDestination(route.id)
    if itself is not None and destination == itself:
        raise InvalidInput(field, f"{text.strip()} is the very thing being set: a loop")
    return as_json(destination)


async def route_by_name(tenant: Tenant, name: str) -> ScheduledRoute | None:
    # Longer than the column names no route; the ORM would refuse the look-up (a 500).
    if len(name) > MAX_NAME:
        return None
    return await ScheduledRoute.get_or_none(tenant=tenant, name=name)


async def _by_extension(
    model: type[User] | type[HuntGroup] | type[Menu] | type[Announcement] | type[Queue],
    tenant: Tenant,
    key: str,
) -> User | HuntGroup | Menu | Announcement | Queue | None:
    try:
        extension = check_extension(key)
    except InvalidInput:
        return None
    return await model.get_or_none(tenant=tenant, extension=extension)


@dataclass(frozen=True, slots=True)
class Names:
    """A tenant's users, groups, routes, menus, announcements and queues by id: how
    stored destinations are shown."""

    users: dict[int, User]
    groups: dict[int, HuntGroup]
    routes: dict[int, ScheduledRoute]
    menus: dict[int, Menu]
    announcements: dict[int, Announcement]
    queues: dict[int, Queue]

    @classmethod
    async def of(cls, tenant: Tenant) -> Names:
        return cls(
            {u.id: u for u in await User.filter(tenant=tenant)},
            {g.id: g for g in await HuntGroup.filter(tenant=tenant)},
            {r.id: r for r in await ScheduledRoute.filter(tenant=tenant)},
            {m.id: m for m in await Menu.filter(tenant=tenant)},
            {a.id: a for a in await Announcement.filter(tenant=tenant)},
            {q.id: q for q in await Queue.filter(tenant=tenant)},
        )

    def view(self, stored: object) -> dict[str, str] | None:
        """``{"kind", "key", "name", "text"}``: ``text`` is what resolves back to it."""
        destination = from_json(stored)
        if destination is None:
            return None
        kind, key, name = self._parts(destination)
        return {"kind": kind.value, "key": key, "name": name, "text": f"{kind.value}:{key}"}

    def _parts(self, destination: Destination) -> tuple[DestinationKind, str, str]:
        match destination:
            case UserDestination(user_id):
                user = self.users[user_id]
                return DestinationKind.USER, user.extension, user.display_name
            case GroupDestination(group_id):
                group = self.groups[group_id]
                return DestinationKind.GROUP, group.extension, group.name
            case ExternalDestination(number):
                return DestinationKind.EXTERNAL, number, ""
            case ScheduledDestination(route_id):
                return DestinationKind.SCHEDULED, self.routes[route_id].name, ""
            case MenuDestination(menu_id):
                menu = self.menus[menu_id]
                return DestinationKind.MENU, menu.extension, menu.name
            case VoicemailDestination(user_id):
                owner = self.users[user_id]
                return DestinationKind.VOICEMAIL, owner.extension, owner.display_name
            case AnnouncementDestination(announcement_id):
                announcement = self.announcements[announcement_id]
                return DestinationKind.ANNOUNCEMENT, announcement.extension, announcement.name
            case QueueDestination(queue_id):
                queue = self.queues[queue_id]
                return DestinationKind.QUEUE, queue.extension, queue.name


def describe(view: Mapping[str, str] | None) -> str:
    """A destination's view for people: ``user 201 (Front Desk)``, ``group 600 (Sales)``,
    ``external +31…``, ``route Main hours``, ``menu 700 (Welcome)``, ``voicemail 201
    (Front Desk)``, ``announcement 800 (Closed)``, ``queue 810 (Sales)``, or ``none``."""
    if view is None:
        return "none"
    noun = "route" if view["kind"] == DestinationKind.SCHEDULED else view["kind"]
    return f"{noun} {view['key']}" + (f" ({view['name']})" if view["name"] else "")


async def references_to(tenant: Tenant, target: Destination) -> list[str]:
    """Everything of the tenant that points at ``target``, described for a refusal: the
    forwards, overflows, trunk failovers, route states, menu keys and defaults and queue
    failovers naming it, the menus entering it as a submenu, the groups it is a member
    of, the queues it is an agent of, the numbers assigned to it."""
    found: list[str] = []
    for user in await User.filter(tenant=tenant).order_by("extension"):
        for case in ForwardCase:
            if from_json(getattr(user, case.column)) == target:
                found.append(f"user {user.extension}'s forwarding ({case.option})")
    for group in await HuntGroup.filter(tenant=tenant).order_by("extension"):
        if from_json(group.overflow) == target:
            found.append(f"group {group.extension}'s overflow")
    for route in await ScheduledRoute.filter(tenant=tenant).order_by("name"):
        for state in ROUTE_STATES:
            if from_json(getattr(route, f"{state}_destination")) == target:
                found.append(f"route {route.name} ({state})")
    for trunk in await Trunk.filter(tenant=tenant).order_by("name"):
        if from_json(trunk.failover) == target:
            found.append(f"trunk {trunk.name}'s failover")
    for menu in await Menu.filter(tenant=tenant).order_by("extension"):
        if from_json(menu.default_destination) == target:
            found.append(f"menu {menu.extension}'s default")
        for key, entry in sorted(menu.keys.items()):
            if key_target(entry) == target:
                found.append(f"menu {menu.extension}'s key {key}")
    for queue in await Queue.filter(tenant=tenant).order_by("extension"):
        if from_json(queue.failover) == target:
            found.append(f"queue {queue.extension}'s failover")
    numbers = PhoneNumber.filter(tenant=tenant).order_by("e164")
    if isinstance(target, UserDestination):
        memberships = HuntGroupMember.filter(user_id=target.user_id, group__tenant=tenant)
        for member in await memberships.select_related("group").order_by("group__extension"):
            found.append(f"member of group {member.group.extension}")
        agents = QueueAgent.filter(user_id=target.user_id, queue__tenant=tenant)
        for agent in await agents.select_related("queue").order_by("queue__extension"):
            found.append(f"agent of queue {agent.queue.extension}")
        numbers = numbers.filter(assigned_user_id=target.user_id)
    elif isinstance(target, GroupDestination):
        numbers = numbers.filter(assigned_group_id=target.group_id)
    elif isinstance(target, ScheduledDestination):
        numbers = numbers.filter(assigned_route_id=target.route_id)
    elif isinstance(target, MenuDestination):
        numbers = numbers.filter(assigned_menu_id=target.menu_id)
    elif isinstance(target, AnnouncementDestination):
        numbers = numbers.filter(assigned_announcement_id=target.announcement_id)
    elif isinstance(target, QueueDestination):
        numbers = numbers.filter(assigned_queue_id=target.queue_id)
    else:
        return found
    found += [f"number {e164}" for e164 in await numbers.values_list("e164", flat=True)]
    return found


def key_target(entry: Mapping[str, Any]) -> Destination | None:
    """Where a stored menu key leads out of its menu: a transfer's destination, and a
    submenu's menu (entering a menu is pointing at it)."""
    if entry.get("action") == "transfer":
        return from_json(entry.get("destination"))
    if entry.get("action") == "submenu":
        return MenuDestination(entry["menu_id"])
    return None


def refuse_if_used(what: str, uses: Sequence[str], *, field: str) -> None:
    """InvalidInput naming the first few of ``uses``, when there are any."""
    if not uses:
        return
    shown = "; ".join(uses[:5])
    more = f" and {len(uses) - 5} more" if len(uses) > 5 else ""
    raise InvalidInput(field, f"{what} is in use by {shown}{more}; change those first")
