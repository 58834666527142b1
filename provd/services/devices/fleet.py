"""The fleet at a glance: one page of devices with their status, filtered and sorted in SQL.

A page costs the same few queries however large the fleet: the filters, the
sort and the page window are SQL; the lines, the firmware pins and rollouts are
read for the page's devices in one query each; registration comes from one PBX
dump that the caller fetched (``registrations``; None when no PBX answered).

Registration filters and counts read the dump as "every line's user has a
binding". A user on two phones then counts as registered on both even if only
one of them registered; the rows of the page attribute bindings exactly
(:func:`provd.services.pbx.pick_binding`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from tortoise.expressions import F, Q, Subquery
from tortoise.queryset import QuerySet

from provd.db.models import Device, DeviceLine, FirmwarePin, RolloutDevice, Tenant, User
from provd.domain.errors import InvalidInput
from provd.domain.firmware import Pin, PinLevel, resolve
from provd.drivers.registry import MODELS, get_model
from provd.firmware.resolution import (
    ACTIVE_DEVICE_STATES,
    PLATFORM_OWNER,
    device_owner,
    tenant_owner,
)
from provd.pbx import Registration, aor_for
from provd.services.directory.tenants import get_tenant
from provd.services.pbx import LineRegistration, line_registrations

PER_PAGE_DEFAULT = 100
PER_PAGE_MAX = 500
PER_PAGE_CHOICES = (50, 100, 250, 500)
_SEARCH_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX = re.compile(r"[0-9a-f]+")
_MAX_SEARCH = 64


class Status(StrEnum):
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    NEVER_FETCHED = "never-fetched"


class Sort(StrEnum):
    MAC = "mac"
    NAME = "name"
    MODEL = "model"
    TENANT = "tenant"
    FETCHED = "fetched"
    FIRMWARE = "firmware"


_ORDER = {
    Sort.MAC: "mac",
    Sort.NAME: "name",
    Sort.MODEL: "model",
    Sort.TENANT: "tenant__slug",
    Sort.FETCHED: "last_fetch_at",
    Sort.FIRMWARE: "reported_firmware",
}


@dataclass(frozen=True, slots=True)
class FleetQuery:
    search: str = ""
    tenant: str = ""
    model: str = ""
    status: Status | None = None
    drift: bool = False
    sort: Sort = Sort.MAC
    descending: bool = False
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT

    def params(self, **changes: object) -> dict[str, str]:
        """The query string that asks for this query (with ``changes``); defaults left out."""
        q = replace(self, **changes)  # type: ignore[arg-type]
        out = {
            "q": q.search,
            "tenant": q.tenant,
            "model": q.model,
            "status": q.status.value if q.status else "",
            "drift": "1" if q.drift else "",
            "sort": q.sort.value if q.sort is not Sort.MAC else "",
            "dir": "desc" if q.descending else "",
            "page": str(q.page) if q.page != 1 else "",
            "per_page": str(q.per_page) if q.per_page != PER_PAGE_DEFAULT else "",
        }
        return {k: v for k, v in out.items() if v}


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(name, f"{value!r} is not a number") from None
    if not low <= number <= high:
        raise InvalidInput(name, f"must be between {low} and {high}")
    return number


def parse_query(args: Mapping[str, str]) -> FleetQuery:
    """A query from URL parameters; a bad value is refused naming its parameter."""
    status = args.get("status", "").strip()
    sort = args.get("sort", "").strip() or Sort.MAC.value
    model = args.get("model", "").strip()
    if model:
        model = get_model(model).id
    try:
        parsed_status = Status(status) if status else None
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise InvalidInput("status", f"unknown status {status!r} (one of: {choices})") from None
    try:
        parsed_sort = Sort(sort)
    except ValueError:
        choices = ", ".join(s.value for s in Sort)
        raise InvalidInput("sort", f"unknown column {sort!r} (one of: {choices})") from None
    return FleetQuery(
        search=args.get("q", "").strip()[:_MAX_SEARCH],
        tenant=args.get("tenant", "").strip().lower(),
        model=model,
        status=parsed_status,
        drift=args.get("drift", "") in ("1", "on", "yes", "true"),
        sort=parsed_sort,
        descending=args.get("dir", "") == "desc",
        page=_int(args.get("page", "") or "1", "page", 1, 1_000_000),
        per_page=_int(
            args.get("per_page", "") or str(PER_PAGE_DEFAULT), "per_page", 1, PER_PAGE_MAX
        ),
    )


# --- the page's view ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineCell:
    slot: int
    extension: str
    name: str
    registration: LineRegistration | None
    """None: unknown (no PBX)."""


@dataclass(frozen=True, slots=True)
class FleetRow:
    mac: str
    model: str
    tenant: str
    name: str
    lines: tuple[LineCell, ...]
    registered: bool | None
    """Every line registered; None when unknown (no PBX answered)."""
    lan_address: str | None
    wan_address: str | None
    registered_until: datetime | None
    last_seen: datetime | None
    """The newest sign of life provd stored: a config fetch or a SIP-reported version."""
    expected: str | None
    expected_level: str | None
    running: str | None
    running_source: str | None
    """"http" (the User-Agent of a config fetch) or "sip" (of a REGISTER)."""
    updating_to: str | None
    last_fetch_at: datetime | None
    last_fetch_ip: str | None

    @property
    def drifted(self) -> bool:
        return (
            self.expected is not None
            and self.running is not None
            and (self.expected != self.running)
        )


@dataclass(frozen=True, slots=True)
class Summary:
    devices: int
    registered: int | None
    unregistered: int | None
    drift: int
    never_fetched: int


@dataclass(frozen=True, slots=True)
class FleetPage:
    query: FleetQuery
    rows: list[FleetRow]
    matching: int
    summary: Summary
    registration_known: bool
    notes: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.query.per_page))


# --- SQL conditions ----------------------------------------------------------------------


def _search(text: str) -> Q:
    lines = Q(user__display_name__icontains=text) | Q(user__extension__startswith=text)
    condition = Q(name__icontains=text) | Q(
        id__in=Subquery(DeviceLine.filter(lines).values("device_id"))
    )
    compact = _SEARCH_SEPARATORS.sub("", text.lower())
    if compact and _HEX.fullmatch(compact):
        condition |= Q(mac__contains=compact)
    return condition


async def registered_user_ids(registrations: Mapping[str, Registration]) -> list[int]:
    """The users with at least one binding in the PBX dump (one query)."""
    if not registrations:
        return []
    extensions = {aor.split("@", 1)[0] for aor in registrations}
    rows = await User.filter(extension__in=sorted(extensions)).values_list(
        "id", "extension", "tenant__sip_domain"
    )
    out = []
    for uid, ext, domain in rows:
        found = registrations.get(aor_for(ext, domain))
        if found is not None and found.contacts:
            out.append(uid)
    return out


def _registered(user_ids: Sequence[int]) -> Q:
    """Devices with lines, every line's user registered."""
    has_lines = Q(id__in=Subquery(DeviceLine.all().values("device_id")))
    unregistered_line = DeviceLine.all()
    if user_ids:
        unregistered_line = unregistered_line.filter(user_id__not_in=list(user_ids))
    return has_lines & ~Q(id__in=Subquery(unregistered_line.values("device_id")))


def _reports(version: str) -> Q:
    """The version reported last (by HTTP or SIP User-Agent) is not ``version``.

    Written out for SQL's NULLs: the HTTP report wins ties and reports without a time,
    as :attr:`provd.firmware.resolution.FirmwareStatus.running` has it.
    """
    http_last = Q(reported_firmware__isnull=False) & (
        Q(sip_firmware__isnull=True)
        | Q(sip_firmware_at__isnull=True)
        | Q(reported_firmware_at__gte=F("sip_firmware_at"))
    )
    sip_last = Q(sip_firmware__isnull=False) & (
        Q(reported_firmware__isnull=True)
        | Q(reported_firmware_at__isnull=True, sip_firmware_at__isnull=False)
        | Q(sip_firmware_at__gt=F("reported_firmware_at"))
    )
    return (http_last & Q(reported_firmware__not=version)) | (
        sip_last & Q(sip_firmware__not=version)
    )


async def _drift() -> Q | None:
    """Devices whose running version differs from their resolved pin; None: none can."""
    pins = await FirmwarePin.all().values_list(
        "level", "model", "tenant_id", "device_id", "image__version"
    )
    device_pins: dict[str, list[int]] = {}
    pinned_devices: dict[str, list[int]] = {}
    tenant_pins: dict[tuple[str, str], list[int]] = {}
    pinned_tenants: dict[str, list[int]] = {}
    platform: dict[str, str] = {}
    for level, model, tenant_id, device_id, version in pins:
        if level == PinLevel.DEVICE:
            device_pins.setdefault(version, []).append(device_id)
            pinned_devices.setdefault(model, []).append(device_id)
        elif level == PinLevel.TENANT:
            tenant_pins.setdefault((model, version), []).append(tenant_id)
            pinned_tenants.setdefault(model, []).append(tenant_id)
        else:
            platform[model] = version
    parts: list[Q] = []
    for version, ids in device_pins.items():
        parts.append(Q(id__in=ids) & _reports(version))
    for (model, version), tenant_ids in tenant_pins.items():
        q = Q(model=model, tenant_id__in=tenant_ids) & _reports(version)
        if model in pinned_devices:
            q &= ~Q(id__in=pinned_devices[model])
        parts.append(q)
    for model, version in platform.items():
        q = Q(model=model) & _reports(version)
        if model in pinned_tenants:
            q &= ~Q(tenant_id__in=pinned_tenants[model])
        if model in pinned_devices:
            q &= ~Q(id__in=pinned_devices[model])
        parts.append(q)
    if not parts:
        return None
    return Q(*parts, join_type=Q.OR)


async def _scope(query: FleetQuery, tenant_id: int | None) -> QuerySet[Device]:
    base = Device.all() if tenant_id is None else Device.filter(tenant_id=tenant_id)
    if query.tenant:
        base = base.filter(tenant_id=(await get_tenant(query.tenant)).id)
    return base


# --- the page ----------------------------------------------------------------------------


async def _expected(devices: Sequence[Device]) -> dict[int, tuple[str, str] | None]:
    """Per device id, the resolved (version, level name): one query for the page."""
    owners = {PLATFORM_OWNER}
    for d in devices:
        owners.add(tenant_owner(d.tenant_id))  # type: ignore[attr-defined]
        owners.add(device_owner(d.id))
    models = {d.model for d in devices}
    rows = await FirmwarePin.filter(owner__in=sorted(owners), model__in=sorted(models)).values_list(
        "owner", "model", "level", "image_id", "image__version", "image__tested"
    )
    by_key = {
        (owner, model): Pin(PinLevel(level), image_id, version, tested)
        for owner, model, level, image_id, version, tested in rows
    }
    out: dict[int, tuple[str, str] | None] = {}
    for d in devices:
        candidates = {
            PinLevel.PLATFORM: (PLATFORM_OWNER, d.model),
            PinLevel.TENANT: (tenant_owner(d.tenant_id), d.model),  # type: ignore[attr-defined]
            PinLevel.DEVICE: (device_owner(d.id), d.model),
        }
        pins = {lvl: by_key[key] for lvl, key in candidates.items() if key in by_key}
        chosen = resolve(pins).pin
        out[d.id] = (chosen.version, chosen.level.name.lower()) if chosen else None
    return out


async def _updating(devices: Sequence[Device]) -> dict[int, str]:
    rows = await RolloutDevice.filter(
        device_id__in=[d.id for d in devices],
        state__in=ACTIVE_DEVICE_STATES,
        target_image_id__isnull=False,
    ).values_list("device_id", "target_image__version")
    return dict(rows)


def _running(d: Device) -> tuple[str | None, str | None]:
    seen = [
        (at.timestamp() if at else 0.0, i, version, source)
        for i, (version, at, source) in enumerate(
            (
                (d.reported_firmware, d.reported_firmware_at, "http"),
                (d.sip_firmware, d.sip_firmware_at, "sip"),
            )
        )
        if version is not None
    ]
    if not seen:
        return None, None
    # Newest wins; the HTTP report wins a tie (max keeps the first of equals).
    newest = max(seen, key=lambda s: (s[0], -s[1]))
    return newest[2], newest[3]


def _newest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _row(
    d: Device,
    lines: list[DeviceLine],
    registration: list[LineRegistration] | None,
    expected: tuple[str, str] | None,
    updating_to: str | None,
) -> FleetRow:
    by_slot = {r.slot: r for r in registration} if registration is not None else {}
    cells = tuple(
        LineCell(
            line.slot,
            line.user.extension,
            line.user.display_name,
            by_slot.get(line.slot) if registration is not None else None,
        )
        for line in lines
    )
    bindings = [r.binding for r in registration or () if r.binding is not None]
    freshest = max(bindings, key=lambda b: b.expires_in) if bindings else None
    running, source = _running(d)
    return FleetRow(
        mac=d.mac,
        model=d.model,
        tenant=d.tenant.slug,
        name=d.name,
        lines=cells,
        registered=None
        if registration is None
        else bool(registration) and all(r.registered for r in registration),
        lan_address=str(freshest.lan_address) if freshest and freshest.lan_address else None,
        wan_address=str(freshest.wan_address) if freshest and freshest.wan_address else None,
        registered_until=freshest.expires_at if freshest else None,
        last_seen=_newest(d.last_fetch_at, d.sip_firmware_at),
        expected=expected[0] if expected else None,
        expected_level=expected[1] if expected else None,
        running=running,
        running_source=source,
        updating_to=updating_to,
        last_fetch_at=d.last_fetch_at,
        last_fetch_ip=d.last_fetch_ip,
    )


async def fleet_page(
    query: FleetQuery,
    registrations: Mapping[str, Registration] | None,
    *,
    tenant_id: int | None = None,
) -> FleetPage:
    """One page of the fleet for ``query``, and the counts of the whole (tenant's) fleet.

    ``tenant_id`` confines the page and its counts to one tenant whatever the
    query asks (a tenant admin's fleet).
    """
    scope = await _scope(query, tenant_id)
    notes: list[str] = []
    registered_q: Q | None = None
    if registrations is not None:
        registered_q = _registered(await registered_user_ids(registrations))
    drift_q = await _drift()

    filtered = scope
    if query.model:
        filtered = filtered.filter(model=query.model)
    if query.search:
        filtered = filtered.filter(_search(query.search))
    empty = False
    if query.status is Status.NEVER_FETCHED:
        filtered = filtered.filter(last_fetch_at__isnull=True)
    elif query.status is not None:
        if registered_q is None:
            notes.append("registration is unknown without a running PBX: status not filtered")
        elif query.status is Status.REGISTERED:
            filtered = filtered.filter(registered_q)
        else:
            filtered = filtered.filter(~registered_q)
    if query.drift:
        if drift_q is None:
            empty = True
        else:
            filtered = filtered.filter(drift_q)

    matching = 0 if empty else await filtered.count()
    order = _ORDER[query.sort]
    if query.descending:
        order = "-" + order
    tiebreak = "-mac" if query.descending else "mac"
    devices: list[Device] = []
    if matching:
        offset = (query.page - 1) * query.per_page
        devices = (
            await filtered.select_related("tenant")
            .order_by(order, tiebreak)
            .offset(offset)
            .limit(query.per_page)
        )

    total = await scope.count()
    registered = await scope.filter(registered_q).count() if registered_q is not None else None
    summary = Summary(
        devices=total,
        registered=registered,
        unregistered=total - registered if registered is not None else None,
        drift=await scope.filter(drift_q).count() if drift_q is not None else 0,
        never_fetched=await scope.filter(last_fetch_at__isnull=True).count(),
    )
    rows: list[FleetRow] = []
    if devices:
        ids = [d.id for d in devices]
        lines = await DeviceLine.filter(device_id__in=ids).select_related("user").order_by("slot")
        by_device: dict[int, list[DeviceLine]] = {}
        for line in lines:
            by_device.setdefault(line.device_id, []).append(line)  # type: ignore[attr-defined]
        status = (
            await line_registrations(devices, registrations) if registrations is not None else None
        )
        expected = await _expected(devices)
        updating = await _updating(devices)
        rows = [
            _row(
                d,
                by_device.get(d.id, []),
                status[d.mac] if status is not None else None,
                expected[d.id],
                updating.get(d.id),
            )
            for d in devices
        ]
    return FleetPage(query, rows, matching, summary, registrations is not None, notes)


async def filter_choices() -> tuple[list[str], list[str]]:
    """Tenant slugs and model ids for the filter menus."""
    tenants = await Tenant.all().order_by("slug").values_list("slug", flat=True)
    return [str(t) for t in tenants], [m.id for m in MODELS]
