"""What a rollout would do, before it is started: the devices a selection names, per
model the version each would go to (its pinned firmware, or one version for all),
and how many already run it. Reads only; :func:`provd.services.rollouts.start_rollout`
decides again, all or nothing, when the rollout is started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provd.db.models import Device, FirmwareImage, FirmwarePin
from provd.domain.catalogue import PhoneModel
from provd.domain.firmware import Pin, PinLevel, check_version, is_drifted, resolve
from provd.drivers.registry import get_model
from provd.firmware.import_checks import version_key
from provd.firmware.resolution import PLATFORM_OWNER, device_owner, tenant_owner
from provd.services.rollouts import Selection, running_version, select_devices

SHOWN_DEVICES = 500
"""A preview lists this many devices; counts cover all of them."""


@dataclass(frozen=True, slots=True)
class Target:
    version: str
    """"" when the device has nothing to go to (no pin, no such version)."""
    devices: int
    already: int
    """Devices among them that already run the version: done at once, not rebooted."""


@dataclass(frozen=True, slots=True)
class ModelPreview:
    model: PhoneModel
    devices: int
    targets: tuple[Target, ...]
    tested_versions: tuple[str, ...]
    """Tested versions stored for the model, oldest first: what may be chosen for all."""


@dataclass(frozen=True, slots=True)
class DevicePreview:
    mac: str
    model: str
    running: str | None
    target: str


@dataclass(frozen=True, slots=True)
class Preview:
    selection: Selection
    version: str | None
    """None: each device goes to its pinned firmware (the recommended one)."""
    models: tuple[ModelPreview, ...]
    devices: tuple[DevicePreview, ...]
    """The first :data:`SHOWN_DEVICES` devices."""
    total: int
    to_update: int
    already: int
    without_target: int

    @property
    def choosable_versions(self) -> tuple[str, ...]:
        """Tested versions every selected model has."""
        if not self.models:
            return ()
        common = set(self.models[0].tested_versions)
        for m in self.models[1:]:
            common &= set(m.tested_versions)
        return tuple(sorted(common, key=version_key))


async def _pinned_versions(devices: Sequence[Device]) -> dict[int, str | None]:
    """Each device's resolved version, from one query over its models' pins."""
    models = sorted({d.model for d in devices})
    rows = await FirmwarePin.filter(model__in=models).select_related("image")
    by_owner: dict[tuple[str, str], Pin] = {}
    for row in rows:
        level = PinLevel(row.level)
        by_owner[(row.owner, row.model)] = Pin(
            level, row.image.id, row.image.version, row.image.tested
        )
    out: dict[int, str | None] = {}
    for d in devices:
        owners = {
            PinLevel.PLATFORM: PLATFORM_OWNER,
            PinLevel.TENANT: tenant_owner(d.tenant_id),  # type: ignore[attr-defined]
            PinLevel.DEVICE: device_owner(d.id),
        }
        pins = {
            level: pin
            for level, owner in owners.items()
            if (pin := by_owner.get((owner, d.model))) is not None
        }
        out[d.id] = resolve(pins).version
    return out


async def preview(selection: Selection, version: str | None = None) -> Preview:
    devices = await select_devices(selection)
    version = check_version(version) if version else None
    pinned = await _pinned_versions(devices)
    if selection.drifted:
        devices = [d for d in devices if is_drifted(pinned[d.id], running_version(d))]
    models = sorted({d.model for d in devices})
    images = await FirmwareImage.filter(tested=True)
    tested = {
        m: tuple(sorted({i.version for i in images if m in i.models}, key=version_key))
        for m in models
    }

    def target(d: Device) -> str:
        if version is None:
            return pinned[d.id] or ""
        return version if version in tested[d.model] else ""

    rows = [DevicePreview(d.mac, d.model, running_version(d), target(d)) for d in devices]
    model_views = []
    for model_id in models:
        mine = [r for r in rows if r.model == model_id]
        versions = sorted({r.target for r in mine}, key=lambda v: (v == "", version_key(v)))
        targets = tuple(
            Target(
                v,
                sum(r.target == v for r in mine),
                sum(bool(v) and r.target == v and r.running == v for r in mine),
            )
            for v in versions
        )
        model_views.append(ModelPreview(get_model(model_id), len(mine), targets, tested[model_id]))
    already = sum(bool(r.target) and r.running == r.target for r in rows)
    without = sum(not r.target for r in rows)
    return Preview(
        selection,
        version,
        tuple(model_views),
        tuple(rows[:SHOWN_DEVICES]),
        len(rows),
        len(rows) - already - without,
        already,
        without,
    )
