"""Announcements: an extension that plays a sound of the tenant and hangs up."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import Body, View

_SOUND = "A sound of the tenant, by name"
_PLAYS = "How many times the sound is played before the call ends, 1 to 5"


class AnnouncementIn(Body):
    extension: str = Field(
        description="2 to 5 digits, no user's, group's, menu's or announcement's of the tenant"
    )
    name: str
    sound: str = Field(description=_SOUND)
    plays: int = Field(default=1, description=_PLAYS)


class AnnouncementPut(Body):
    """The whole announcement but its extension: what is left out takes its default."""

    name: str
    sound: str = Field(description=_SOUND)
    plays: int = Field(default=1, description=_PLAYS)


class Announcement(View):
    tenant: str
    extension: str
    name: str
    sound: str
    plays: int
    numbers: list[str] = Field(description="The numbers assigned to the announcement (E.164)")
