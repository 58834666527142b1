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


class User(View):
    tenant: str
    extension: str
    name: str
    sip_username: str
    sip_domain: str
    created_at: datetime


class UserCreated(User):
    sip_password: str = Field(description="Shown once, in this answer only")
