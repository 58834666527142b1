"""Building a driver's input from the database, and rendering a device's files."""

from __future__ import annotations

import logging

from provd.db.models import Device, DeviceLine, Tenant
from provd.domain.catalogue import PhoneModel
from provd.domain.errors import ProvdError
from provd.domain.keys import KeyFunction, KeyLocation, KeySpec, default_line_keys
from provd.domain.mac import Mac
from provd.domain.network import Vlan, parse_proxy, parse_vlan
from provd.drivers.context import (
    DeviceContext,
    FirmwareRef,
    Key,
    Line,
    Network,
    PageLabel,
    Provisioning,
    SipServer,
    TimeSettings,
    VlanPort,
    masked,
)
from provd.drivers.registry import driver_for, get_model
from provd.services.firmware import firmware_for_config, firmware_url
from provd.services.layouts import effective_layout
from provd.services.platform import Platform
from provd.services.provisioning.mark_cache import HarmlessIds, MarkCache, audit_mark

log = logging.getLogger("provd.rendering")


def _port(stored: str | None, inherited: str | None) -> VlanPort | None:
    """Device value (None = inherit, "off") over the tenant's (None = off)."""
    text = inherited if stored is None else stored
    vlan: Vlan | None = parse_vlan(text, field="vlan") if text else None
    return VlanPort(vlan.vid, vlan.priority) if vlan else None


def network_of(tenant: Tenant, device: Device) -> Network:
    return Network(
        lan_vlan=_port(device.vlan_lan, tenant.vlan_lan),
        pc_vlan=_port(device.vlan_pc, tenant.vlan_pc),
        lldp=tenant.lldp if device.lldp is None else device.lldp,
    )


def sip_proxy_of(p: Platform, tenant: Tenant) -> SipServer:
    if tenant.sip_proxy:
        proxy = parse_proxy(tenant.sip_proxy)
        return SipServer(host=proxy.host, port=proxy.port)
    return SipServer(host=p.settings.proxy_host, port=p.settings.sip_proxy_port)


def _key(spec: KeySpec) -> Key:
    line = int(spec.target) if spec.function is KeyFunction.LINE else 1
    return Key(spec.location, spec.function, spec.target, spec.label, line)


async def keys_of(
    device: Device, tenant: Tenant, model: PhoneModel, lines: list[DeviceLine]
) -> tuple[tuple[Key, ...], tuple[PageLabel, ...]]:
    first = next((line.user_id for line in lines if line.slot == 1), None)  # type: ignore[attr-defined]
    layout, pages = await effective_layout(device, tenant, first)
    # Line keys for the lines in use sit under every layout, so a layout that
    # programs other keys never leaves a line without its key.
    specs: dict[KeyLocation, KeySpec] = default_line_keys(model, len(lines))
    specs.update({loc: eff.spec for loc, eff in layout.items()})
    keys = tuple(_key(specs[loc]) for loc in sorted(specs))
    labels = tuple(PageLabel(m, pg, text) for (m, pg), text in sorted(pages.items()))
    return keys, labels


async def firmware_of(p: Platform, device: Device) -> FirmwareRef | None:
    image = await firmware_for_config(device)
    if image is None:
        return None
    return FirmwareRef(image.version, firmware_url(p, image), image.filename)


async def device_context(
    p: Platform, device: Device, tenant: Tenant | None = None
) -> DeviceContext:
    """The driver input for a device: five queries (lines with users, keys, page labels,
    firmware pins, an updating rollout) when the caller already holds the device's
    tenant, as the phone request path does."""
    if tenant is None:
        tenant = await Tenant.get(id=device.tenant_id)  # type: ignore[attr-defined]
    rows = await DeviceLine.filter(device_id=device.id).select_related("user").order_by("slot")
    settings = p.settings
    lines = tuple(
        Line(
            slot=line.slot,
            extension=line.user.extension,
            display_name=line.user.display_name,
            auth_user=line.user.sip_username,
            password=p.box.open(line.user.sip_password_enc),
            domain=tenant.sip_domain,
            label=f"{line.user.extension} {line.user.display_name}",
        )
        for line in rows
    )
    model = get_model(device.model)
    keys, page_labels = await keys_of(device, tenant, model, rows)
    return DeviceContext(
        mac=Mac(device.mac),
        model=model,
        provisioning=Provisioning(
            base_url=settings.provisioning_url,
            username=device.prov_username,
            password=p.box.open(device.prov_password_enc),
            resync_minutes=settings.resync_minutes,
        ),
        sip_proxy=sip_proxy_of(p, tenant),
        admin_password=p.box.open(device.admin_password_enc),
        lines=lines,
        time=TimeSettings(timezone=tenant.timezone, ntp_servers=settings.ntp_servers),
        keys=keys,
        expansion_modules=device.expansion_modules,
        page_labels=page_labels,
        network=network_of(tenant, device),
        pickup_code=tenant.pickup_code,
        firmware=await firmware_of(p, device),
    )


async def render_file(
    p: Platform, device: Device, filename: str, tenant: Tenant | None = None
) -> bytes:
    ctx = await device_context(p, device, tenant)
    return driver_for(device.vendor).render(ctx, filename)


class ContextCache:
    """Device contexts, built once per boot (see :mod:`provd.services.provisioning.mark_cache`)."""

    def __init__(
        self,
        harmless: HarmlessIds | None = None,
        *,
        max_entries: int = 4096,
        max_age: float = 30.0,
    ) -> None:
        self.harmless = harmless if harmless is not None else HarmlessIds()
        self._entries: MarkCache[int, DeviceContext] = MarkCache(
            self.harmless, max_entries=max_entries, max_age=max_age
        )

    async def context(
        self, p: Platform, device: Device, tenant: Tenant, *, mark: int | None = None
    ) -> DeviceContext:
        """``mark``: the audit mark read at the start of the request, if it was."""
        if mark is None:
            mark = await audit_mark()
        ctx = self._entries.get(device.id, mark)
        if isinstance(ctx, DeviceContext):
            return ctx
        ctx = await device_context(p, device, tenant)
        self._entries.put(device.id, mark, ctx)
        return ctx


MASK = "********"


class RenderError(ProvdError):
    """A device's stored settings cannot be rendered into its files.

    Validation keeps such values out, so this means data stored before a rule
    existed (or written around the services): the device needs its settings fixed.
    """

    def __init__(self, mac: str, reason: str) -> None:
        self.mac = mac
        self.reason = reason
        super().__init__(f"the configuration of {mac} cannot be rendered: {reason}")


async def render_all(p: Platform, device: Device, *, reveal: bool = False) -> dict[str, bytes]:
    """Every file the device fetches; secrets masked unless ``reveal`` (for previews).

    Masked files are rendered from the device's context with each secret field
    replaced by :data:`MASK`, so each is the very file the phone gets with the mask
    wherever a secret goes, however the vendor's format escapes it.
    """
    try:
        ctx = await device_context(p, device)
        if not reveal:
            ctx = masked(ctx, MASK)
        driver = driver_for(device.vendor)
        return {name: driver.render(ctx, name) for name in driver.filenames(ctx.mac, ctx.model)}
    except (ValueError, TypeError, LookupError, ProvdError) as e:
        # Drivers refuse what a phone could not parse; their messages never hold a secret.
        log.warning("cannot render the configuration of %s: %s", device.mac, e)
        raise RenderError(device.mac, str(e)) from e
