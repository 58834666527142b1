"""Destinations: where a call goes next, as admins write them and as they are stored.

A hunt group's overflow, each of a user's forwards, each state of a scheduled route
and an IVR menu's keys and default and a call queue's failover name a destination: a
user, a hunt group, an outside number, a scheduled route, a menu, a user's mailbox, an
announcement, a call queue, or none (the call ends there). Admins write one as
``KIND:KEY`` in their tenant's terms (``user:201``, ``group:600``,
``external:0612345678``, ``scheduled:Main hours``, ``menu:700``, ``voicemail:201``,
``announcement:800``, ``queue:810``, ``none``); it is
stored as JSON by the id of what it names, so renaming a route or giving a user
another extension does not break it::

    {"kind": "user", "user_id": 7}          {"kind": "group", "group_id": 3}
    {"kind": "external", "number": "+31612345678"}
    {"kind": "scheduled", "route_id": 2}    {"kind": "menu", "menu_id": 4}
    {"kind": "voicemail", "user_id": 7}     {"kind": "announcement", "announcement_id": 5}
    {"kind": "queue", "queue_id": 5}
    null

Resolving a key to an id needs the tenant's data: provd.services.destinations does
that, with :func:`parse_text` and :func:`check_outside_number` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from provd.domain import numbers
from provd.domain.errors import InvalidInput
from provd.domain.text import check_printable

NONE = "none"
"""What names no destination, where one is expected."""
MAX_TEXT = 80


class DestinationKind(StrEnum):
    USER = "user"
    GROUP = "group"
    EXTERNAL = "external"
    SCHEDULED = "scheduled"
    MENU = "menu"
    VOICEMAIL = "voicemail"
    ANNOUNCEMENT = "announcement"
    QUEUE = "queue"


FORMS = (
    "user:EXT, group:EXT, external:NUMBER, scheduled:NAME, menu:EXT, voicemail:EXT,"
    " announcement:EXT, queue:EXT or none"
)


@dataclass(frozen=True, slots=True)
class DestinationText:
    """A destination as written: its kind and the key naming it within the tenant (an
    extension, a number in any notation, a route's name)."""

    kind: DestinationKind
    key: str


@dataclass(frozen=True, slots=True)
class UserDestination:
    user_id: int


@dataclass(frozen=True, slots=True)
class GroupDestination:
    group_id: int


@dataclass(frozen=True, slots=True)
class ExternalDestination:
    number: str
    """E.164."""


@dataclass(frozen=True, slots=True)
class ScheduledDestination:
    route_id: int


@dataclass(frozen=True, slots=True)
class MenuDestination:
    menu_id: int


@dataclass(frozen=True, slots=True)
class VoicemailDestination:
    """The mailbox of a user: the caller leaves a message."""

    user_id: int


@dataclass(frozen=True, slots=True)
class AnnouncementDestination:
    """An announcement: the caller hears a recording, then the call ends."""

    announcement_id: int


@dataclass(frozen=True, slots=True)
class QueueDestination:
    queue_id: int


Destination = (
    UserDestination
    | GroupDestination
    | ExternalDestination
    | ScheduledDestination
    | MenuDestination
    | VoicemailDestination
    | AnnouncementDestination
    | QueueDestination
)


def parse_text(text: str, *, field: str) -> DestinationText | None:
    """``KIND:KEY`` (or ``none``: None); the key is checked by whoever resolves it."""
    if not isinstance(text, str):
        raise InvalidInput(field, f"must be text: {FORMS}")
    check_printable(text, field=field)
    if len(text) > MAX_TEXT:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters")
    cleaned = text.strip()
    if cleaned.lower() == NONE:
        return None
    kind_text, colon, key = cleaned.partition(":")
    try:
        kind = DestinationKind(kind_text.strip().lower())
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a destination: use {FORMS}") from None
    if not colon or not key.strip():
        raise InvalidInput(field, f"{text!r} names no {kind.value}: use {FORMS}")
    return DestinationText(kind, key.strip())


def check_outside_number(text: str, country: str, *, field: str) -> str:
    """An outside number a call may be sent to, read in ``country``'s notation: E.164.

    It must be a number the country's plan (or the far country's) assigns, so that a
    typing error is caught now and not when a caller is sent to it; an emergency number
    is refused, as no call should be forwarded to one.
    """
    if numbers.is_emergency(text.strip(), country):
        raise InvalidInput(field, f"{text.strip()} is an emergency number: not a call's target")
    return numbers.parse_number(text, country, field)


def as_json(destination: Destination | None) -> dict[str, Any] | None:
    """The stored form (module docstring)."""
    match destination:
        case None:
            return None
        case UserDestination(user_id):
            return {"kind": DestinationKind.USER.value, "user_id": user_id}
        case GroupDestination(group_id):
            return {"kind": DestinationKind.GROUP.value, "group_id": group_id}
        case ExternalDestination(number):
            return {"kind": DestinationKind.EXTERNAL.value, "number": number}
        case ScheduledDestination(route_id):
            return {"kind": DestinationKind.SCHEDULED.value, "route_id": route_id}
        case MenuDestination(menu_id):
            return {"kind": DestinationKind.MENU.value, "menu_id": menu_id}
        case VoicemailDestination(user_id):
            return {"kind": DestinationKind.VOICEMAIL.value, "user_id": user_id}
        case AnnouncementDestination(announcement_id):
            return {"kind": DestinationKind.ANNOUNCEMENT.value, "announcement_id": announcement_id}
        case QueueDestination(queue_id):
            return {"kind": DestinationKind.QUEUE.value, "queue_id": queue_id}


def from_json(value: object) -> Destination | None:
    """A stored destination; ValueError for anything that is not one (never the caller's
    input: only what provd itself wrote is read here)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"not a stored destination: {value!r}")
    kind = value.get("kind")
    keys = set(value) - {"kind"}
    if kind == DestinationKind.USER and keys == {"user_id"}:
        return UserDestination(_id(value["user_id"]))
    if kind == DestinationKind.GROUP and keys == {"group_id"}:
        return GroupDestination(_id(value["group_id"]))
    if kind == DestinationKind.SCHEDULED and keys == {"route_id"}:
        return ScheduledDestination(_id(value["route_id"]))
    if kind == DestinationKind.MENU and keys == {"menu_id"}:
        return MenuDestination(_id(value["menu_id"]))
    if kind == DestinationKind.VOICEMAIL and keys == {"user_id"}:
        return VoicemailDestination(_id(value["user_id"]))
    if kind == DestinationKind.ANNOUNCEMENT and keys == {"announcement_id"}:
        return AnnouncementDestination(_id(value["announcement_id"]))
    if kind == DestinationKind.QUEUE and keys == {"queue_id"}:
        return QueueDestination(_id(value["queue_id"]))
    if kind == DestinationKind.EXTERNAL and keys == {"number"} and isinstance(value["number"], str):
        return ExternalDestination(value["number"])
    raise ValueError(f"not a stored destination: {value!r}")


def _id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an id: {value!r}")
    return value


def check_seconds(value: object, low: int, high: int, *, field: str) -> int:
    """A ring or wait time in whole seconds from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field, f"{value!r} is not a number of seconds from {low} to {high}")
    return value
