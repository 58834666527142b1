"""Users: an extension of a tenant, on the lines of its phones."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from provd.web.contract import Body, View


class UserIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    extension: str = Field(description="2 to 5 digits")
    name: str
    sip_password: str | None = Field(default=None, description="Generated if absent")


class UserPatch(Body):
    name: str | None = None
    extension: str | None = Field(
        default=None, description="A new extension; not while programmed keys point at it"
    )
    hide_caller_id: bool | None = Field(
        default=None, description="Hide the user's number on calls to the telephone network"
    )
    may_switch_night: bool | None = Field(
        default=None, description="May flip the night switch from the phone (*915)"
    )


class User(View):
    tenant: str
    extension: str
    name: str
    sip_username: str
    sip_domain: str
    hide_caller_id: bool = Field(
        description="Calls to the telephone network carry Privacy: id (the carrier still"
        " knows the number)"
    )
    may_switch_night: bool = Field(
        description="May flip the night switch from the phone (service code *915)"
    )
    created_at: datetime


class UserCreated(User):
    sip_password: str = Field(description="Shown once, in this answer only")
