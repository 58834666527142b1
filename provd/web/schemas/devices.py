"""Devices: one phone by MAC, its lines, overrides, and CSV import of many."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from provd.web.contract import Body, ErrorDetail, View


class DeviceIn(Body):
    invalid: ClassVar[Mapping[str, str]] = {"users": "must be a list of extensions (strings)"}
    mac: str
    model: str
    tenant: str | None = Field(default=None, description="Default: default")
    users: list[str] = Field(default_factory=list, description="Extensions on line 1, 2, …")
    password: str | None = Field(
        default=None, description="Provisioning password; generated if absent"
    )
    name: str | None = None


class DevicePatch(Body):
    invalid: ClassVar[Mapping[str, str]] = {"expansion_modules": "must be a number"}
    expansion_modules: int | None = None
    vlan_lan: str | None = Field(default=None, description="ID[:PRIORITY], off or inherit")
    vlan_pc: str | None = Field(default=None, description="ID[:PRIORITY], off or inherit")
    lldp: str | None = Field(default=None, description="on, off or inherit")


class DeviceLine(View):
    slot: int
    extension: str
    name: str


class Device(View):
    mac: str
    model: str
    vendor: str
    tenant: str
    name: str
    lines: list[DeviceLine]
    expansion_modules: int
    vlan_lan: str = Field(description="ID[:PRIORITY], off or inherit")
    vlan_pc: str = Field(description="ID[:PRIORITY], off or inherit")
    lldp: Literal["on", "off", "inherit"]
    provisioning_username: str
    sealed: bool
    sealed_at: datetime | None
    last_fetch_at: datetime | None
    last_fetch_ip: str | None
    reported_firmware: str | None
    last_user_agent: str | None


class ProvisioningCredential(View):
    url: str
    username: str
    password: str


class DeviceCreated(Device):
    provisioning: ProvisioningCredential = Field(description="Shown once, in this answer only")


class CsvChange(View):
    row: int
    mac: str
    action: Literal["add", "update", "unchanged"]


class CsvImport(View):
    added: int
    updated: int
    unchanged: int
    dry_run: bool
    changes: list[CsvChange]


class CsvRowError(View):
    row: int = Field(description="As a spreadsheet counts: the header is row 1")
    column: str
    message: str


class CsvErrors(View):
    error: ErrorDetail
    errors: list[CsvRowError]
