"""The installer's use cases: find a user, claim a scanned phone, watch it come alive.

Everything is scoped to the principal's tenant: an installer names no tenant
(or only its own), a platform admin picks one. What an installer gets back
never holds a secret (no provisioning, SIP or phone-admin password) and no
firmware facts beyond the version the phone runs.

A claimed phone goes through four states, each read from what provd saw:
waiting (no contact) → fetched (first configuration, with the tenant's
bootstrap credential) → sealed (came back with its own credential) →
registered (every line registered on the PBX).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from provd.db.models import Device, DeviceLine, Tenant, User
from provd.domain.access import Principal
from provd.domain.catalogue import PhoneModel
from provd.domain.errors import Conflict, InvalidInput
from provd.domain.mac import Mac, parse_mac
from provd.drivers.registry import (
    CATALOGUE,
    MODELS,
    check_vendor,
    get_model,
    model_label,
    parse_user_agent,
    vendor_name,
)
from provd.pbx import PbxControl, PbxError
from provd.services import audit, devices
from provd.services.directory.tenants import DEFAULT_TENANT, get_tenant
from provd.services.installer import mac_probes
from provd.services.pbx import LineRegistration, device_registrations
from provd.services.platform import Platform

MAX_STATUS_MACS = 100
MAX_USERS = 50
OTHER_ACCOUNT = (
    "this phone is already registered on another account: "
    "ask your provd administrator to release it"
)


class ClaimState(StrEnum):
    UNCLAIMED = "unclaimed"
    WAITING = "waiting"
    FETCHED = "fetched"
    SEALED = "sealed"
    REGISTERED = "registered"


_LABELS = {
    ClaimState.UNCLAIMED: "Not claimed",
    ClaimState.WAITING: "Waiting for the phone",
    ClaimState.FETCHED: "First configuration fetched",
    ClaimState.SEALED: "Provisioned",
    ClaimState.REGISTERED: "Registered",
}
HINT_UNCLAIMED = "not claimed for this account: scan its label to claim it"
HINT_WAITING = "no contact yet: check DHCP option 66 / PnP / cabling / that the phone has power"
HINT_FETCHED = (
    "fetched its first configuration but never came back with its own credential: "
    "let it finish rebooting; if it stays here, check the phone's date and time "
    "and that it trusts provd's certificate"
)
HINT_SEALED = "provisioned but not registered: check the SIP proxy / firewall / VLAN"
HINT_SPARE = "provisioned as a spare: it registers once it is given a user"
HINT_PBX_UNKNOWN = (
    "provisioned; registration unknown (the PBX does not answer): ask your administrator"
)


# --- scope ---------------------------------------------------------------------------


async def tenant_in_scope(principal: Principal, tenant_slug: str | None) -> Tenant:
    """The tenant a request works in: an installer's own, or the one an admin names.

    An installer naming another tenant is refused before any look-up, so the
    answer says nothing about which tenants exist.
    """
    if principal.tenant_id is not None:
        own = await Tenant.get(id=principal.tenant_id)
        if tenant_slug and tenant_slug.strip().lower() != own.slug:
            raise InvalidInput("tenant", "you work for your own account only: leave the tenant out")
        return own
    return await get_tenant(tenant_slug or DEFAULT_TENANT)


# --- users and models ------------------------------------------------------------------


async def search_users(
    principal: Principal, tenant_slug: str | None, query: str = ""
) -> list[dict[str, Any]]:
    """The tenant's users whose extension starts with ``query`` or whose name contains it."""
    tenant = await tenant_in_scope(principal, tenant_slug)
    q = query.strip()[:64]
    rows = User.filter(tenant_id=tenant.id)
    if q:
        rows = rows.filter(Q(extension__startswith=q) | Q(display_name__icontains=q))
    found = await rows.annotate(devices=Count("lines")).order_by("extension").limit(MAX_USERS)
    return [
        {"extension": u.extension, "name": u.display_name, "devices": u.devices}  # type: ignore[attr-defined]
        for u in found
    ]


def models_view() -> list[dict[str, str]]:
    return [{"model": m.id, "vendor": m.vendor.value, "label": model_label(m)} for m in MODELS]


# --- claiming --------------------------------------------------------------------------


async def _refuse_duplicate(
    mac: Mac, tenant: Tenant, principal: Principal, actor: audit.Actor
) -> None:
    existing = await Device.get_or_none(mac=mac)
    if existing is None:
        return
    if existing.tenant_id != tenant.id:  # type: ignore[attr-defined]
        # Provisioned elsewhere (services/mac_probes): only a platform admin, who may
        # see both tenants, can move it.
        if principal.is_admin:
            other = await Tenant.get(id=existing.tenant_id)  # type: ignore[attr-defined]
            raise Conflict(
                "mac",
                f"this phone is already registered in tenant {other.slug}: "
                f"remove it there first (provd device remove {mac})",
            )
        await mac_probes.record(
            actor, principal, tenant.slug, via="claim", checked=1, elsewhere=[mac]
        )
        raise Conflict("mac", OTHER_ACCOUNT)
    line = await DeviceLine.filter(device_id=existing.id, slot=1).select_related("user").first()
    whom = f"{line.user.extension} {line.user.display_name}" if line else "a spare phone"
    model = model_label(get_model(existing.model))
    raise Conflict(
        "mac",
        f"this phone is already claimed, as {whom} ({model}): nothing more to do; "
        "to give it to someone else, ask your provd administrator",
    )


async def claim(
    p: Platform,
    actor: audit.Actor,
    principal: Principal,
    control: PbxControl | None,
    *,
    mac: str,
    model: str,
    extension: str | None,
    tenant_slug: str | None = None,
) -> dict[str, Any]:
    """Add the scanned phone to the tenant, its line 1 the user (none for a spare)."""
    canonical = parse_mac(mac)
    phone_model = get_model(model)
    check_vendor(canonical, phone_model)
    tenant = await tenant_in_scope(principal, tenant_slug)
    # Before any look-up: while paused, a claim answers the same whatever the MAC.
    await mac_probes.check(principal, tenant.slug)
    user = None
    if extension:
        user = await User.get_or_none(tenant_id=tenant.id, extension=extension.strip())
        if user is None:
            raise InvalidInput(
                "extension",
                f"no user has extension {extension.strip()!r} here: "
                "search for the user by name or extension, or choose spare",
            )
    await _refuse_duplicate(canonical, tenant, principal, actor)
    try:
        device, _credential = await devices.add_device(
            p,
            actor,
            canonical,
            phone_model.id,
            tenant_slug=tenant.slug,
            users=[user.extension] if user else [],
        )
    except Conflict as e:
        if e.field != "mac":
            raise
        # Claimed by someone else between the check and the insert.
        await _refuse_duplicate(canonical, tenant, principal, actor)
        raise
    [status] = await status_of(control, principal, [device.mac], tenant_slug=tenant.slug)
    return {
        "mac": device.mac,
        "model": phone_model.id,
        "vendor": phone_model.vendor.value,
        "tenant": tenant.slug,
        "user": {"extension": user.extension, "name": user.display_name} if user else None,
        "status": status,
    }


# --- live status -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """What provd saw of one claimed phone; the state follows from it."""

    fetched: bool
    sealed: bool
    lines: int
    registered: bool | None
    """Every line registered; None when no PBX answered."""
    unregistered_slots: tuple[int, ...] = ()
    model_mismatch: str | None = None
    """What the phone reports itself as, when that is not the claimed model."""

    def state(self) -> ClaimState:
        if self.registered and self.lines:
            return ClaimState.REGISTERED
        if self.sealed:
            return ClaimState.SEALED
        if self.fetched:
            return ClaimState.FETCHED
        return ClaimState.WAITING

    def hint(self) -> str:
        state = self.state()
        hint = {
            ClaimState.REGISTERED: "",
            ClaimState.FETCHED: HINT_FETCHED,
            ClaimState.WAITING: HINT_WAITING,
        }.get(state)
        if hint is None:  # sealed
            if not self.lines:
                hint = HINT_SPARE
            elif self.registered is None:
                hint = HINT_PBX_UNKNOWN
            elif len(self.unregistered_slots) < self.lines:
                slots = ", ".join(str(s) for s in self.unregistered_slots)
                hint = f"line(s) {slots} not registered: check the SIP proxy / firewall / VLAN"
            else:
                hint = HINT_SEALED
        if self.model_mismatch:
            mismatch = (
                f"the phone reports itself as {self.model_mismatch}: "
                "ask your administrator to correct the model"
            )
            hint = f"{mismatch}; {hint}" if hint else mismatch
        return hint


def _reported_model(*user_agents: str | None) -> tuple[str | None, PhoneModel | None]:
    for ua in user_agents:
        info = parse_user_agent(ua) if ua else None
        if info is not None:
            return f"{vendor_name(info.vendor)} {info.model_name}", CATALOGUE.find(
                info.vendor, info.model_name
            )
    return None, None


def _running_version(d: Device) -> str | None:
    """The newer of what the phone said when fetching and when registering."""
    if d.sip_firmware and (
        d.reported_firmware_at is None
        or (d.sip_firmware_at is not None and d.sip_firmware_at >= d.reported_firmware_at)
    ):
        return d.sip_firmware
    return d.reported_firmware


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def device_status(
    d: Device, line_count: int, lines: Sequence[LineRegistration] | None
) -> dict[str, Any]:
    """``lines`` is the PBX's view of the device's lines, None when no PBX answered."""
    binding_ua = next((r.binding.user_agent for r in lines or () if r.binding), None)
    reported, reported_model = _reported_model(d.last_user_agent, binding_ua)
    claimed = get_model(d.model)
    progress = Progress(
        fetched=d.last_fetch_at is not None,
        sealed=d.sealed_at is not None,
        lines=line_count,
        registered=None if lines is None else bool(lines) and all(r.registered for r in lines),
        unregistered_slots=tuple(r.slot for r in lines or () if not r.registered),
        model_mismatch=reported if reported_model not in (None, claimed) else None,
    )
    state = progress.state()
    ip = d.last_fetch_ip
    if ip is None:
        wan = next((r.binding.wan_address for r in lines or () if r.binding), None)
        ip = wan.host if wan is not None else None
    return {
        "mac": d.mac,
        "state": state.value,
        "label": _LABELS[state],
        "hint": progress.hint(),
        "model": claimed.id,
        "reported_model": reported,
        "reported_firmware": _running_version(d),
        "last_contact_at": _iso(d.last_fetch_at),
        "ip": ip,
    }


def unclaimed_status(mac: Mac) -> dict[str, Any]:
    state = ClaimState.UNCLAIMED
    return {
        "mac": mac,
        "state": state.value,
        "label": _LABELS[state],
        "hint": HINT_UNCLAIMED,
        "model": None,
        "reported_model": None,
        "reported_firmware": None,
        "last_contact_at": None,
        "ip": None,
    }


async def _line_counts(found: Sequence[Device]) -> Mapping[int, int]:
    rows: list[Any] = await DeviceLine.filter(device_id__in=[d.id for d in found]).values_list(
        "device_id", flat=True
    )
    return Counter(int(device_id) for device_id in rows)


async def status_of(
    control: PbxControl | None,
    principal: Principal,
    macs: Sequence[str],
    *,
    tenant_slug: str | None = None,
) -> list[dict[str, Any]]:
    """The state of each MAC, in the order asked. A MAC outside the principal's
    tenant reads exactly like one nobody claimed."""
    if len(macs) > MAX_STATUS_MACS:
        raise InvalidInput("mac", f"ask for at most {MAX_STATUS_MACS} phones at a time")
    wanted = [parse_mac(m) for m in macs]
    query = Device.filter(mac__in=wanted)
    if principal.tenant_id is not None or tenant_slug:
        tenant = await tenant_in_scope(principal, tenant_slug)
        query = query.filter(tenant_id=tenant.id)
    found = {d.mac: d for d in await query}
    registrations: Mapping[str, Sequence[LineRegistration]] | None = None
    if control is not None and found:
        try:
            registrations = await device_registrations(control, list(found.values()))
        except PbxError:
            registrations = None
    counts = await _line_counts(list(found.values()))
    out = []
    for mac in wanted:
        d = found.get(mac)
        if d is None:
            out.append(unclaimed_status(mac))
            continue
        lines = registrations.get(mac) if registrations is not None else None
        out.append(device_status(d, counts.get(d.id, 0), lines))
    return out
