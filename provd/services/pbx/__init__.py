"""The PBX as admins use it: registration status per device line, and resync/reboot.

``provd serve --pbx`` records how its PBX is reached in ``<data dir>/pbx/runtime.json``
(addresses and ports; the tokens stay in ``pbx/secrets.json``), so that CLI commands,
which run in other processes, drive the same Kamailio: :func:`open_control`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from provd.db.models import Device, DeviceLine, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict
from provd.drivers.registry import driver_for
from provd.pbx import (
    CheckSyncOutcome,
    CheckSyncResult,
    ContactBinding,
    PbxControl,
    PbxError,
    PbxSecrets,
    PbxSettings,
    Registration,
    RpcError,
    aor_for,
)
from provd.pbx.database import open_kamailio_db
from provd.pbx.rpc import KamailioRpc
from provd.services import audit
from provd.services.devices import get_device
from provd.settings import Settings

RUNTIME_FILE = "runtime.json"
NOT_RUNNING = "the PBX is not running (start provd serve --pbx)"
# The settings that say where the PBX listens; the database URL is provd's own
# (passed in again on load), so no credential of it lands in this file.
_NOT_PERSISTED = ("data_dir", "db_url")
_STATUS_RPC_TIMEOUT_S = 5.0


class PbxNotRunning(PbxError):
    def __init__(self, detail: str | None = None) -> None:
        super().__init__(f"{NOT_RUNNING}: {detail}" if detail else NOT_RUNNING)


class PbxMode(StrEnum):
    SUPERVISED = "supervised"
    """provd runs Kamailio and rtpengine as its children (``serve --pbx``)."""
    EXTERNAL = "external"
    """The admin runs them from the configuration provd writes (``serve --pbx-external``)."""


@dataclass(frozen=True, slots=True)
class PbxRuntime:
    """How the PBX that ``serve`` started (or drives) is reached."""

    mode: PbxMode
    settings: PbxSettings
    rpc_url: str | None = None
    """Only for an external Kamailio on another host; else the settings' RPC address."""

    @property
    def sip_proxy(self) -> tuple[str, int]:
        """Where phones send SIP: the advertised address when Kamailio is behind NAT."""
        s = self.settings
        return (s.advertised_address or s.sip_address, s.sip_port)


def _runtime_path(data_dir: Path) -> Path:
    return data_dir / "pbx" / RUNTIME_FILE


def save_runtime(runtime: PbxRuntime) -> None:
    s = runtime.settings
    values = {f.name: getattr(s, f.name) for f in fields(s) if f.name not in _NOT_PERSISTED}
    data = {"mode": runtime.mode.value, "rpc_url": runtime.rpc_url, "settings": values}
    path = _runtime_path(s.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def load_runtime(data_dir: Path, db_url: str | None) -> PbxRuntime | None:
    """What the last ``serve --pbx`` recorded, or None (never served with a PBX)."""
    path = _runtime_path(data_dir)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    known = {f.name for f in fields(PbxSettings)} - set(_NOT_PERSISTED)
    values = {k: v for k, v in data["settings"].items() if k in known}
    settings = PbxSettings.for_provd(data_dir, db_url, **values)
    return PbxRuntime(PbxMode(data["mode"]), settings, data.get("rpc_url"))


def clear_runtime(data_dir: Path) -> None:
    """``serve`` without a PBX: phones are not told about one, so nothing should be."""
    _runtime_path(data_dir).unlink(missing_ok=True)


def effective_settings(settings: Settings, runtime: PbxRuntime | None) -> Settings:
    """Phones register where the PBX listens unless the admin named another proxy."""
    if runtime is None or settings.sip_proxy_host:
        return settings
    host, port = runtime.sip_proxy
    return settings.with_overrides(sip_proxy_host=host, sip_proxy_port=port)


def open_control(data_dir: Path, db_url: str | None) -> PbxControl | None:
    """A handle on the PBX ``serve`` runs, from another process; None if it never ran one.

    Status calls get a short timeout: a listing must not hang on a dead RPC port.
    """
    runtime = load_runtime(data_dir, db_url)
    if runtime is None or not (runtime.settings.pbx_dir / "secrets.json").exists():
        return None
    settings = runtime.settings
    secrets = PbxSecrets.load_or_create(settings.pbx_dir)
    rpc_url = runtime.rpc_url or settings.rpc_url
    return PbxControl(
        rpc=KamailioRpc(rpc_url, token=secrets.rpc_token, timeout=_STATUS_RPC_TIMEOUT_S),
        db=open_kamailio_db(settings),
        next_hop=f"sip:{settings.sip_hostport}",
        notify_token=secrets.notify_token,
    )


def _require(control: PbxControl | None) -> PbxControl:
    if control is None:
        raise PbxNotRunning()
    return control


def _unreachable(e: PbxError, control: PbxControl) -> PbxError:
    """An RPC that got no answer at all means no PBX; Kamailio's own errors stay as they are."""
    return e if isinstance(e, RpcError) else PbxNotRunning(f"no answer from {control.rpc.url}")


# --- registration status --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineRegistration:
    slot: int
    extension: str
    aor: str
    binding: ContactBinding | None
    """The contact attributed to this device (see :func:`pick_binding`)."""

    @property
    def registered(self) -> bool:
        return self.binding is not None

    def view(self) -> dict[str, Any]:
        b = self.binding
        return {
            "slot": self.slot,
            "extension": self.extension,
            "aor": self.aor,
            "registered": b is not None,
            "contact": b.uri if b else None,
            "user_agent": b.user_agent if b else None,
            "wan_address": str(b.wan_address) if b and b.wan_address else None,
            "lan_address": str(b.lan_address) if b and b.lan_address else None,
            "expires_at": b.expires_at.isoformat() if b else None,
        }


def pick_binding(
    registration: Registration | None, fetch_ip: str | None, *, shared: bool
) -> ContactBinding | None:
    """This device's contact among the AoR's bindings.

    A user on several devices has one binding per phone: the one whose source
    (WAN) host is the address the device fetched its configuration from is
    this device's. A user on this device only owns every binding, and the
    freshest one stands for it.
    """
    contacts = registration.contacts if registration else ()
    if not contacts:
        return None
    mine = [c for c in contacts if c.wan_address is not None and c.wan_address.host == fetch_ip]
    if not mine and not shared:
        mine = list(contacts)
    return max(mine, key=lambda c: c.expires_in) if mine else None


async def line_registrations(
    devices: Sequence[Device], registrations: Mapping[str, Registration]
) -> dict[str, list[LineRegistration]]:
    """Per device (by MAC), its lines' registration state, from one ``ul.dump``."""
    ids = [d.id for d in devices]
    lines = await DeviceLine.filter(device_id__in=ids).select_related("user").order_by("slot")
    tenant_ids = {d.tenant_id for d in devices}  # type: ignore[attr-defined]
    domains = dict(await Tenant.filter(id__in=tenant_ids).values_list("id", "sip_domain"))
    user_ids = {line.user_id for line in lines}  # type: ignore[attr-defined]
    placements = Counter(
        await DeviceLine.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )
    by_device: dict[int, list[DeviceLine]] = {}
    for line in lines:
        by_device.setdefault(line.device_id, []).append(line)  # type: ignore[attr-defined]
    out: dict[str, list[LineRegistration]] = {}
    for d in devices:
        domain = domains[d.tenant_id]  # type: ignore[attr-defined]
        rows = []
        for line in by_device.get(d.id, []):
            aor = aor_for(line.user.extension, domain)
            shared = placements[line.user_id] > 1  # type: ignore[attr-defined]
            binding = pick_binding(registrations.get(aor), d.last_fetch_ip, shared=shared)
            rows.append(LineRegistration(line.slot, line.user.extension, aor, binding))
        out[d.mac] = rows
    return out


async def device_registrations(
    control: PbxControl | None, devices: Sequence[Device]
) -> dict[str, list[LineRegistration]]:
    """Registration state of every line of ``devices``: one RPC however many there are."""
    control = _require(control)
    try:
        registrations = await control.registrations()
    except PbxError as e:
        raise _unreachable(e, control) from e
    return await line_registrations(devices, registrations)


def registered_summary(lines: Sequence[LineRegistration] | None) -> bool | None:
    """True when every line is registered, False when one is not (or there is none),
    None when unknown (no PBX answered)."""
    if lines is None:
        return None
    return bool(lines) and all(line.registered for line in lines)


def registration_view(mac: str, lines: Sequence[LineRegistration] | None) -> dict[str, Any]:
    return {
        "mac": mac,
        "registered": registered_summary(lines),
        "registration": None if lines is None else [line.view() for line in lines],
    }


# --- resync / reboot ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineCheckSync:
    slot: int
    extension: str
    result: CheckSyncResult

    @property
    def text(self) -> str:
        r = self.result
        if r.outcome is CheckSyncOutcome.DELIVERED:
            return f"sent (phone answered {r.status})"
        if r.outcome is CheckSyncOutcome.NOT_REGISTERED:
            return "not registered"
        if r.outcome is CheckSyncOutcome.NO_ANSWER:
            return f"no answer ({r.status} {r.reason})"
        return f"refused ({r.status} {r.reason})"

    def view(self) -> dict[str, Any]:
        r = self.result
        return {
            "slot": self.slot,
            "extension": self.extension,
            "aor": r.aor,
            "delivered": r.ok,
            "outcome": r.outcome.value,
            "status": r.status,
            "reason": r.reason,
            "event": r.event,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class DeviceCheckSync:
    mac: str
    reboot: bool
    lines: tuple[LineCheckSync, ...]

    @property
    def action(self) -> str:
        return "reboot" if self.reboot else "resync"

    @property
    def delivered(self) -> bool:
        return any(line.result.ok for line in self.lines)

    @property
    def failure(self) -> str:
        return f"device {self.mac}: no line received the {self.action} request"

    def view(self) -> dict[str, Any]:
        return {
            "mac": self.mac,
            "action": self.action,
            "delivered": self.delivered,
            "lines": [line.view() for line in self.lines],
        }


async def check_sync_device(
    control: PbxControl | None, actor: audit.Actor, mac: str, *, reboot: bool
) -> DeviceCheckSync:
    """Send ``Event: check-sync`` (``reboot=true`` to reboot) to each line's registration.

    Each line's NOTIFY goes to this phone's own binding only (see :func:`pick_binding`):
    a user on two desks has two, and a reboot meant for one desk must not reach the
    other. A line with no binding of this phone is reported not registered, unsent.
    Lines are tried together (a phone that does not answer costs one timeout, not one
    per line). The audit row records who asked and what each line answered.
    """
    device = await get_device(mac)
    if not await DeviceLine.filter(device_id=device.id).exists():
        raise Conflict("mac", f"device {device.mac} has no lines: there is nothing to notify")
    pbx = _require(control)
    lines = (await device_registrations(pbx, [device]))[device.mac]

    event = driver_for(device.vendor).check_sync_event(reboot=reboot)

    async def one(line: LineRegistration) -> CheckSyncResult:
        if line.binding is None:
            return CheckSyncResult(
                line.aor, event, CheckSyncOutcome.NOT_REGISTERED, 404, "not registered here"
            )
        return await pbx.check_sync(line.aor, event=event, contact=line.binding.uri)

    try:
        results = await asyncio.gather(*(one(line) for line in lines))
    except PbxError as e:
        raise _unreachable(e, pbx) from e
    outcome = DeviceCheckSync(
        device.mac,
        reboot,
        tuple(
            LineCheckSync(line.slot, line.extension, r)
            for line, r in zip(lines, results, strict=True)
        ),
    )
    await audit.record(
        actor, AuditAction.check_sync(reboot=reboot), "device", device.mac, after=outcome.view()
    )
    return outcome
