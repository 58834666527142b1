"""Firmware: stored images, where each is pinned, and what a device should run."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from provd.web.contract import Body, View

PinLevelName = Literal["platform", "tenant", "device"]


class FirmwarePin(View):
    level: PinLevelName
    tenant: str | None
    device: str | None
    model: str
    version: str
    sha256: str


class Firmware(View):
    sha256: str
    vendor: str
    models: list[str]
    version: str
    filename: str
    size: int
    tested: bool
    release_notes: str
    created_at: datetime


class FirmwareListed(Firmware):
    pins: list[FirmwarePin]


class FirmwareUploaded(Firmware):
    created: bool = Field(description="False: the very same file was already stored")


class TestedIn(Body):
    tested: bool = Field(default=True, description="false withdraws the mark")
    model: str | None = Field(default=None, description="Which image, when the prefix is shared")


class FirmwarePinIn(Body):
    model: str | None = Field(default=None, description="Implied by device")
    version: str | None = None
    sha256: str | None = Field(default=None, description="Instead of version")
    tenant: str | None = None
    device: str | None = Field(default=None, description="MAC")


class ExpectedFirmware(View):
    version: str
    sha256: str
    filename: str
    url: str
    level: PinLevelName


class RolloutTarget(View):
    version: str
    sha256: str


class Reported(View):
    version: str | None
    at: datetime | None


class ReportedBoth(View):
    http: Reported = Field(description="From the phone's HTTP User-Agent")
    sip: Reported = Field(description="From its SIP User-Agent")


class DeviceFirmware(View):
    mac: str
    model: str
    tenant: str
    expected: ExpectedFirmware | None
    explanation: list[str]
    rollout_target: RolloutTarget | None
    running: str | None = Field(description="The version reported last")
    reported: ReportedBoth
    drifted: bool
