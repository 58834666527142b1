"""Firmware at a glance, per model: how many devices, the platform pin, the newest
tested image; and every pin with where it applies. Reads only; changes go through
:mod:`provd.services.firmware`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provd.db.models import Device, FirmwareImage, FirmwarePin
from provd.domain.catalogue import PhoneModel
from provd.domain.firmware import PinLevel
from provd.drivers.registry import MODELS
from provd.firmware.import_checks import version_key
from provd.firmware.resolution import PLATFORM_OWNER


@dataclass(frozen=True, slots=True)
class PinRow:
    level: PinLevel
    model: str
    version: str
    sha256: str
    tenant: str = ""
    device: str = ""


@dataclass(frozen=True, slots=True)
class ModelFirmware:
    model: PhoneModel
    devices: int
    platform_pin: str
    """The version the platform default pins, or "" for none."""
    newest_tested: str
    images: int


async def pins() -> list[PinRow]:
    rows = await FirmwarePin.all().select_related("image", "tenant", "device")
    out = [
        PinRow(
            PinLevel(pin.level),
            pin.model,
            pin.image.version,
            pin.image.sha256,
            tenant=pin.tenant.slug if pin.tenant is not None else "",
            device=pin.device.mac if pin.device is not None else "",
        )
        for pin in rows
    ]
    out.sort(key=lambda p: (p.model, p.level, p.tenant, p.device))
    return out


async def models_overview(images: Sequence[FirmwareImage]) -> list[ModelFirmware]:
    """Every model that has devices or images, in catalogue order."""
    counts: dict[str, int] = {}
    for model_id in await Device.all().values_list("model", flat=True):
        counts[str(model_id)] = counts.get(str(model_id), 0) + 1
    platform = {
        pin.model: pin.image.version
        for pin in await FirmwarePin.filter(owner=PLATFORM_OWNER).select_related("image")
    }
    out = []
    for model in MODELS:
        fitting = [i for i in images if model.id in i.models]
        if not fitting and not counts.get(model.id):
            continue
        tested = sorted((i.version for i in fitting if i.tested), key=version_key)
        out.append(
            ModelFirmware(
                model,
                counts.get(model.id, 0),
                platform.get(model.id, ""),
                tested[-1] if tested else "",
                len(fitting),
            )
        )
    return out
