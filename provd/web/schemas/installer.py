"""What installers call: claims of scanned phones, label photos, their phones' state."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from provd.domain.catalogue import Vendor
from provd.services.installer import ClaimState
from provd.web.contract import Body, View


class InstallerUser(View):
    extension: str
    name: str
    devices: int = Field(description="Phones the user is on")


class ModelChoice(View):
    model: str
    vendor: Vendor
    label: str


class ClaimIn(Body):
    mac: str = Field(description="12 hex digits, any common notation")
    model: str
    extension: str | None = Field(default=None, description="The user on line 1; null: spare")
    tenant: str | None = Field(default=None, description="Admins only")


class ClaimStatus(View):
    mac: str
    state: ClaimState
    label: str
    hint: str = Field(description="What to check when it stalls here")
    model: str | None = Field(description="The claimed model")
    reported_model: str | None
    reported_firmware: str | None = Field(description="The version it runs")
    last_contact_at: datetime | None
    ip: str | None


class ClaimedUser(View):
    extension: str
    name: str


class Claim(View):
    mac: str
    model: str
    vendor: Vendor
    tenant: str
    user: ClaimedUser | None
    status: ClaimStatus


class Barcode(View):
    format: str
    text: str


class LabelReading(View):
    barcodes: list[Barcode]
    macs: list[str]
    mac: str | None = Field(description="The label's MAC when it is unambiguous")
    message: str
