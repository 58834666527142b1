"""One device as the console's detail page shows it: network settings and where each
comes from, recent events, and its editable settings changed all at once."""

from __future__ import annotations

from dataclasses import dataclass

from provd.db.models import AuditEntry, Device, Tenant
from provd.domain.errors import InvalidInput
from provd.domain.tenancy import check_display_name
from provd.drivers.context import VlanPort
from provd.services import audit, devices
from provd.services.rendering import network_of

EVENT_LIMIT = 25


@dataclass(frozen=True, slots=True)
class NetworkSetting:
    name: str
    effective: str
    source: str
    """"device override" or "tenant default"."""
    override: str
    """What the device stores: "inherit", "off", "on" or a VLAN."""


def network_view(device: Device, tenant: Tenant) -> list[NetworkSetting]:
    net = network_of(tenant, device)

    def vlan(port: VlanPort | None) -> str:
        return "untagged" if port is None else f"VLAN {port.vid} priority {port.priority}"

    def source(stored: object) -> str:
        return "tenant default" if stored is None else "device override"

    lldp_stored = None if device.lldp is None else ("on" if device.lldp else "off")
    return [
        NetworkSetting(
            "LAN port", vlan(net.lan_vlan), source(device.vlan_lan), device.vlan_lan or "inherit"
        ),
        NetworkSetting(
            "PC port", vlan(net.pc_vlan), source(device.vlan_pc), device.vlan_pc or "inherit"
        ),
        NetworkSetting(
            "LLDP", "on" if net.lldp else "off", source(device.lldp), lldp_stored or "inherit"
        ),
    ]


async def events(mac: str, limit: int = EVENT_LIMIT) -> list[AuditEntry]:
    """The newest audit rows about the device (changes, seals, resyncs), newest first.

    Only since the MAC was last removed: a phone removed from one tenant and claimed by
    another must not show the other tenant's history (who handled it, and when) to
    whoever has it now. The audit log keeps the whole story for platform admins.
    """
    about = AuditEntry.filter(object_type="device", object_key=mac)
    removed = await about.filter(action="device.remove").order_by("-id").only("id").first()
    if removed is not None:
        about = about.filter(id__gt=removed.id)
    return await about.order_by("-id").limit(limit)


def _name(text: str) -> str:
    text = text.strip()
    return check_display_name(text) if text else ""


async def update_settings(
    actor: audit.Actor,
    mac: str,
    *,
    name: str | None = None,
    expansion_modules: str | None = None,
    vlan_lan: str | None = None,
    vlan_pc: str | None = None,
    lldp: str | None = None,
) -> Device:
    """Change what differs from the stored values, in one transaction: a refused value
    leaves every setting as it was."""
    device = await devices.get_device(mac)
    view = await devices.device_view(device)
    new_name = _name(name) if name is not None else device.name
    modules: int | None = None
    if expansion_modules is not None and expansion_modules.strip() != str(device.expansion_modules):
        try:
            modules = int(expansion_modules)
        except ValueError:
            raise InvalidInput("expansion_modules", "must be a number") from None
    changes = {
        key: value
        for key, value in (("vlan_lan", vlan_lan), ("vlan_pc", vlan_pc), ("lldp", lldp))
        if value is not None and value.strip().lower() != str(view[key]).lower()
    }
    if new_name == device.name and modules is None and not changes:
        raise InvalidInput("settings", "nothing to change")
    if new_name != device.name:
        changes["name"] = new_name
    return await devices.update_device(actor, mac, expansion_modules=modules, **changes)
