"""Building a driver's input from the database, and rendering a device's files."""

from __future__ import annotations

import time
from collections import OrderedDict

from provd.db.models import AuditEntry, Device, DeviceLine, Tenant
from provd.domain.catalogue import PhoneModel, get_model
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
)
from provd.drivers.registry import driver_for
from provd.services.firmware import firmware_for_config, firmware_url
from provd.services.layouts import effective_layout
from provd.services.platform import Platform


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
    """Device contexts, valid while the audit log's newest id stays the same.

    Every change that can alter what a device receives (users, devices, layouts,
    pins, rollouts, tenant settings) writes an audit row in its own transaction,
    so an unchanged high-water mark means an unchanged context. A phone fetches
    three or four files within a second when it boots: this builds its context
    once per boot instead of once per file, at the price of one indexed query.

    Some rows this process writes itself change nothing a context holds: a
    device sealed by its first own fetch. A storm of first boots writes one per
    phone, and each would otherwise flush every cached context. The ids of such
    rows are told to :meth:`harmless`; an entry stays valid across a newer mark
    when every id between its mark and the new one is such a row. Ids are not
    guessed: a row another process wrote, or a gap in the sequence, is not in
    the set, so the entry is rebuilt.

    Entries also expire ``max_age`` seconds after they were built. A boot is over
    well within that, and it bounds the one case a high-water mark misses: on
    PostgreSQL a transaction holding a lower id can commit after a higher id is
    already visible, so its change would otherwise wait for the next audit row.
    """

    def __init__(
        self, max_entries: int = 4096, max_harmless: int = 4096, max_age: float = 30.0
    ) -> None:
        self._entries: OrderedDict[int, tuple[int, float, DeviceContext]] = OrderedDict()
        self._max = max_entries
        self._max_age = max_age
        self._harmless: OrderedDict[int, None] = OrderedDict()
        self._max_harmless = max_harmless

    def harmless(self, audit_id: int) -> None:
        """An audit row, committed by this process, that alters no device's context."""
        self._harmless[audit_id] = None
        while len(self._harmless) > self._max_harmless:
            self._harmless.popitem(last=False)

    def _still_valid(self, cached_mark: int, mark: int) -> bool:
        if cached_mark == mark:
            return True
        newer = range(cached_mark + 1, mark + 1)
        return 0 < len(newer) <= len(self._harmless) and all(i in self._harmless for i in newer)

    async def context(self, p: Platform, device: Device, tenant: Tenant) -> DeviceContext:
        mark = await _audit_mark()
        now = time.monotonic()
        hit = self._entries.get(device.id)
        if hit is not None and now - hit[1] < self._max_age and self._still_valid(hit[0], mark):
            self._entries[device.id] = (mark, hit[1], hit[2])
            self._entries.move_to_end(device.id)
            return hit[2]
        # The mark is read first: a change committed meanwhile makes the entry look
        # older than it is, never newer, so the worst case is one rebuild too many.
        ctx = await device_context(p, device, tenant)
        self._entries[device.id] = (mark, now, ctx)
        self._entries.move_to_end(device.id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return ctx


async def _audit_mark() -> int:
    newest = await AuditEntry.all().order_by("-id").only("id").first()
    return newest.id if newest is not None else 0


MASK = "********"


def _secrets(ctx: DeviceContext) -> list[str]:
    return [ctx.provisioning.password, ctx.admin_password, *(line.password for line in ctx.lines)]


async def render_all(p: Platform, device: Device, *, reveal: bool = False) -> dict[str, bytes]:
    """Every file the device fetches; secrets masked unless ``reveal`` (for previews)."""
    ctx = await device_context(p, device)
    driver = driver_for(device.vendor)
    files = {name: driver.render(ctx, name) for name in driver.filenames(ctx.mac, ctx.model)}
    if reveal:
        return files
    out = {}
    for name, body in files.items():
        text = body.decode()
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(_secrets(ctx), key=len, reverse=True):
            text = text.replace(secret, MASK)
        out[name] = text.encode()
    return out
