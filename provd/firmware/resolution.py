"""Which firmware image a device should run, read from its pins and active rollouts.

The rule itself (device pin over tenant override over platform default) is
:func:`provd.domain.firmware.resolve`; this module gathers its input in one
query and maps the answer back to stored images.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from provd.db.models import Device, FirmwareImage, FirmwarePin, RolloutDevice
from provd.domain.firmware import (
    FINAL_DEVICE_STATES,
    DeviceState,
    Pin,
    PinLevel,
    RolloutState,
    is_drifted,
    resolve,
)

PLATFORM_OWNER = "platform"

ACTIVE_DEVICE_STATES = tuple(s.value for s in DeviceState if s not in FINAL_DEVICE_STATES)
"""A rollout device in one of these states may download its rollout's target."""
UPDATING_DEVICE_STATES = (DeviceState.NOTIFIED.value, DeviceState.FETCHED.value)
"""A rollout device in one of these states is sent its rollout's target in its
configuration: a pending device is not, so that it does not update before its
batch (the rollout moves a device to ``notified`` before it sends the check-sync)."""
ACTIVE_ROLLOUT_STATES = (RolloutState.RUNNING.value, RolloutState.PAUSED.value)


def tenant_owner(tenant_id: int) -> str:
    return f"tenant:{tenant_id}"


def device_owner(device_id: int) -> str:
    return f"device:{device_id}"


def pin_owners(tenant_id: int, device_id: int) -> dict[str, PinLevel]:
    """The owners whose pins apply to a device, and at which level."""
    return {
        PLATFORM_OWNER: PinLevel.PLATFORM,
        tenant_owner(tenant_id): PinLevel.TENANT,
        device_owner(device_id): PinLevel.DEVICE,
    }


@dataclass(frozen=True, slots=True)
class FirmwareResolution:
    """The firmware a device should run according to its pins, and why."""

    image: FirmwareImage | None
    version: str | None
    level: PinLevel | None
    explanation: tuple[str, ...]


async def resolve_for_device(device: Device) -> FirmwareResolution:
    """The most specific pin for the device's model: device, then tenant, then platform."""
    levels = pin_owners(device.tenant_id, device.id)  # type: ignore[attr-defined]
    rows = await FirmwarePin.filter(model=device.model, owner__in=list(levels)).select_related(
        "image"
    )
    pins: dict[PinLevel, Pin] = {}
    images: dict[PinLevel, FirmwareImage] = {}
    for row in rows:
        level = levels[row.owner]
        pins[level] = Pin(level, row.image.id, row.image.version, row.image.tested)
        images[level] = row.image
    result = resolve(pins)
    if result.pin is None:
        lines = (*result.explanation, "no pin: provd leaves this device's firmware alone")
        return FirmwareResolution(None, None, None, lines)
    return FirmwareResolution(
        images[result.pin.level], result.version, result.pin.level, result.explanation
    )


async def rollout_target(
    device: Device, states: tuple[str, ...] = UPDATING_DEVICE_STATES
) -> FirmwareImage | None:
    """The target image of a rollout that has the device in ``states``.

    Whatever the rollout's own state: a phone that was told to reboot for an
    update keeps being offered that firmware even if the rollout is cancelled
    meanwhile, or it would come back on the old version and time out.
    """
    row = (
        await RolloutDevice.filter(
            device_id=device.id,
            state__in=states,
            target_image_id__isnull=False,
        )
        .select_related("target_image")
        .order_by("-id")
        .first()
    )
    return row.target_image if row is not None else None


async def may_download(device: Device, image: FirmwareImage) -> bool:
    """A device may fetch its resolved firmware, or the target of an active rollout for it."""
    if await RolloutDevice.exists(
        device_id=device.id,
        target_image_id=image.id,
        state__in=ACTIVE_DEVICE_STATES,
        rollout__state__in=ACTIVE_ROLLOUT_STATES,
    ) or await RolloutDevice.exists(
        device_id=device.id, target_image_id=image.id, state__in=UPDATING_DEVICE_STATES
    ):
        return True
    resolution = await resolve_for_device(device)
    return resolution.image is not None and resolution.image.id == image.id


async def firmware_for_config(device: Device) -> FirmwareImage | None:
    """The image a device's configuration points at: the target of a rollout that is
    updating the device, otherwise its resolved pin."""
    target = await rollout_target(device)
    if target is not None:
        return target
    return (await resolve_for_device(device)).image


@dataclass(frozen=True, slots=True)
class Reported:
    version: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class FirmwareStatus:
    resolution: FirmwareResolution
    rollout_image: FirmwareImage | None
    http: Reported
    """From the HTTP User-Agent of the last authenticated fetch."""
    sip: Reported
    """From the SIP User-Agent of the last REGISTER."""

    @property
    def running(self) -> str | None:
        """The version the phone reported last, by either channel."""
        seen = [r for r in (self.http, self.sip) if r.version is not None]
        if not seen:
            return None
        return max(seen, key=lambda r: r.at.timestamp() if r.at else 0.0).version

    @property
    def drifted(self) -> bool:
        return is_drifted(self.resolution.version, self.running)


async def firmware_status(device: Device) -> FirmwareStatus:
    return FirmwareStatus(
        resolution=await resolve_for_device(device),
        rollout_image=await rollout_target(device, ACTIVE_DEVICE_STATES),
        http=Reported(device.reported_firmware, device.reported_firmware_at),
        sip=Reported(device.sip_firmware, device.sip_firmware_at),
    )
