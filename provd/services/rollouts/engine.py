"""The rollout engine: an asyncio task in ``provd serve`` that moves rollouts along.

The database is the source of truth. Each tick reads the rows, decides, and
writes a state change (with its audit row) *before* acting on it, so a restart,
even a ``kill -9``, resumes where it stopped: notified phones are watched again
and never notified twice, pending ones proceed. Other processes pause, resume
and cancel by changing rows, which the next tick sees.

A device: pending → notified (the row is written, then ``check-sync;reboot=true``
goes to one registered line) → fetched (the firmware-download hook) → done once
a line registers with a User-Agent reporting the target version. It fails when
the check-sync does not reach the phone, and times out when the phone is not
back on the target in time. A rollout: batches in order, at most
``concurrency`` phones updating at once; the canary batch (0) must end all
done, or the rollout halts with nothing else touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from provd.db.models import Device, FirmwareImage, Rollout, RolloutDevice
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput
from provd.domain.firmware import DeviceState, RolloutState, can_move, counts
from provd.drivers.registry import driver_for
from provd.pbx import CheckSyncOutcome, CheckSyncResult, PbxControl, PbxError, Registration
from provd.services import audit
from provd.services.firmware.reported import SipState, observe, record_all
from provd.services.platform import Platform
from provd.services.rollouts import HALTED_REASON, engine_actor, move_rollout, utcnow
from provd.services.rollouts.progress import IN_FLIGHT

log = logging.getLogger("provd.rollouts")

SENDING = "sending check-sync"
"""A notified device whose check-sync answer is not recorded yet."""
SEND_INTERRUPTED = "check-sync outcome unknown: provd stopped while sending it"
_STOP_GRACE_S = 6.0
"""How long a stopping engine lets check-syncs in progress finish (Kamailio's fr_timer is 5 s)."""


def _send_failure(result: CheckSyncResult) -> str:
    if result.outcome is CheckSyncOutcome.NOT_REGISTERED:
        return "not registered"
    if result.outcome is CheckSyncOutcome.NO_ANSWER:
        return f"no answer to check-sync ({result.status} {result.reason})"
    return f"check-sync rejected ({result.status} {result.reason})"


def _timeout_reason(row: RolloutDevice, timeout_s: int, state: SipState | None) -> str:
    if state is None or not state.registered:
        now = "not registered"
    elif state.version is None:
        now = "registered, no version in its User-Agent"
    else:
        now = f"registered with {state.version}"
    fetched = "firmware fetched" if row.state == DeviceState.FETCHED else "firmware not fetched"
    text = f"not back on {row.target_version} within {timeout_s} s: {now}, {fetched}"
    if row.reason == SEND_INTERRUPTED:
        text += f" ({row.reason})"
    return text


class RolloutEngine:
    def __init__(
        self,
        platform: Platform,
        control: PbxControl,
        *,
        poll_s: float = 1.0,
        sweep_s: float = 60.0,
        record_fetches: bool = True,
    ) -> None:
        """``record_fetches=False`` when every process records firmware downloads itself
        (``serve``: a phone may download from any worker, the engine runs in one)."""
        self._p = platform
        self._record_fetches = record_fetches
        self._control = control
        self._poll_s = poll_s
        self._sweep_s = sweep_s
        """How often every device's SIP-reported firmware is recorded, rollout or not."""
        self._task: asyncio.Task[None] | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._last_sweep: float | None = None

    async def start(self) -> None:
        # A check-sync that was being sent when provd died may or may not have
        # reached the phone: it is watched like any notified device, never resent.
        interrupted = await RolloutDevice.filter(state=DeviceState.NOTIFIED, reason=SENDING).update(
            reason=SEND_INTERRUPTED
        )
        active = await Rollout.filter(state=RolloutState.RUNNING).count()
        if active or interrupted:
            log.info(
                "resuming %d running rollouts; %d check-syncs were interrupted",
                active,
                interrupted,
            )
        if self._record_fetches:
            self._p.on_firmware_fetched.append(self.firmware_fetched)
        self._task = asyncio.create_task(self._run(), name="rollout-engine")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._p.on_firmware_fetched.remove(self.firmware_fetched)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        sending = list(self._sending.values())
        if sending:
            _, late = await asyncio.wait(sending, timeout=_STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        """Look now rather than at the next poll (a rollout was started or resumed)."""
        self._wake.set()

    async def _run(self) -> None:
        failing = False
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                # Retried every poll (the PBX may be restarting); logged once per streak.
                if not failing:
                    log.exception("rollout engine: tick failed; retrying")
                failing = True
            else:
                if failing:
                    log.info("rollout engine: working again")
                failing = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def tick(self) -> None:
        in_flight = await RolloutDevice.filter(state__in=list(IN_FLIGHT)).select_related(
            "rollout", "device"
        )
        running = await Rollout.filter(state=RolloutState.RUNNING).order_by("id")
        sweep_due = self._last_sweep is None or time.monotonic() - self._last_sweep >= self._sweep_s
        if not (in_flight or running or sweep_due):
            return
        registrations = await self._control.registrations()
        if sweep_due:
            await record_all(registrations)
            self._last_sweep = time.monotonic()
        await self._watch(in_flight, registrations)
        for rollout in running:
            await self._advance(rollout, registrations)

    # --- devices under way ----------------------------------------------------------

    async def _watch(
        self, rows: Sequence[RolloutDevice], registrations: Mapping[str, Registration]
    ) -> None:
        rows = [r for r in rows if r.id not in self._sending]
        devices = [r.device for r in rows if r.device is not None]
        states = await observe(devices, registrations)
        now = utcnow()
        for row in rows:
            if row.device is None:
                await _move(row, DeviceState.FAILED, "the device was removed")
                continue
            state = states.get(row.device.id)
            timeout_s = row.rollout.timeout_seconds
            if state is not None and row.target_version in state.versions:
                if await _move(row, DeviceState.DONE, f"back online on {row.target_version}"):
                    await _keep_on_target(row, row.device)
            elif row.notified_at is None or now - row.notified_at >= timedelta(seconds=timeout_s):
                await _move(row, DeviceState.TIMED_OUT, _timeout_reason(row, timeout_s, state))

    async def firmware_fetched(self, device_id: int, image_id: int) -> None:
        """The platform hook: a phone downloaded a firmware file."""
        await record_firmware_fetched(device_id, image_id)

    # --- starting devices -----------------------------------------------------------

    async def _advance(self, rollout: Rollout, registrations: Mapping[str, Registration]) -> None:
        rows = await RolloutDevice.filter(
            rollout_id=rollout.id, state__in=[DeviceState.PENDING, *IN_FLIGHT]
        ).order_by("position")
        open_rows = [r for r in rows if r.state != DeviceState.PENDING or not r.reason]
        if not open_rows:
            await self._finish(rollout)
            return
        batch = min(r.batch for r in open_rows)
        if rollout.canary_size and batch > 0 and await self._halt_on_canary(rollout):
            return
        slots = rollout.concurrency - sum(r.state != DeviceState.PENDING for r in rows)
        todo = [r for r in open_rows if r.state == DeviceState.PENDING and r.batch == batch]
        todo = todo[: max(slots, 0)]
        if not todo:
            return
        devices = {
            d.id: d
            for d in await Device.filter(id__in=[r.device_id for r in todo])  # type: ignore[attr-defined]
        }
        states = await observe(list(devices.values()), registrations)
        for row in todo:
            device = devices.get(row.device_id)  # type: ignore[attr-defined]
            await self._start(row, device, states.get(device.id) if device else None)

    async def _start(
        self, row: RolloutDevice, device: Device | None, state: SipState | None
    ) -> None:
        if device is None:
            await _move(row, DeviceState.FAILED, "the device was removed", startable=True)
            return
        lines = state.lines if state is not None else ()
        line = next((line for line in lines if line.registered), None)
        if line is None:
            reason = "not registered" if lines else "the device has no line to notify"
            await _move(row, DeviceState.FAILED, reason, startable=True)
            return
        # Written before it is sent: after a crash this device is watched, not notified again.
        if not await _move(
            row, DeviceState.NOTIFIED, SENDING, startable=True, notified_at=utcnow()
        ):
            return
        assert line.binding is not None
        task = asyncio.create_task(
            self._send(row, device, line.aor, line.binding.uri), name=f"check-sync-{row.mac}"
        )
        self._sending[row.id] = task

        def done(_: asyncio.Task[None]) -> None:
            self._sending.pop(row.id, None)
            self._wake.set()

        task.add_done_callback(done)

    async def _send(self, row: RolloutDevice, device: Device, aor: str, contact: str) -> None:
        try:
            # To this phone's binding only: the user may be on another desk too.
            event = driver_for(device.vendor).check_sync_event(reboot=True)
            result = await self._control.check_sync(aor, event=event, contact=contact)
        except PbxError as e:
            # It may have reached the phone: watch it like any notified device.
            await self._note(row, f"check-sync outcome unknown: {e}")
            return
        except Exception as e:
            log.exception("rollout %d: check-sync to %s failed", row.rollout_id, aor)  # type: ignore[attr-defined]
            await _move(row, DeviceState.FAILED, f"check-sync not sent: {e}")
            return
        if result.ok:
            await self._note(row, f"check-sync to {aor} answered {result.status}")
        else:
            await _move(row, DeviceState.FAILED, _send_failure(result))

    async def _note(self, row: RolloutDevice, reason: str) -> None:
        """The send's outcome on a still-notified device (no state change, no audit row)."""
        await RolloutDevice.filter(id=row.id, state=DeviceState.NOTIFIED, reason=SENDING).update(
            reason=reason[:255], updated_at=utcnow()
        )

    # --- the end of a rollout -------------------------------------------------------

    async def _halt_on_canary(self, rollout: Rollout) -> bool:
        bad = (
            await RolloutDevice.filter(rollout_id=rollout.id, batch=0)
            .exclude(state=DeviceState.DONE)
            .order_by("position")
        )
        if not bad:
            return False
        shown = "; ".join(f"{r.mac} {r.state}: {r.reason}" for r in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        with contextlib.suppress(Conflict):
            await move_rollout(
                engine_actor(rollout.id),
                rollout.id,
                RolloutState.HALTED,
                action=AuditAction.ROLLOUT_HALTED,
                reason=f"canary failed: {shown}{more}",
                pending_reason=HALTED_REASON,
            )
            log.warning("rollout %d halted: the canary failed (%s%s)", rollout.id, shown, more)
        return True

    async def _finish(self, rollout: Rollout) -> None:
        if rollout.canary_size and await self._halt_on_canary(rollout):
            return
        rows = await RolloutDevice.filter(rollout_id=rollout.id).only("id", "state")
        tally = counts([DeviceState(r.state) for r in rows])
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in tally.items() if n)
        with contextlib.suppress(Conflict):
            await move_rollout(
                engine_actor(rollout.id),
                rollout.id,
                RolloutState.DONE,
                action=AuditAction.ROLLOUT_DONE,
                reason=summary,
            )
            log.info("rollout %d done: %s", rollout.id, summary)


# --- one device's state -------------------------------------------------------------


async def _move(
    row: RolloutDevice,
    new: DeviceState,
    reason: str,
    *,
    startable: bool = False,
    **extra: Any,
) -> bool:
    """Compare-and-set the device's state, with its audit row; False if it moved meanwhile.

    ``startable``: only a pending device without a reason, of a running
    rollout, may move; checked in the same statement, so a pause or
    cancel committed by another process can never be overtaken.
    """
    old = DeviceState(row.state)
    if not can_move(old, new):
        raise AssertionError(f"rollout device {row.mac}: {old} → {new} is not a valid move")
    rollout_id: int = row.rollout_id  # type: ignore[attr-defined]
    query = RolloutDevice.filter(id=row.id, state=old)
    if startable:
        running = Rollout.filter(id=rollout_id, state=RolloutState.RUNNING).values("id")
        query = query.filter(reason="", rollout_id__in=Subquery(running))
    now = utcnow()
    async with in_transaction():
        moved = await query.update(state=new.value, reason=reason[:255], updated_at=now, **extra)
        if not moved:
            return False
        await audit.record(
            engine_actor(rollout_id),
            AuditAction.rollout_device(new),
            "rollout_device",
            f"{rollout_id}/{row.mac}",
            before={"state": old.value},
            after={"state": new.value, "reason": reason, "target_version": row.target_version},
        )
    row.state, row.reason, row.updated_at = new.value, reason, now
    for name, value in extra.items():
        setattr(row, name, value)
    log.info("rollout %d: %s %s (%s)", rollout_id, row.mac, new.value, reason)
    return True


async def record_firmware_fetched(device_id: int, image_id: int) -> None:
    """A phone downloaded a firmware file: its notified rollout rows move to fetched."""
    try:
        rows = await RolloutDevice.filter(
            device_id=device_id, target_image_id=image_id, state=DeviceState.NOTIFIED
        )
        for row in rows:
            await _move(row, DeviceState.FETCHED, "firmware downloaded", fetched_at=utcnow())
    except Exception:
        # The download itself succeeded; the rollout catches up when the phone is back.
        log.exception("rollout engine: recording a firmware download failed")


async def _keep_on_target(row: RolloutDevice, device: Device) -> None:
    """A device rolled out to a version other than the one it resolves to gets a device pin,
    or its next configuration would point it back at the old firmware."""
    from provd.firmware.resolution import resolve_for_device
    from provd.services.firmware import pin_scope, set_pin

    target_id = row.target_image_id  # type: ignore[attr-defined]
    resolved = await resolve_for_device(device)
    if target_id is None or (resolved.image is not None and resolved.image.id == target_id):
        return
    image = await FirmwareImage.get(id=target_id)
    actor = audit.Actor(f"rollout:{row.rollout_id}")  # type: ignore[attr-defined]
    scope = await pin_scope(device=device.mac)
    try:
        await set_pin(actor, scope, model=device.model, sha256=image.sha256)
    except InvalidInput as e:
        # The target was tested when the rollout started; if it was since marked
        # untested, say so in the log rather than fail the device that did update.
        log.warning("rollout: could not pin %s to %s: %s", device.mac, image.version, e)
