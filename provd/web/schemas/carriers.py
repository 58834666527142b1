"""Carriers: upstream SIP providers that reach the telephone network."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from provd.services.carriers.state import CarrierState
from provd.web.contract import Body, View


class CarrierIn(Body):
    invalid: ClassVar[dict[str, str]] = {"inbound_from": "must be a list of networks (CIDR)"}

    name: str = Field(description="1-40 lower-case letters, digits and dashes")
    host: str = Field(description="HOST[:PORT]; must resolve. Port default 5060 (TLS 5061)")
    transport: str = Field(default="udp", description="udp, tcp or tls")
    username: str | None = Field(default=None, description="Register as this user")
    password: str | None = Field(
        default=None, description="The registration password; stored sealed, never returned"
    )
    inbound_from: list[str] = Field(
        default_factory=list, description="Networks the carrier's calls come from (CIDR)"
    )
    priority: int = Field(default=10, description="0-1000; lower is tried first")


class Carrier(View):
    name: str
    host: str
    port: int
    transport: str
    username: str | None
    registers: bool = Field(description="Whether provd registers with it (has a password)")
    inbound_from: list[str]
    priority: int
    enabled: bool
    created_at: datetime
    state: CarrierState = Field(
        description="From the last OPTIONS probe; unknown until the first. A down carrier"
        " is tried last"
    )
    probe_status: int | None = Field(
        description="The SIP status of the last probe's answer; null when none came"
    )
    probe_reason: str | None = Field(
        description="Its reason phrase, or why no answer came (timeout, not sent)"
    )
    probed_at: datetime | None = Field(description="When the last probe ended; null until then")
