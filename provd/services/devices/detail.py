"""One device as the console's detail page shows it: network settings and where each
comes from, recent events, and its editable settings changed all at once."""

from __future__ import annotations

from dataclasses import dataclass

from provd.db.models import Account, ApiToken, AuditEntry, Device, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.domain.tenancy import check_display_name
from provd.drivers.context import VlanPort
from provd.services import audit, devices
from provd.services.provisioning.rendering import network_of

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
    removed = (
        await about.filter(action=AuditAction.DEVICE_REMOVE).order_by("-id").only("id").first()
    )
    if removed is not None:
        about = about.filter(id__gt=removed.id)
    return await about.order_by("-id").limit(limit)


OUTSIDE_ACTOR = "another account"


async def actor_labels(entries: list[AuditEntry], viewer_tenant_id: int | None) -> dict[str, str]:
    """How each entry's actor is shown to a viewer confined to ``viewer_tenant_id``.

    Platform admins (None) see actors as stored. A tenant's own people see the accounts
    and tokens of their tenant, and the device itself, by name; the platform's admins,
    its tokens and the server's command line are not theirs to know by name.
    """
    actors = {e.actor for e in entries}
    if viewer_tenant_id is None:
        return {a: a for a in actors}
    usernames = [a.removeprefix("web:") for a in actors if a.startswith("web:")]
    token_names = [a.removeprefix("api:") for a in actors if a.startswith("api:")]
    own_accounts = await Account.filter(
        username__in=usernames, tenant_id=viewer_tenant_id
    ).values_list("username", flat=True)
    own_tokens = await ApiToken.filter(
        name__in=token_names, tenant_id=viewer_tenant_id
    ).values_list("name", flat=True)
    own = {f"web:{u}" for u in own_accounts} | {f"api:{n}" for n in own_tokens}
    return {a: a if a in own or a.startswith("device:") else OUTSIDE_ACTOR for a in actors}


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
