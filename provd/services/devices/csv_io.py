"""Devices as CSV: import all or nothing with every error by row and column, export
in the same columns so that an export re-imports as a no-op.

Rows are counted as a spreadsheet shows them: the header is row 1, the first
device row 2. A column left out of the file leaves that attribute of existing
devices as it is (new devices get the default); a column present but empty
means empty: no user on line 1 (a spare), no further lines, VLAN inherited,
no expansion module, no name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Device, DeviceLine, Tenant, User
from provd.domain.access import Principal
from provd.domain.audit_actions import AuditAction
from provd.domain.device_csv import (
    COLUMNS,
    MAX_BYTES,
    DeviceRow,
    ImportRefused,
    ParsedFile,
    RowError,
    RowRefs,
    export_csv,
    parse_file,
)
from provd.domain.errors import NotFound
from provd.domain.mac import Mac
from provd.domain.network import INHERIT
from provd.domain.passwords import generate_password
from provd.drivers.registry import CATALOGUE
from provd.services import audit
from provd.services.devices import prov_username_for
from provd.services.directory.tenants import DEFAULT_TENANT, get_tenant
from provd.services.installer import mac_probes
from provd.services.platform import Platform

_CHUNK = 500
__all__ = ["COLUMNS", "MAX_BYTES", "ImportRefused", "RowError", "export_devices", "import_devices"]


@dataclass(frozen=True, slots=True)
class Change:
    row: int
    mac: Mac
    action: str
    """``add``, ``update`` or ``unchanged``."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    changes: list[Change]
    dry_run: bool

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> str:
        counts = (
            f"{self.count('add')} added, {self.count('update')} updated, "
            f"{self.count('unchanged')} unchanged"
        )
        return f"dry run, nothing written: {counts}" if self.dry_run else counts

    def view(self) -> dict[str, Any]:
        return {
            "added": self.count("add"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "dry_run": self.dry_run,
            "changes": [{"row": c.row, "mac": c.mac, "action": c.action} for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What a device must look like after the import."""

    lines: dict[int, User]
    vlan_lan: str | None
    vlan_pc: str | None
    expansion_modules: int
    name: str


async def scope_tenant(principal: Principal, requested: str | None) -> str | None:
    """The tenant a caller works in: an installer's own (naming any other tenant looks
    exactly like naming one that does not exist), or what an admin asked for."""
    if principal.tenant_id is None:
        return requested.strip().lower() if requested else None
    own = await Tenant.get(id=principal.tenant_id)
    if requested and requested.strip().lower() != own.slug:
        raise NotFound("tenant", requested, field="tenant")
    return own.slug


# ---- reading the file ---------------------------------------------------------------


# ---- checking against the database and writing ----------------------------------------


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def _tenants(refs: list[RowRefs]) -> dict[str, Tenant]:
    slugs = sorted({r.tenant for r in refs})
    return {t.slug: t for t in await Tenant.filter(slug__in=slugs)} if slugs else {}


async def _users(refs: list[RowRefs], tenants: dict[str, Tenant]) -> dict[tuple[int, str], User]:
    wanted: dict[int, set[str]] = {}
    for r in refs:
        if r.tenant in tenants:
            wanted.setdefault(tenants[r.tenant].id, set()).update(e for e, _ in r.users.values())
    found: dict[tuple[int, str], User] = {}
    for tenant_id, exts in wanted.items():
        for chunk in _chunks(sorted(exts)):
            for u in await User.filter(tenant_id=tenant_id, extension__in=list(chunk)):
                found[(tenant_id, u.extension)] = u
    return found


async def _existing(rows: list[DeviceRow]) -> tuple[dict[str, Device], dict[int, dict[int, User]]]:
    devices: dict[str, Device] = {}
    for chunk in _chunks([r.mac for r in rows]):
        devices.update({d.mac: d for d in await Device.filter(mac__in=list(chunk))})
    lines: dict[int, dict[int, User]] = {d.id: {} for d in devices.values()}
    for chunk in _chunks(list(lines)):
        for line in await DeviceLine.filter(device_id__in=list(chunk)).select_related("user"):
            lines[line.device_id][line.slot] = line.user  # type: ignore[attr-defined]
    return devices, lines


def _current(device: Device, lines: dict[int, User]) -> _Wanted:
    return _Wanted(
        dict(lines), device.vlan_lan, device.vlan_pc, device.expansion_modules, device.name
    )


def _wanted(
    r: DeviceRow,
    columns: set[str],
    users: dict[int, User],
    now: _Wanted | None,
) -> _Wanted:
    """The row applied over what the device has now: absent columns keep their value."""
    lines = dict(now.lines) if now else {}
    if "extension" in columns:
        lines.pop(1, None)
        if r.extension:
            lines[1] = users[1]
    if "lines" in columns:
        lines = {slot: u for slot, u in lines.items() if slot == 1}
        lines.update({slot: u for slot, u in users.items() if slot != 1})

    def pick(column: str, value: Any) -> Any:
        return value if column in columns or now is None else getattr(now, column)

    return _Wanted(
        lines,
        pick("vlan_lan", r.vlan_lan),
        pick("vlan_pc", r.vlan_pc),
        pick("expansion_modules", r.expansion_modules),
        pick("name", r.name),
    )


def _same(a: _Wanted, b: _Wanted) -> bool:
    ids = {slot: u.id for slot, u in a.lines.items()}
    return ids == {slot: u.id for slot, u in b.lines.items()} and (
        a.vlan_lan,
        a.vlan_pc,
        a.expansion_modules,
        a.name,
    ) == (b.vlan_lan, b.vlan_pc, b.expansion_modules, b.name)


@dataclass(slots=True)
class _Plan:
    row: DeviceRow
    tenant: Tenant
    wanted: _Wanted
    device: Device | None
    now: _Wanted | None
    changed: bool


def _resolve(
    ref: RowRefs,
    scope: str | None,
    tenants: dict[str, Tenant],
    users: dict[tuple[int, str], User],
    errors: list[RowError],
) -> tuple[Tenant, dict[int, User]] | None:
    """The row's tenant and users, or None after adding why not to ``errors``."""
    tenant = tenants.get(ref.tenant)
    if scope is not None and ref.tenant != scope:
        errors.append(RowError(ref.row, "tenant", f"this import is for tenant {scope} only"))
        return None
    if tenant is None:
        errors.append(RowError(ref.row, "tenant", f"tenant {ref.tenant!r} not found"))
        return None
    found: dict[int, User] = {}
    for slot, (ext, column) in sorted(ref.users.items()):
        user = users.get((tenant.id, ext))
        if user is None:
            errors.append(
                RowError(ref.row, column, f"user {ext} not found in tenant {tenant.slug}")
            )
        else:
            found[slot] = user
    return (tenant, found) if len(found) == len(ref.users) else None


async def _plan(parsed: ParsedFile, scope: str | None, elsewhere: list[Mac]) -> list[_Plan]:
    """What to do for each row, after checking it against the database; the errors
    found are added to ``parsed.errors``, the MACs of other tenants to ``elsewhere``."""
    errors = parsed.errors
    tenants = await _tenants(parsed.refs)
    users = await _users(parsed.refs, tenants)
    resolved = {ref.row: _resolve(ref, scope, tenants, users, errors) for ref in parsed.refs}
    devices, device_lines = await _existing(parsed.rows)
    plans = []
    for r in parsed.rows:
        before = len(errors)
        named = resolved[r.row]
        if named is None:
            continue
        tenant, slot_users = named
        device = devices.get(r.mac)
        if device is not None and device.tenant_id != tenant.id:  # type: ignore[attr-defined]
            # Deliberately silent about which tenant holds it.
            elsewhere.append(r.mac)
            errors.append(
                RowError(
                    r.row,
                    "mac",
                    f"{r.mac} is already registered on another account: "
                    "ask your provd administrator to release it",
                )
            )
        elif device is not None and device.model != r.model.id:
            errors.append(
                RowError(
                    r.row,
                    "model",
                    f"{r.mac} is a {device.model}: an import does not change a model "
                    "(remove the device and add it again)",
                )
            )
        if len(errors) > before:
            continue
        now = _current(device, device_lines[device.id]) if device else None
        wanted = _wanted(r, parsed.columns, slot_users, now)
        on: dict[int, int] = {}
        for slot, user in sorted(wanted.lines.items()):
            if user.id in on:
                column = "extension" if on[user.id] == 1 else "lines"
                errors.append(
                    RowError(
                        r.row,
                        column,
                        f"user {user.extension} would be on line {on[user.id]} and line {slot}",
                    )
                )
            on[user.id] = slot
        if len(errors) > before:
            continue
        plans.append(_Plan(r, tenant, wanted, device, now, now is None or not _same(now, wanted)))
    return plans


def _audit_view(plan: _Plan, state: _Wanted) -> dict[str, Any]:
    """What the import sets, keyed as :func:`devices.device_view` keys it."""
    return {
        "mac": plan.row.mac,
        "model": plan.row.model.id,
        "tenant": plan.tenant.slug,
        "name": state.name,
        "lines": [
            {"slot": slot, "extension": user.extension, "name": user.display_name}
            for slot, user in sorted(state.lines.items())
        ],
        "expansion_modules": state.expansion_modules,
        "vlan_lan": state.vlan_lan or INHERIT,
        "vlan_pc": state.vlan_pc or INHERIT,
    }


async def _add(p: Platform, actor: audit.Actor, plan: _Plan) -> None:
    r, w = plan.row, plan.wanted
    # The generated passwords reach the phone in its config; nobody needs them printed.
    device = await Device.create(
        tenant=plan.tenant,
        mac=r.mac,
        vendor=r.model.vendor.value,
        model=r.model.id,
        name=w.name,
        prov_username=prov_username_for(r.mac),
        prov_password_enc=p.box.seal(generate_password(24)),
        admin_password_enc=p.box.seal(generate_password(20)),
        expansion_modules=w.expansion_modules,
        vlan_lan=w.vlan_lan,
        vlan_pc=w.vlan_pc,
    )
    if w.lines:
        await DeviceLine.bulk_create(
            [DeviceLine(device=device, slot=slot, user=user) for slot, user in w.lines.items()]
        )
    await audit.record(actor, AuditAction.DEVICE_ADD, "device", r.mac, after=_audit_view(plan, w))


async def _update(actor: audit.Actor, plan: _Plan, device: Device, now: _Wanted) -> None:
    w = plan.wanted
    device.update_from_dict(
        {
            "name": w.name,
            "expansion_modules": w.expansion_modules,
            "vlan_lan": w.vlan_lan,
            "vlan_pc": w.vlan_pc,
        }
    )
    await device.save(update_fields=["name", "expansion_modules", "vlan_lan", "vlan_pc"])
    for slot, user in now.lines.items():
        if slot not in w.lines:
            await DeviceLine.filter(device=device, slot=slot).delete()
        elif w.lines[slot].id != user.id:
            await DeviceLine.filter(device=device, slot=slot).update(user=w.lines[slot])
    added = [slot for slot in w.lines if slot not in now.lines]
    if added:
        await DeviceLine.bulk_create(
            [DeviceLine(device=device, slot=slot, user=w.lines[slot]) for slot in added]
        )
    await audit.record(
        actor,
        AuditAction.DEVICE_IMPORT,
        "device",
        device.mac,
        before=_audit_view(plan, now),
        after=_audit_view(plan, w),
    )


async def import_devices(
    p: Platform,
    actor: audit.Actor,
    data: bytes | str,
    *,
    tenant: str | None = None,
    dry_run: bool = False,
    principal: Principal | None = None,
) -> ImportResult:
    """Add or update every device of the file, or nothing (:class:`ImportRefused`).

    ``tenant`` confines the import: empty cells mean it and a row naming another
    tenant is an error. Without it empty cells mean the default tenant. A
    tenant-bound ``principal``'s dry runs and MACs of other tenants are audited
    and bounded (``services/mac_probes``).
    """
    if tenant is not None:
        tenant = (await get_tenant(tenant)).slug
    # Installers and tenant admins: dry runs and other tenants' MACs are probes.
    probe = (principal, tenant) if principal and principal.tenant_id and tenant else None
    if probe is not None:
        await mac_probes.check(*probe)
    parsed = parse_file(data, default_tenant=tenant or DEFAULT_TENANT, catalogue=CATALOGUE)
    elsewhere: list[Mac] = []

    async def checked() -> list[_Plan]:
        plans = await _plan(parsed, tenant, elsewhere)
        if parsed.errors:
            raise ImportRefused(sorted(parsed.errors, key=lambda e: e.row))
        return plans

    async def audit_probe() -> None:
        # Outside the transaction: a refused import keeps its audit row.
        if probe is None or not (dry_run or elsewhere):
            return
        await mac_probes.record(
            actor,
            *probe,
            via="import dry run" if dry_run else "import",
            checked=len(parsed.rows),
            elsewhere=elsewhere,
            dry_run=dry_run,
        )
        # A file naming more of them than are left gets 429, not which rows they are.
        await mac_probes.check(*probe, counting_this=True)

    try:
        if dry_run:
            plans = await checked()
        else:
            async with in_transaction():
                plans = await checked()
                for plan in plans:
                    if plan.device is None:
                        await _add(p, actor, plan)
                    elif plan.changed and plan.now is not None:
                        await _update(actor, plan, plan.device, plan.now)
    except ImportRefused:
        await audit_probe()
        raise
    await audit_probe()
    changes = [
        Change(
            plan.row.row,
            plan.row.mac,
            "add" if plan.device is None else "update" if plan.changed else "unchanged",
        )
        for plan in plans
    ]
    return ImportResult(changes, dry_run)


# ---- export ------------------------------------------------------------------------


async def export_devices(tenant: str | None = None) -> tuple[str, int]:
    """The devices of ``tenant`` (all when None) as CSV, sorted by MAC, and their number."""
    query = Device.all().select_related("tenant").order_by("mac")
    if tenant is not None:
        query = query.filter(tenant=await get_tenant(tenant))
    found = await query
    lines: dict[int, dict[int, str]] = {d.id: {} for d in found}
    for chunk in _chunks(list(lines)):
        for line in await DeviceLine.filter(device_id__in=list(chunk)).select_related("user"):
            lines[line.device_id][line.slot] = line.user.extension  # type: ignore[attr-defined]
    rows = (
        [
            d.mac,
            d.model,
            d.tenant.slug,
            lines[d.id].get(1, ""),
            ";".join(f"{slot}={ext}" for slot, ext in sorted(lines[d.id].items()) if slot != 1),
            d.vlan_lan or "",
            d.vlan_pc or "",
            d.expansion_modules,
            d.name,
        ]
        for d in found
    )
    return export_csv(rows), len(found)
