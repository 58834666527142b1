"""Firmware rollouts: a selection of devices updated in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from provd.domain.firmware import DeviceState, RolloutState
from provd.services.rollouts import Options
from provd.web.contract import Body, View

_DEFAULTS = Options()


class RolloutIn(Body):
    """Devices by list, or by model and/or tenant; drifted narrows."""

    devices: list[str] | str | None = Field(default=None, description="MACs, or one string MAC,MAC")
    model: str | None = None
    tenant: str | None = None
    drifted: bool = Field(default=False, description="Only devices off their pin")
    version: str | None = Field(
        default=None, description="A tested version; default: each device's pinned one"
    )
    batch: int = _DEFAULTS.batch
    canary: int = _DEFAULTS.canary
    concurrency: int = _DEFAULTS.concurrency
    timeout: int = Field(default=_DEFAULTS.timeout_s, description="Seconds")

    invalid: ClassVar[Mapping[str, str]] = {"devices": "must be a list of MAC addresses"}


class RolloutDevice(View):
    mac: str
    position: int
    batch: int = Field(description="0 is the canary batch")
    canary: bool
    state: DeviceState
    target_version: str | None
    reason: str
    notified_at: datetime | None
    fetched_at: datetime | None
    updated_at: datetime | None


class Rollout(View):
    id: int
    state: RolloutState
    reason: str
    selection: str
    versions: list[str]
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    batch_size: int
    canary: int
    concurrency: int
    timeout_seconds: int
    total: int
    counts: dict[str, int] = Field(description="Devices per state")
    in_flight: int
    finished: bool = Field(description="Over, and no phone still updating")
    devices_per_minute: float


class RolloutDetail(Rollout):
    devices: list[RolloutDevice]


class RolloutStarted(RolloutDetail):
    not_registered_now: list[str] | None = Field(
        description="Devices with no line registered now; null if the PBX did not answer"
    )
