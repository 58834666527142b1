"""Devices: phones known by MAC, their line slots and provisioning credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

# Device is named here for callers to annotate with (the console imports no database layer).
from provd.db.models import Device as Device
from provd.db.models import DeviceLine, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.catalogue import PhoneModel, check_module_count
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.mac import Mac, parse_mac
from provd.domain.network import INHERIT, parse_switch, parse_vlan
from provd.domain.passwords import check_password, generate_password
from provd.domain.tenancy import check_display_name
from provd.drivers.registry import get_model
from provd.services import audit
from provd.services.directory.tenants import DEFAULT_TENANT, get_tenant
from provd.services.directory.users import get_user
from provd.services.platform import Platform


@dataclass(frozen=True, slots=True)
class ProvisioningCredential:
    url: str
    username: str
    password: str


def prov_username_for(mac: Mac) -> str:
    return f"dev-{mac}"


def device_model(device: Device | None, model_id: str | None, *, missing: str) -> PhoneModel:
    """The phone model a per-model setting is for: a device's own (a named model must be
    the same), otherwise the named one; ``missing`` says why a model must be named."""
    if device is not None:
        model = get_model(device.model)
        if model_id and get_model(model_id) != model:
            raise InvalidInput("model", f"device {device.mac} is a {model.id}, not {model_id}")
        return model
    if not model_id:
        raise InvalidInput("model", missing)
    return get_model(model_id)


async def device_view(d: Device) -> dict[str, Any]:
    """A device as admins see it: no secrets."""
    await d.fetch_related("tenant", "lines__user")
    return {
        "mac": d.mac,
        "model": d.model,
        "vendor": d.vendor,
        "tenant": d.tenant.slug,
        "name": d.name,
        "lines": [
            {"slot": line.slot, "extension": line.user.extension, "name": line.user.display_name}
            for line in sorted(d.lines, key=lambda line: line.slot)
        ],
        "expansion_modules": d.expansion_modules,
        "vlan_lan": d.vlan_lan or INHERIT,
        "vlan_pc": d.vlan_pc or INHERIT,
        "lldp": INHERIT if d.lldp is None else ("on" if d.lldp else "off"),
        "provisioning_username": d.prov_username,
        "sealed": d.sealed_at is not None,
        "sealed_at": d.sealed_at.isoformat() if d.sealed_at else None,
        "last_fetch_at": d.last_fetch_at.isoformat() if d.last_fetch_at else None,
        "last_fetch_ip": d.last_fetch_ip,
        "reported_firmware": d.reported_firmware,
        "last_user_agent": d.last_user_agent,
    }


async def get_device(mac: str, *, field: str = "mac") -> Device:
    canonical = parse_mac(mac, field=field)
    device = await Device.get_or_none(mac=canonical)
    if device is None:
        raise NotFound("device", canonical, field=field)
    return device


async def devices_with_macs(macs: Sequence[str]) -> list[Device]:
    """The known devices among canonical ``macs``; unknown ones are left out."""
    return await Device.filter(mac__in=list(macs))


async def _resolve_users(tenant: Tenant, extensions: Sequence[str], accounts: int) -> list[User]:
    if len(extensions) > accounts:
        raise InvalidInput("user", f"this model has {accounts} accounts, {len(extensions)} given")
    seen: set[str] = set()
    users = []
    for ext in extensions:
        if ext in seen:
            raise InvalidInput("user", f"user {ext} is given twice")
        seen.add(ext)
        users.append(await get_user(tenant, ext))
    return users


async def add_device(
    p: Platform,
    actor: audit.Actor,
    mac: str,
    model_id: str,
    *,
    tenant_slug: str = DEFAULT_TENANT,
    users: Sequence[str] = (),
    password: str | None = None,
    name: str = "",
) -> tuple[Device, ProvisioningCredential]:
    canonical = parse_mac(mac)
    model = get_model(model_id)
    secret = check_password(password) if password else generate_password(24)
    name = check_display_name(name) if name.strip() else ""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        if await Device.exists(mac=canonical):
            # Deliberately silent about which tenant holds it.
            raise Conflict("mac", f"{canonical} is already registered")
        line_users = await _resolve_users(tenant, users, model.accounts)
        device = await Device.create(
            tenant=tenant,
            mac=canonical,
            vendor=model.vendor.value,
            model=model.id,
            name=name,
            prov_username=prov_username_for(canonical),
            prov_password_enc=p.box.seal(secret),
            admin_password_enc=p.box.seal(generate_password(20)),
        )
        for slot, user in enumerate(line_users, start=1):
            await DeviceLine.create(device=device, slot=slot, user=user)
        await audit.record(
            actor, AuditAction.DEVICE_ADD, "device", canonical, after=await device_view(device)
        )
    credential = ProvisioningCredential(p.settings.provisioning_url, device.prov_username, secret)
    return device, credential


async def list_devices(tenant_slug: str | None = None) -> list[Device]:
    query = Device.all().order_by("mac")
    if tenant_slug:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    return await query


async def remove_device(actor: audit.Actor, mac: str) -> None:
    async with in_transaction():
        device = await get_device(mac)
        before = await device_view(device)
        await device.delete()
        await audit.record(actor, AuditAction.DEVICE_REMOVE, "device", device.mac, before=before)


async def _change_audited(
    actor: audit.Actor, action: AuditAction, device: Device, changes: dict[str, Any]
) -> None:
    """Save ``changes`` to a device, with an audit row of its view before and after."""
    before = await device_view(device)
    device.update_from_dict(changes)
    await device.save(update_fields=list(changes))
    await audit.record(
        actor, action, "device", device.mac, before=before, after=await device_view(device)
    )


async def reset_device(actor: audit.Actor, mac: str) -> Device:
    """Unseal: the tenant's bootstrap credential works again for this device."""
    async with in_transaction():
        device = await get_device(mac)
        await _change_audited(actor, AuditAction.DEVICE_RESET, device, {"sealed_at": None})
    return device


async def seal_device(device: Device) -> int:
    """First fetch with the device's own credentials: from now on only those work.

    Returns the id of the audit row, which changes who may fetch, not what is rendered.
    """
    try:
        async with in_transaction():
            before = {"sealed": False}
            device.sealed_at = datetime.now(UTC)
            await device.save(update_fields=["sealed_at"])
            return await audit.record(
                audit.Actor(f"device:{device.mac}"),
                AuditAction.DEVICE_SEAL,
                "device",
                device.mac,
                before=before,
                after={"sealed": True, "sealed_at": device.sealed_at.isoformat()},
            )
    except BaseException:
        # Rolled back: the object (which the phone path keeps for the rest of a boot)
        # must not say sealed when the database does not.
        device.sealed_at = None
        raise


def provisioning_credential(p: Platform, device: Device) -> ProvisioningCredential:
    return ProvisioningCredential(
        p.settings.provisioning_url, device.prov_username, p.box.open(device.prov_password_enc)
    )


def _vlan_override(text: str, *, field: str) -> str | None:
    """``inherit`` (None), ``off`` or ``ID[:PRIO]``, as stored on a device."""
    if text.strip().lower() == INHERIT:
        return None
    vlan = parse_vlan(text, field=field)
    return "off" if vlan is None else str(vlan)


async def update_device(
    actor: audit.Actor,
    mac: str,
    *,
    name: str | None = None,
    expansion_modules: int | None = None,
    vlan_lan: str | None = None,
    vlan_pc: str | None = None,
    lldp: str | None = None,
) -> Device:
    async with in_transaction():
        device = await get_device(mac)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = check_display_name(name.strip()) if name.strip() else ""
        if expansion_modules is not None:
            changes["expansion_modules"] = check_module_count(
                expansion_modules, get_model(device.model)
            )
        if vlan_lan is not None:
            changes["vlan_lan"] = _vlan_override(vlan_lan, field="vlan_lan")
        if vlan_pc is not None:
            changes["vlan_pc"] = _vlan_override(vlan_pc, field="vlan_pc")
        if lldp is not None:
            changes["lldp"] = (
                None if lldp.strip().lower() == INHERIT else parse_switch(lldp, field="lldp")
            )
        if not changes:
            raise InvalidInput("settings", "nothing to change")
        await _change_audited(actor, AuditAction.DEVICE_SET, device, changes)
    return device


def clamp_modules(model_id: str, count: int) -> int:
    """A reported number of expansion modules, within what the model takes."""
    model = get_model(model_id)
    return min(max(count, 0), model.expansion.max_count if model.expansion else 0)


async def note_reported_modules(device: Device, count: int) -> bool:
    """A phone that reports its key modules (Snom) is believed: it knows what is plugged in.

    Returns whether that changed the device.
    """
    count = clamp_modules(device.model, count)
    if count == device.expansion_modules:
        return False
    async with in_transaction():
        before = {"expansion_modules": device.expansion_modules}
        device.expansion_modules = count
        await device.save(update_fields=["expansion_modules"])
        await audit.record(
            audit.Actor(f"device:{device.mac}"),
            AuditAction.DEVICE_MODULES_REPORTED,
            "device",
            device.mac,
            before=before,
            after={"expansion_modules": count},
        )
    return True
