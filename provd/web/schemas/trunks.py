"""Customer SIP trunks: a tenant's own PBX connected in place of phones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.services.trunks import DEFAULT_RING_SECONDS
from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination

_ALLOW = "Addresses or networks the PBX sends from (at least one; none wider than a /16)"
_FORMAT = "How numbers cross the trunk: e164 (+31…), 00 (0031…) or national (020…)"
_BRAND = "3cx, asterisk, freepbx, yeastar, avaya or other"
_POLICY = "A caller ID outside the trunk's numbers: replace (by the main number) or refuse"
_RING = "Seconds the PBX has to answer before the failover, 5 to 300"


class TrunkNumberIn(Body):
    number: str = Field(description="A number of the tenant, in any notation of its country")
    inbound: bool = Field(
        default=True, description="Calls to it go to the trunk (moved from a user, group or plan)"
    )
    caller_id: bool = Field(default=True, description="The PBX may present it")


class TrunkIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    name: str = Field(description="1-32 lower-case letters, digits and dashes; never renamed")
    channels: int = Field(description="Concurrent calls, in and out, 1 to 1000")
    allow_ips: list[str] = Field(description=_ALLOW)
    format: str = Field(default="e164", description=_FORMAT)
    brand: str = Field(default="other", description=_BRAND)
    auth: str = Field(
        default="accounts",
        description="accounts (a primary and a secondary account) or ip (its address alone)",
    )
    address: str | None = Field(
        default=None, description="HOST[:PORT] inbound calls go to: IP-authenticated trunks"
    )
    caller_id_policy: str = Field(default="replace", description=_POLICY)
    numbers: list[TrunkNumberIn] = Field(default_factory=list)
    main_number: str | None = Field(
        default=None, description="One of its caller-ID numbers; default: the first of them"
    )
    failover: str | None = Field(default=None, description=WRITTEN)
    ring_seconds: int = Field(default=DEFAULT_RING_SECONDS, description=_RING)


class TrunkPatch(Body):
    channels: int | None = None
    allow_ips: list[str] | None = Field(default=None, description=_ALLOW + "; replaces the list")
    format: str | None = Field(default=None, description=_FORMAT)
    brand: str | None = Field(default=None, description=_BRAND)
    address: str | None = Field(default=None, description="HOST[:PORT] (IP trunks)")
    caller_id_policy: str | None = Field(default=None, description=_POLICY)
    main_number: str | None = Field(default=None, description="A caller-ID number, or none")
    failover: str | None = Field(default=None, description=WRITTEN)
    ring_seconds: int | None = Field(default=None, description=_RING)
    enabled: bool | None = None


class PasswordIn(Body):
    account: str = Field(description="primary or secondary")


class TrunkAccount(View):
    role: Literal["primary", "secondary"]
    username: str = Field(description="The digest username and AoR user, in the tenant's domain")


class NewPassword(View):
    role: Literal["primary", "secondary"]
    username: str
    password: str = Field(description="Shown in this answer only: provd keeps it sealed")


class TrunkNumber(View):
    number: str = Field(description="E.164")
    inbound: bool
    caller_id: bool


class Trunk(View):
    tenant: str
    name: str
    channels: int
    format: Literal["e164", "00", "national"]
    brand: str
    auth: Literal["accounts", "ip"]
    allow_ips: list[str]
    address: str | None = Field(description="HOST:PORT of an IP-authenticated trunk")
    caller_id_policy: Literal["replace", "refuse"]
    main_number: str | None
    failover: Destination | None = Field(description="null: unanswered calls end")
    ring_seconds: int
    enabled: bool
    accounts: list[TrunkAccount] = Field(description="Primary first; none for an IP trunk")
    numbers: list[TrunkNumber]


class TrunkWithPasswords(Trunk):
    new_passwords: list[NewPassword] = Field(
        description="The passwords just made: this answer is the only one that has them"
    )
