"""Firmware: the catalogue of stored images, pins per level, and what each device runs.

- An image is a file in the content-addressed store plus its row: vendor, the
  models it fits, version, release notes and a ``tested`` flag.
- Importing the same file again with the same version and models changes
  nothing and says so (scripts can re-run); the same file under another
  version or other models, or another file for a (model, version) already
  stored, is refused naming what is there.
- Only tested images may be pinned, and a pinned image cannot be marked
  untested: a pin always names a tested version.
- A device runs the most specific pin for its model (device, tenant,
  platform); during a rollout to another image, the rollout's target.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tortoise.transactions import in_transaction

from provd.db.models import Device, FirmwareImage, FirmwarePin, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.catalogue import PhoneModel
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.firmware import PinLevel, check_version
from provd.drivers.registry import CATALOGUE, get_model
from provd.firmware import import_checks
from provd.firmware.import_checks import NewImage, version_key
from provd.firmware.resolution import (
    PLATFORM_OWNER,
    FirmwareResolution,
    FirmwareStatus,
    device_owner,
    firmware_for_config,
    firmware_status,
    may_download,
    resolve_for_device,
    tenant_owner,
)
from provd.firmware.store import FirmwareStore
from provd.services import audit
from provd.services.devices import device_model, get_device
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform

log = logging.getLogger("provd.firmware")

__all__ = [
    "FirmwareResolution",
    "FirmwareStatus",
    "NewImage",
    "check_new_image",
    "firmware_for_config",
    "firmware_url",
    "resolve_for_device",
]

_SHA_PREFIX = re.compile(r"[0-9a-f]{8,64}")
_LEVEL_NAMES = {PinLevel.PLATFORM: "platform", PinLevel.TENANT: "tenant", PinLevel.DEVICE: "device"}


# --- Catalogue ---------------------------------------------------------------


def check_new_image(
    models: Sequence[str],
    version: str,
    filename: str,
    *,
    notes: str = "",
    tested: bool = False,
    sha256: str | None = None,
) -> NewImage:
    """:func:`provd.firmware.import_checks.check_new_image` with the registered models."""
    return import_checks.check_new_image(
        models, version, filename, catalogue=CATALOGUE, notes=notes, tested=tested, sha256=sha256
    )


def image_view(image: FirmwareImage, pins: Sequence[FirmwarePin] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "sha256": image.sha256,
        "vendor": image.vendor,
        "models": list(image.models),
        "version": image.version,
        "filename": image.filename,
        "size": image.size,
        "tested": image.tested,
        "release_notes": image.release_notes,
        "created_at": image.created_at.isoformat(),
    }
    if pins is not None:
        view["pins"] = [pin_view(pin) for pin in pins]
    return view


def _describe(image: FirmwareImage) -> str:
    return f"firmware {image.version} for {', '.join(image.models)} (sha256 {image.sha256})"


@dataclass(frozen=True, slots=True)
class Added:
    image: FirmwareImage
    created: bool
    """False: the very same file was already stored with this version and models."""


def _check_unchanged_or_refuse(existing: FirmwareImage, new: NewImage) -> None:
    if existing.version == new.version and sorted(existing.models) == sorted(new.model_ids):
        return
    raise Conflict("file", f"this file is already stored as {_describe(existing)}")


async def _check_version_free(new: NewImage, sha256: str) -> None:
    same_version = await FirmwareImage.filter(vendor=new.vendor.value, version=new.version)
    for other in same_version:
        taken = [m for m in new.model_ids if m in other.models]
        if taken and other.sha256 != sha256:
            raise Conflict(
                "version",
                f"{', '.join(taken)} already has firmware {new.version} from another file"
                f" (sha256 {other.sha256})",
            )


async def add_image(
    p: Platform, actor: audit.Actor, new: NewImage, chunks: AsyncIterable[bytes]
) -> Added:
    """Store the streamed file and catalogue it; on any refusal nothing is kept."""
    store = FirmwareStore(p.data_dir)
    stored = await store.receive(chunks, new.declared_sha256)
    try:
        async with in_transaction():
            existing = await FirmwareImage.get_or_none(sha256=stored.sha256)
            if existing is not None:
                _check_unchanged_or_refuse(existing, new)
                return Added(existing, created=False)
            await _check_version_free(new, stored.sha256)
            image = await FirmwareImage.create(
                sha256=stored.sha256,
                size=stored.size,
                vendor=new.vendor.value,
                version=new.version,
                filename=new.filename,
                models=new.model_ids,
                release_notes=new.notes,
                tested=new.tested,
            )
            await audit.record(
                actor, AuditAction.FIRMWARE_ADD, "firmware", image.sha256, after=image_view(image)
            )
    except Exception:
        # The same bytes may be catalogued by a concurrent import: keep them then.
        if not await FirmwareImage.exists(sha256=stored.sha256):
            store.remove(stored.sha256)
        raise
    return Added(image, created=True)


async def list_images(model: str | None = None) -> list[FirmwareImage]:
    images = await FirmwareImage.all()
    if model:
        wanted = get_model(model).id
        images = [i for i in images if wanted in i.models]
    return sorted(images, key=lambda i: (i.vendor, version_key(i.version), i.id))


async def list_images_view(model: str | None = None) -> list[dict[str, Any]]:
    images = await list_images(model)
    pins = await FirmwarePin.all().select_related("image", "tenant", "device").order_by("id")
    by_image: dict[int, list[FirmwarePin]] = {}
    for pin in pins:
        by_image.setdefault(pin.image.id, []).append(pin)
    return [image_view(i, by_image.get(i.id, [])) for i in images]


async def find_image(
    *, version: str | None = None, sha256: str | None = None, model: str | None = None
) -> FirmwareImage:
    """One image by version (with the model when several fit) or by SHA-256 (a prefix
    of 8 or more hex digits will do)."""
    if not version and not sha256:
        raise InvalidInput("version", "give the version (or the sha256) of the firmware")
    query = FirmwareImage.all()
    field = "sha256" if sha256 else "version"
    if sha256:
        prefix = sha256.strip().lower()
        if not _SHA_PREFIX.fullmatch(prefix):
            raise InvalidInput("sha256", "must be 8 to 64 hexadecimal digits")
        query = query.filter(sha256__startswith=prefix)
    if version:
        query = query.filter(version=check_version(version))
    found = await query
    wanted = get_model(model).id if model else None
    if wanted:
        found = [i for i in found if wanted in i.models]
    if not found:
        key = (sha256 or version or "") + (f" for {wanted}" if wanted else "")
        raise NotFound("firmware", key, field=field)
    if len(found) > 1:
        listed = "; ".join(_describe(i) for i in found)
        raise InvalidInput(
            field, f"matches {len(found)} images ({listed}): add the model or sha256"
        )
    return found[0]


async def set_tested(
    actor: audit.Actor,
    *,
    version: str | None = None,
    sha256: str | None = None,
    model: str | None = None,
    tested: bool = True,
) -> FirmwareImage:
    async with in_transaction():
        image = await find_image(version=version, sha256=sha256, model=model)
        if image.tested == tested:
            return image
        if not tested:
            pins = await FirmwarePin.filter(image_id=image.id).select_related("tenant", "device")
            if pins:
                where = ", ".join(_pin_label(pin) for pin in pins)
                raise Conflict(
                    "version",
                    f"firmware {image.version} is pinned ({where}); unpin it before"
                    " marking it untested",
                )
        before = image_view(image)
        image.tested = tested
        await image.save(update_fields=["tested"])
        action = AuditAction.FIRMWARE_TESTED if tested else AuditAction.FIRMWARE_UNTESTED
        await audit.record(
            actor, action, "firmware", image.sha256, before=before, after=image_view(image)
        )
    return image


# --- Pins --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinScope:
    """Where a pin applies: the platform, one tenant or one device."""

    level: PinLevel
    owner: str
    label: str
    tenant: Tenant | None = None
    device: Device | None = None


async def pin_scope(*, tenant: str | None = None, device: str | None = None) -> PinScope:
    """The platform when neither a tenant nor a device is given."""
    if tenant and device:
        raise InvalidInput("scope", "give a tenant or a device, not both")
    if device:
        d = await get_device(device, field="device")
        return PinScope(PinLevel.DEVICE, device_owner(d.id), f"device {d.mac}", device=d)
    if tenant:
        t = await get_tenant(tenant)
        return PinScope(PinLevel.TENANT, tenant_owner(t.id), f"tenant {t.slug}", tenant=t)
    return PinScope(PinLevel.PLATFORM, PLATFORM_OWNER, "platform")


_PER_MODEL = "is required (the pin is per model)"


def _pin_label(pin: FirmwarePin) -> str:
    if pin.device is not None:
        return f"device {pin.device.mac}"
    if pin.tenant is not None:
        return f"tenant {pin.tenant.slug}"
    return "platform"


def pin_view(pin: FirmwarePin) -> dict[str, Any]:
    """``pin`` with image, tenant and device fetched."""
    return {
        "level": _LEVEL_NAMES[PinLevel(pin.level)],
        "tenant": pin.tenant.slug if pin.tenant is not None else None,
        "device": pin.device.mac if pin.device is not None else None,
        "model": pin.model,
        "version": pin.image.version,
        "sha256": pin.image.sha256,
    }


def _scope_fields(scope: PinScope, model: PhoneModel) -> dict[str, Any]:
    return {
        "owner": scope.owner,
        "level": int(scope.level),
        "tenant": scope.tenant,
        "device": scope.device,
        "model": model.id,
    }


async def set_pin(
    actor: audit.Actor,
    scope: PinScope,
    *,
    model: str | None,
    version: str | None = None,
    sha256: str | None = None,
) -> FirmwarePin:
    """Choose the firmware of a model at one level; only a tested image may be chosen."""
    phone_model = device_model(scope.device, model, missing=_PER_MODEL)
    image = await find_image(version=version, sha256=sha256, model=phone_model.id)
    if not image.tested:
        raise InvalidInput(
            "version",
            f"firmware {image.version} for {phone_model.id} is not tested; mark it tested"
            " first (provd firmware tested)",
        )
    async with in_transaction():
        pin = await FirmwarePin.get_or_none(owner=scope.owner, model=phone_model.id)
        before = None
        if pin is not None:
            await pin.fetch_related("image", "tenant", "device")
            before = pin_view(pin)
            pin.image = image
            await pin.save(update_fields=["image_id"])
        else:
            pin = await FirmwarePin.create(image=image, **_scope_fields(scope, phone_model))
        await pin.fetch_related("image", "tenant", "device")
        await audit.record(
            actor,
            AuditAction.FIRMWARE_PIN,
            "firmware_pin",
            f"{scope.owner}/{phone_model.id}",
            before=before,
            after=pin_view(pin),
        )
    return pin


async def remove_pin(actor: audit.Actor, scope: PinScope, *, model: str | None) -> str:
    """Remove the pin of a model at one level; returns the model id."""
    phone_model = device_model(scope.device, model, missing=_PER_MODEL)
    async with in_transaction():
        pin = await FirmwarePin.get_or_none(owner=scope.owner, model=phone_model.id)
        if pin is None:
            raise NotFound("firmware pin", f"{phone_model.id} at {scope.label}", field="model")
        await pin.fetch_related("image", "tenant", "device")
        before = pin_view(pin)
        await pin.delete()
        await audit.record(
            actor,
            AuditAction.FIRMWARE_UNPIN,
            "firmware_pin",
            f"{scope.owner}/{phone_model.id}",
            before=before,
        )
    return phone_model.id


# --- What a device should run, and runs ------------------------------------


def firmware_url(p: Platform, image: FirmwareImage) -> str:
    """Where a phone fetches the image: on provd, behind its own Digest credentials."""
    return image_url(p, image.sha256, image.filename)


def image_url(p: Platform, sha256: str, filename: str) -> str:
    """:func:`firmware_url` from the image's columns (the phone path reads them so)."""
    return f"{p.settings.provisioning_url}firmware/{sha256}/{quote(filename, safe='(),+')}"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


async def device_firmware_view(p: Platform, mac: str) -> dict[str, Any]:
    """Expected against running firmware for one device, with the reasoning."""
    device = await get_device(mac)
    await device.fetch_related("tenant")
    status = await firmware_status(device)
    resolution = status.resolution
    expected = None
    if resolution.image is not None and resolution.level is not None:
        expected = {
            "version": resolution.image.version,
            "sha256": resolution.image.sha256,
            "filename": resolution.image.filename,
            "url": firmware_url(p, resolution.image),
            "level": _LEVEL_NAMES[resolution.level],
        }
    rollout = status.rollout_image
    return {
        "mac": device.mac,
        "model": device.model,
        "tenant": device.tenant.slug,
        "expected": expected,
        "explanation": list(resolution.explanation),
        "rollout_target": (
            {"version": rollout.version, "sha256": rollout.sha256} if rollout else None
        ),
        "running": status.running,
        "reported": {
            "http": {"version": status.http.version, "at": _iso(status.http.at)},
            "sip": {"version": status.sip.version, "at": _iso(status.sip.at)},
        },
        "drifted": status.drifted,
    }


@dataclass(frozen=True, slots=True)
class FirmwareGrant:
    """``device`` may download ``image``: stream ``path``."""

    device: Device
    image: FirmwareImage
    path: Path


async def firmware_grant(
    p: Platform, device: Device, sha256: str, filename: str
) -> FirmwareGrant | None:
    """None (a plain 404 for the phone) unless the image is the device's to fetch."""
    image = await FirmwareImage.get_or_none(sha256=sha256)
    if image is None or image.filename != filename or device.model not in image.models:
        return None
    if not await may_download(device, image):
        return None
    path = FirmwareStore(p.data_dir).path(image.sha256)
    if not path.is_file():
        log.error(
            "firmware %s (%s) is catalogued but missing from the store", image.sha256, image.version
        )
        return None
    return FirmwareGrant(device, image, path)
