"""Building a driver's input from the database, and rendering a device's files."""

from __future__ import annotations

import logging

from provd.db import direct
from provd.db.models import (
    Device,
    DeviceLine,
    FirmwareImage,
    FirmwarePin,
    KeySetting,
    RolloutDevice,
    Tenant,
    User,
)
from provd.db.models import PageLabel as PageLabelRow
from provd.domain.catalogue import PhoneModel
from provd.domain.errors import ProvdError
from provd.domain.firmware import Pin, PinLevel, resolve
from provd.domain.keys import KeyFunction, KeyLocation, KeySpec, Level, default_line_keys
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
from provd.firmware.resolution import UPDATING_DEVICE_STATES, pin_owners
from provd.services.firmware import image_url
from provd.services.layouts import layout_owners, stack_layout, stored_spec
from provd.services.platform import Platform
from provd.services.provisioning.mark_cache import ENTRIES, HarmlessIds, MarkCache, audit_mark
from provd.services.provisioning.records import PhoneDevice, PhoneTenant, of_models

log = logging.getLogger("provd.rendering")


def _port(stored: str | None, inherited: str | None) -> VlanPort | None:
    """Device value (None = inherit, "off") over the tenant's (None = off)."""
    text = inherited if stored is None else stored
    vlan: Vlan | None = parse_vlan(text, field="vlan") if text else None
    return VlanPort(vlan.vid, vlan.priority) if vlan else None


def network_of(tenant: Tenant | PhoneTenant, device: Device | PhoneDevice) -> Network:
    return Network(
        lan_vlan=_port(device.vlan_lan, tenant.vlan_lan),
        pc_vlan=_port(device.vlan_pc, tenant.vlan_pc),
        lldp=tenant.lldp if device.lldp is None else device.lldp,
    )


def sip_proxy_of(p: Platform, tenant: Tenant | PhoneTenant) -> SipServer:
    if tenant.sip_proxy:
        proxy = parse_proxy(tenant.sip_proxy)
        return SipServer(host=proxy.host, port=proxy.port)
    return SipServer(host=p.settings.proxy_host, port=p.settings.sip_proxy_port)


def _key(spec: KeySpec) -> Key:
    line = int(spec.target) if spec.function is KeyFunction.LINE else 1
    return Key(spec.location, spec.function, spec.target, spec.label, line)


# The rows a device's files are made of, read without the ORM: this runs once per boot
# of every phone. Each mirrors a query of the services the console uses
# (services/layouts.effective_layout, firmware/resolution.firmware_for_config), and
# the stacking and choosing are theirs.
_LINES_SQL = (
    f'SELECT l."slot", u."id", u."extension", u."display_name", u."sip_username", '
    f'u."sip_password_enc" FROM "{DeviceLine._meta.db_table}" l '
    f'JOIN "{User._meta.db_table}" u ON u."id" = l."user_id" '
    f'WHERE l."device_id" = ? ORDER BY l."slot"'
)
_KEYS_SQL = (
    'SELECT "owner", "location", "function", "target", "label", "locked" '
    f'FROM "{KeySetting._meta.db_table}" WHERE "model" = ? AND "owner" IN (?, ?, ?, ?)'
)
_LABELS_SQL = (
    'SELECT "owner", "module", "page", "text" '
    f'FROM "{PageLabelRow._meta.db_table}" WHERE "model" = ? AND "owner" IN (?, ?, ?, ?)'
)
_ROLLOUT_SQL = (
    f'SELECT i."version", i."sha256", i."filename" FROM "{RolloutDevice._meta.db_table}" r '
    f'JOIN "{FirmwareImage._meta.db_table}" i ON i."id" = r."target_image_id" '
    f'WHERE r."device_id" = ? AND r."state" IN '
    f"({', '.join('?' for _ in UPDATING_DEVICE_STATES)}) "
    'ORDER BY r."id" DESC LIMIT 1'
)
_PINS_SQL = (
    f'SELECT p."owner", i."id", i."version", i."tested", i."sha256", i."filename" '
    f'FROM "{FirmwarePin._meta.db_table}" p '
    f'JOIN "{FirmwareImage._meta.db_table}" i ON i."id" = p."image_id" '
    'WHERE p."model" = ? AND p."owner" IN (?, ?, ?)'
)


async def _keys(
    device: PhoneDevice, model: PhoneModel, lines: int, first_user: int | None
) -> tuple[tuple[Key, ...], tuple[PageLabel, ...]]:
    owners = layout_owners(device.tenant.id, first_user, device.id)
    # Unused owner slots repeat the platform: four placeholders, one prepared statement.
    names = [*owners, *(["platform"] * (4 - len(owners)))]
    by_level: dict[Level, dict[KeyLocation, KeySpec]] = {level: {} for level in owners.values()}
    for owner, location, function, target, label, locked in await direct.fetch(
        _KEYS_SQL, (model.id, *names)
    ):
        spec = stored_spec(location, function, target, label, bool(locked))
        by_level[owners[owner]][spec.location] = spec
    labels = [
        (owners[owner], module, page, text)
        for owner, module, page, text in await direct.fetch(_LABELS_SQL, (model.id, *names))
    ]
    layout, pages = stack_layout(by_level, labels, device.expansion_modules)
    # Line keys for the lines in use sit under every layout, so a layout that
    # programs other keys never leaves a line without its key.
    specs: dict[KeyLocation, KeySpec] = default_line_keys(model, lines)
    specs.update({loc: eff.spec for loc, eff in layout.items()})
    keys = tuple(_key(specs[loc]) for loc in sorted(specs))
    page_labels = tuple(PageLabel(m, pg, text) for (m, pg), text in sorted(pages.items()))
    return keys, page_labels


async def _firmware(p: Platform, device: PhoneDevice) -> FirmwareRef | None:
    """The target of a rollout updating the device, else its resolved pin."""
    rows = await direct.fetch(_ROLLOUT_SQL, (device.id, *UPDATING_DEVICE_STATES))
    if rows:
        version, sha256, filename = rows[0]
        return FirmwareRef(version, image_url(p, sha256, filename), filename)
    levels = pin_owners(device.tenant.id, device.id)
    pins: dict[PinLevel, Pin] = {}
    images: dict[PinLevel, tuple[str, str, str]] = {}
    for owner, image_id, version, tested, sha256, filename in await direct.fetch(
        _PINS_SQL, (device.model, *levels)
    ):
        level = levels[owner]
        pins[level] = Pin(level, image_id, version, bool(tested))
        images[level] = (version, sha256, filename)
    chosen = resolve(pins).pin
    if chosen is None:
        return None
    version, sha256, filename = images[chosen.level]
    return FirmwareRef(version, image_url(p, sha256, filename), filename)


async def phone_context(p: Platform, device: PhoneDevice) -> DeviceContext:
    """The driver input for a device: four or five plain queries (lines with their
    users, keys, page labels, a rollout updating it, its firmware pins)."""
    tenant = device.tenant
    rows = await direct.fetch(_LINES_SQL, (device.id,))
    lines = tuple(
        Line(
            slot=slot,
            extension=extension,
            display_name=display_name,
            auth_user=sip_username,
            password=p.box.open(bytes(password)),
            domain=tenant.sip_domain,
            label=f"{extension} {display_name}",
        )
        for slot, _, extension, display_name, sip_username, password in rows
    )
    first_user = next((user_id for slot, user_id, *_ in rows if slot == 1), None)
    model = get_model(device.model)
    keys, page_labels = await _keys(device, model, len(lines), first_user)
    settings = p.settings
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
        firmware=await _firmware(p, device),
    )


async def _record(device: Device, tenant: Tenant | None) -> PhoneDevice:
    if tenant is None:
        tenant = await Tenant.get(id=device.tenant_id)  # type: ignore[attr-defined]
    return of_models(device, tenant)


async def device_context(
    p: Platform, device: Device, tenant: Tenant | None = None
) -> DeviceContext:
    """The driver input for a device (what :func:`phone_context` builds for phones)."""
    return await phone_context(p, await _record(device, tenant))


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
        max_entries: int = ENTRIES,
        max_age: float = 30.0,
    ) -> None:
        self.harmless = harmless if harmless is not None else HarmlessIds()
        self._entries: MarkCache[int, DeviceContext] = MarkCache(
            self.harmless, max_entries=max_entries, max_age=max_age
        )

    async def context(
        self,
        p: Platform,
        device: Device | PhoneDevice,
        tenant: Tenant | None = None,
        *,
        mark: int | None = None,
    ) -> DeviceContext:
        """``mark``: the audit mark read at the start of the request, if it was; a
        device's ORM object needs its ``tenant``."""
        if mark is None:
            mark = await audit_mark()
        ctx = self._entries.get(device.id, mark)
        if isinstance(ctx, DeviceContext):
            return ctx
        record = device if isinstance(device, PhoneDevice) else await _record(device, tenant)
        ctx = await phone_context(p, record)
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
