"""Hunt groups: an extension that rings its members by a policy, then overflows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.domain.groups import DEFAULT_RING_SECONDS
from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination

_POLICY = "simultaneous, fixed, circular or longest_idle"
_WAIT = "Seconds before the overflow (up to 900); 0: once every member has been tried"


class GroupIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    extension: str = Field(description="2 to 5 digits, none of the tenant's users' extensions")
    name: str = Field(description="Shown before the caller on the answering member's phone")
    policy: str = Field(description=_POLICY)
    ring_seconds: int = Field(default=DEFAULT_RING_SECONDS, description="Each member, 5 to 120")
    total_wait_seconds: int = Field(default=0, description=_WAIT)
    overflow: str | None = Field(default=None, description=WRITTEN)


class GroupPatch(Body):
    name: str | None = None
    policy: str | None = Field(default=None, description=_POLICY)
    ring_seconds: int | None = None
    total_wait_seconds: int | None = Field(default=None, description=_WAIT)
    overflow: str | None = Field(default=None, description=WRITTEN)


class Member(View):
    position: int = Field(description="1 rings first")
    kind: Literal["user", "external"]
    key: str = Field(description="The user's extension, or the number (E.164)")
    name: str


class Group(View):
    tenant: str
    extension: str
    name: str
    policy: Literal["simultaneous", "fixed", "circular", "longest_idle"]
    ring_seconds: int
    total_wait_seconds: int = Field(description=_WAIT)
    overflow: Destination | None = Field(description="null: the call ends")
    members: list[Member]
    numbers: list[str] = Field(description="The numbers assigned to the group (E.164)")
    last_answered: str | None = Field(
        description="The member user who answered last (where circular resumes)"
    )


class MemberIn(Body):
    user: str | None = Field(default=None, description="A user's extension")
    external: str | None = Field(
        default=None, description="An outside number, in any notation of the tenant's country"
    )
    position: int | None = Field(default=None, description="1 is first; default: last")
