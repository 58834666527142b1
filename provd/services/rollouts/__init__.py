"""Bulk firmware rollouts: choosing the devices, creating the persisted job, controlling it.

The job lives in the database (``rollout`` and one ``rollout_device`` row per
phone). The engine inside ``provd serve`` (:mod:`provd.services.rollouts.engine`)
drives it; the CLI and the API, in any process, control it by changing rows.
Every state change writes an audit row: the person's for start, pause, resume
and cancel, ``rollout:<id>`` for what the engine does. Those rows are also the
rollout's event stream (:mod:`provd.services.rollouts.progress`).

Transactions write first and read after: on SQLite a transaction that read
before another process wrote cannot write any more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from provd.db.models import Device, FirmwareImage, Rollout, RolloutDevice
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.firmware import (
    FINAL_ROLLOUT_STATES,
    DeviceState,
    RolloutState,
    check_rollout_move,
    check_version,
    is_drifted,
    plan_batches,
)
from provd.domain.mac import parse_mac
from provd.drivers.registry import get_model
from provd.pbx import Registration
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.firmware.reported import observe
from provd.services.rollouts.progress import IN_FLIGHT, get_rollout, rollout_view

ACTIVE = (RolloutState.RUNNING, RolloutState.PAUSED)
CANCELLED_REASON = "not started: the rollout was cancelled"
HALTED_REASON = "not started: the canary batch did not all succeed"
_LIMITS = {
    "batch": (1, 10_000),
    "canary": (0, 10_000),
    "concurrency": (1, 1_000),
    "timeout": (1, 86_400),
}


def engine_actor(rollout_id: int) -> audit.Actor:
    return audit.Actor(f"rollout:{rollout_id}")


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- what to update, and how -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """Which devices: listed MACs, or by model and/or tenant; ``drifted`` narrows either."""

    model: str | None = None
    tenant: str | None = None
    devices: tuple[str, ...] = ()
    drifted: bool = False

    @property
    def field(self) -> str:
        """The input a selection error points at."""
        if self.devices:
            return "devices"
        return "model" if self.model else "tenant" if self.tenant else "drifted"

    def describe(self) -> str:
        parts = []
        if self.devices:
            listed = ",".join(self.devices)
            short = len(listed) < 200
            parts.append(f"devices={listed}" if short else f"{len(self.devices)} devices")
        if self.model:
            parts.append(f"model={self.model}")
        if self.tenant:
            parts.append(f"tenant={self.tenant}")
        if self.drifted:
            parts.append("drifted")
        return " ".join(parts)


def parse_device_list(value: str | Sequence[str], *, field: str = "devices") -> tuple[str, ...]:
    """``MAC,MAC`` (or a list) as canonical MACs in the given order, duplicates dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    macs = [parse_mac(item, field=field) for item in items if item.strip()]
    if not macs:
        raise InvalidInput(field, "name at least one MAC address")
    return tuple(dict.fromkeys(macs))


@dataclass(frozen=True, slots=True)
class Options:
    version: str | None = None
    """A tested version for every device; None: each device's resolved (pinned) firmware."""
    batch: int = 10
    canary: int = 0
    concurrency: int = 10
    timeout_s: int = 900
    """How long a notified device has to come back on its target version."""

    def checked(self) -> Options:
        values = {
            "batch": self.batch,
            "canary": self.canary,
            "concurrency": self.concurrency,
            "timeout": self.timeout_s,
        }
        for name, value in values.items():
            low, high = _LIMITS[name]
            if not low <= value <= high:
                raise InvalidInput(name, f"must be between {low} and {high}")
        version = check_version(self.version) if self.version is not None else None
        return replace(self, version=version)


def running_version(device: Device) -> str | None:
    """The version the phone reported last, over HTTP or SIP."""
    seen = [
        (version, at)
        for version, at in (
            (device.reported_firmware, device.reported_firmware_at),
            (device.sip_firmware, device.sip_firmware_at),
        )
        if version
    ]
    if not seen:
        return None
    return max(seen, key=lambda s: s[1].timestamp() if s[1] else 0.0)[0]


async def select_devices(selection: Selection) -> list[Device]:
    """The devices a selection names, as a rollout takes them (also its preview)."""
    if selection.devices and (selection.model or selection.tenant):
        raise InvalidInput("devices", "select listed devices, or by model and tenant, not both")
    if selection.devices:
        macs = parse_device_list(selection.devices)
        found = {d.mac: d for d in await Device.filter(mac__in=macs)}
        for mac in macs:
            if mac not in found:
                raise NotFound("device", mac, field="devices")
        return [found[mac] for mac in macs]
    if not (selection.model or selection.tenant or selection.drifted):
        raise InvalidInput("selection", "choose devices by model, tenant, list or drifted")
    query = Device.all().order_by("mac")
    if selection.model:
        query = query.filter(model=get_model(selection.model).id)
    if selection.tenant:
        query = query.filter(tenant_id=(await get_tenant(selection.tenant)).id)
    return list(await query)


async def _images_for_version(devices: Sequence[Device], version: str) -> dict[int, FirmwareImage]:
    images = await FirmwareImage.filter(version=version)
    out = {}
    for device in devices:
        fits = [i for i in images if i.vendor == device.vendor and device.model in i.models]
        if not fits:
            raise InvalidInput("version", f"no firmware {version} is stored for {device.model}")
        image = fits[0]
        if not image.tested:
            raise InvalidInput(
                "version",
                f"firmware {version} for {device.model} is not tested: mark it tested first",
            )
        out[device.id] = image
    return out


async def _resolved_images(devices: Sequence[Device]) -> dict[int, FirmwareImage | None]:
    from provd.services.firmware import resolve_for_device

    return {d.id: (await resolve_for_device(d)).image for d in devices}


async def _busy(devices: Sequence[Device]) -> tuple[str, int] | None:
    """A device another rollout is updating or will update: (MAC, rollout id)."""
    row = (
        await RolloutDevice.filter(device_id__in=[d.id for d in devices])
        .filter(
            Q(state__in=list(IN_FLIGHT))
            | Q(state=DeviceState.PENDING, reason="", rollout__state__in=list(ACTIVE))
        )
        .order_by("id")
        .first()
    )
    return (row.mac, row.rollout_id) if row is not None else None  # type: ignore[attr-defined]


async def _targets(
    devices: list[Device], selection: Selection, options: Options
) -> tuple[list[Device], Mapping[int, FirmwareImage | None]]:
    """The devices that stay selected, and the image each one goes to."""
    pinned: Mapping[int, FirmwareImage | None] = {}
    if selection.drifted or options.version is None:
        pinned = await _resolved_images(devices)
    if selection.drifted:
        # Drift is measured against what the device should run by its pins.
        devices = [
            d
            for d in devices
            if is_drifted(img.version if (img := pinned[d.id]) else None, running_version(d))
        ]
    if not devices:
        raise InvalidInput(selection.field, "no device matches this selection")
    if options.version is not None:
        return devices, await _images_for_version(devices, options.version)
    if all(pinned[d.id] is None for d in devices):
        raise InvalidInput(
            "version", "no firmware is pinned for these devices: pin one or give a version"
        )
    return devices, pinned


@dataclass(slots=True)
class _Planned:
    device: Device
    image: FirmwareImage | None
    state: DeviceState
    reason: str = ""


def _plan(device: Device, image: FirmwareImage | None) -> _Planned:
    if image is None:
        reason = f"no firmware is pinned for {device.model}"
        return _Planned(device, None, DeviceState.FAILED, reason)
    if running_version(device) == image.version:
        return _Planned(device, image, DeviceState.DONE, f"already runs {image.version}")
    return _Planned(device, image, DeviceState.PENDING)


@dataclass(frozen=True, slots=True)
class Started:
    rollout: Rollout
    not_registered: list[str] | None
    """Devices to update with no line registered now; None when the PBX did not answer."""

    def view_extra(self) -> dict[str, Any]:
        return {"not_registered_now": self.not_registered}


async def start_rollout(
    actor: audit.Actor,
    selection: Selection,
    options: Options,
    registrations: Mapping[str, Registration] | None = None,
) -> Started:
    """Create the rollout, all or nothing. ``registrations`` (one ``ul.dump``) lets it
    report the devices that are not registered now and see versions phones report."""
    options = options.checked()
    devices = await select_devices(selection)
    registered: set[int] | None = None
    if registrations is not None:
        states = await observe(devices, registrations)
        registered = {i for i, s in states.items() if s.registered}
    devices, images = await _targets(devices, selection, options)
    busy = await _busy(devices)
    if busy is not None:
        raise Conflict(selection.field, f"{busy[0]} is already in rollout {busy[1]}")
    plans = [_plan(d, images[d.id]) for d in devices]
    # Devices with work to do come first, so that the canary is made of them.
    plans.sort(key=lambda p: p.state is not DeviceState.PENDING)
    todo = sum(p.state is DeviceState.PENDING for p in plans)
    if options.canary > todo:
        raise InvalidInput("canary", f"must be between 0 and the {todo} devices to update")
    batches = plan_batches(len(plans), options.batch, options.canary)
    distinct = {p.image.id: p.image for p in plans if p.image is not None}
    single = next(iter(distinct.values())) if len(distinct) == 1 else None
    not_registered = (
        None
        if registered is None
        else [
            p.device.mac
            for p in plans
            if p.state is DeviceState.PENDING and p.device.id not in registered
        ]
    )
    now = utcnow()
    async with in_transaction():
        rollout = await Rollout.create(
            state=RolloutState.RUNNING if todo else RolloutState.DONE,
            created_by=actor.name[:128],
            finished_at=None if todo else now,
            target_image=single if options.version is not None else None,
            selection=selection.describe()[:255],
            batch_size=options.batch,
            canary_size=options.canary,
            concurrency=options.concurrency,
            timeout_seconds=options.timeout_s,
            reason="" if todo else "nothing to do: no device needs an update",
        )
        await RolloutDevice.bulk_create(
            [
                RolloutDevice(
                    rollout=rollout,
                    device=p.device,
                    mac=p.device.mac,
                    position=i,
                    batch=batches[i],
                    state=p.state,
                    target_version=p.image.version if p.image else "",
                    target_image=p.image,
                    reason=p.reason,
                    updated_at=now,
                )
                for i, p in enumerate(plans)
            ]
        )
        view = await rollout_view(rollout, with_devices=False)
        await audit.record(
            actor,
            AuditAction.ROLLOUT_START,
            "rollout",
            str(rollout.id),
            after=view | {"version": options.version, "not_registered_now": not_registered},
        )
        for p in plans:
            if p.state is not DeviceState.PENDING:
                await audit.record(
                    engine_actor(rollout.id),
                    AuditAction.rollout_device(p.state),
                    "rollout_device",
                    f"{rollout.id}/{p.device.mac}",
                    before={"state": DeviceState.PENDING.value},
                    after={"state": p.state.value, "reason": p.reason},
                )
    return Started(rollout, not_registered)


# --- control -------------------------------------------------------------------------


def _sources(new: RolloutState) -> list[RolloutState]:
    """The states a rollout may move to ``new`` from."""
    out = []
    for state in RolloutState:
        try:
            check_rollout_move(state, new)
        except InvalidInput:
            continue
        out.append(state)
    return out


async def move_rollout(
    actor: audit.Actor,
    rollout_id: int,
    new: RolloutState,
    *,
    action: AuditAction,
    reason: str = "",
    pending_reason: str | None = None,
) -> Rollout:
    """Change the rollout's state if the move is allowed from its current one.

    ``pending_reason`` marks every device not yet started: a pending device with
    a reason is never started (the engine starts only those without one), so a
    cancel can never race with a device being notified.
    """
    now = utcnow()
    fields: dict[str, Any] = {"state": new.value, "reason": reason[:255]}
    if new in FINAL_ROLLOUT_STATES:
        fields["finished_at"] = now
    async with in_transaction():
        before = None
        for source in _sources(new):
            if await Rollout.filter(id=rollout_id, state=source).update(**fields):
                before = source
                break
        rollout = await Rollout.get_or_none(id=rollout_id)
        if rollout is None:
            raise NotFound("rollout", str(rollout_id), field="id")
        if before is None:
            try:
                check_rollout_move(RolloutState(rollout.state), new)
            except InvalidInput as e:
                raise Conflict("rollout", e.message) from None
            raise Conflict("rollout", f"rollout {rollout_id} changed meanwhile; try again")
        not_started = 0
        if pending_reason is not None:
            not_started = await RolloutDevice.filter(
                rollout_id=rollout_id, state=DeviceState.PENDING, reason=""
            ).update(reason=pending_reason, updated_at=now)
        after: dict[str, Any] = {"state": new.value, "reason": reason}
        if pending_reason is not None:
            after["not_started"] = not_started
        await audit.record(
            actor, action, "rollout", str(rollout_id), before={"state": before.value}, after=after
        )
    return rollout


async def pause_rollout(actor: audit.Actor, rollout_id: str | int) -> Rollout:
    """No device is started until resumed; phones already updating are still followed."""
    rollout = await get_rollout(rollout_id)
    return await move_rollout(
        actor, rollout.id, RolloutState.PAUSED, action=AuditAction.ROLLOUT_PAUSE
    )


async def resume_rollout(actor: audit.Actor, rollout_id: str | int) -> Rollout:
    rollout = await get_rollout(rollout_id)
    return await move_rollout(
        actor, rollout.id, RolloutState.RUNNING, action=AuditAction.ROLLOUT_RESUME
    )


async def cancel_rollout(actor: audit.Actor, rollout_id: str | int) -> Rollout:
    """Devices not started stay pending (with the reason) and are never notified."""
    rollout = await get_rollout(rollout_id)
    return await move_rollout(
        actor,
        rollout.id,
        RolloutState.CANCELLED,
        action=AuditAction.ROLLOUT_CANCEL,
        reason=f"cancelled by {actor.name}",
        pending_reason=CANCELLED_REASON,
    )
