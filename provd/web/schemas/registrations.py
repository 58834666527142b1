"""The PBX's view of a device: its lines' registrations, and check-sync (resync, reboot)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from provd.pbx.notify import CheckSyncOutcome
from provd.web.contract import View


class LineRegistration(View):
    slot: int
    extension: str
    aor: str = Field(description="extension@sip_domain")
    registered: bool
    contact: str | None = Field(description="The registered Contact URI")
    user_agent: str | None = Field(description="Model and firmware as reported")
    wan_address: str | None = Field(description="Where the REGISTER came from")
    lan_address: str | None = Field(description="The address in the Contact")
    expires_at: datetime | None


class DeviceRegistration(View):
    mac: str
    registered: bool | None = Field(description="Every line registered; null: unknown")
    registration: list[LineRegistration] | None


class LineCheckSync(View):
    slot: int
    extension: str
    aor: str
    delivered: bool
    outcome: CheckSyncOutcome
    status: int | None
    reason: str | None
    event: str
    text: str


class CheckSync(View):
    mac: str
    action: Literal["resync", "reboot"]
    delivered: bool
    lines: list[LineCheckSync]
