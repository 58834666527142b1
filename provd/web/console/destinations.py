"""Destinations on console forms: the kind picked from a list, the key typed (the
tenant's users, groups, number plans, menus, announcements and queues offered as
suggestions; a user's extension for their mailbox), read back as the ``KIND:KEY`` text the
services take (``user:201``, ``external:0612345678``, ``voicemail:201``,
``announcement:800``, ``queue:810``, ``none``).

A form names a destination ``FIELD`` by two inputs, ``FIELD_kind`` and ``FIELD_key``;
a refusal names ``FIELD``, as the services do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provd.domain.destinations import NONE, DestinationKind
from provd.services import announcements, groups, menus, queues
from provd.services.directory import Tenant, users
from provd.services.schedules import routes

KINDS: tuple[tuple[str, str], ...] = (
    (NONE, "nowhere"),
    (DestinationKind.USER.value, "user"),
    (DestinationKind.GROUP.value, "group"),
    (DestinationKind.EXTERNAL.value, "outside number"),
    (DestinationKind.SCHEDULED.value, "number plan"),
    (DestinationKind.MENU.value, "menu"),
    (DestinationKind.VOICEMAIL.value, "voicemail"),
    (DestinationKind.ANNOUNCEMENT.value, "announcement"),
    (DestinationKind.QUEUE.value, "queue"),
)
"""The kinds a form offers, with what people call them."""


def from_form(values: Mapping[str, str], field: str) -> str:
    """The destination text a form's ``FIELD_kind`` and ``FIELD_key`` make; a key typed
    next to "nowhere" is left out, as the list says where the call goes."""
    kind = values.get(f"{field}_kind", "").strip().lower()
    if kind in ("", NONE):
        return NONE
    return f"{kind}:{values.get(f'{field}_key', '').strip()}"


def form_values(field: str, view: Mapping[str, str] | None) -> dict[str, str]:
    """A stored destination (a service's view, or None) as the form's two inputs."""
    if view is None:
        return {f"{field}_kind": NONE, f"{field}_key": ""}
    return {f"{field}_kind": view["kind"], f"{field}_key": view["key"]}


def text_of(view: Mapping[str, str] | None) -> str:
    """A view's destination text, to tell whether a form changed it."""
    return NONE if view is None else view["text"]


@dataclass(frozen=True, slots=True)
class Choices:
    """What a tenant's destinations can name: offered as suggestions for the key."""

    users: list[tuple[str, str]]
    """(extension, name)."""
    groups: list[tuple[str, str]]
    routes: list[str]
    menus: list[tuple[str, str]]
    """(extension, name)."""
    announcements: list[tuple[str, str]]
    queues: list[tuple[str, str]]
    """(extension, name)."""


async def choices(tenant: Tenant) -> Choices:
    group_views: list[dict[str, Any]] = await groups.list_groups(tenant.slug)
    menu_views: list[dict[str, Any]] = await menus.list_menus(tenant.slug)
    queue_views: list[dict[str, Any]] = await queues.list_queues(tenant.slug)
    return Choices(
        users=[(u.extension, u.display_name) for u, _ in await users.list_users(tenant.slug)],
        groups=[(g["extension"], g["name"]) for g in group_views],
        routes=[r["name"] for r in await routes.list_routes(tenant.slug)],
        menus=[(m["extension"], m["name"]) for m in menu_views],
        announcements=[
            (a["extension"], a["name"]) for a in await announcements.list_announcements(tenant.slug)
        ],
        queues=[(q["extension"], q["name"]) for q in queue_views],
    )
