"""Devices as CSV: import all or nothing with every error by row and column, export
in the same columns so that an export re-imports as a no-op.

Rows are counted as a spreadsheet shows them: the header is row 1, the first
device row 2. A column left out of the file leaves that attribute of existing
devices as it is (new devices get the default); a column present but empty
means empty: no user on line 1 (a spare), no further lines, VLAN inherited,
no expansion module, no name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Device, DeviceLine, Tenant, User
from provd.domain.access import Principal
from provd.domain.catalogue import PhoneModel, get_model
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.mac import Mac, parse_mac, try_parse_mac
from provd.domain.network import INHERIT, parse_vlan
from provd.domain.passwords import generate_password
from provd.domain.tenancy import check_display_name
from provd.services import audit
from provd.services.devices import check_module_count, prov_username_for
from provd.services.platform import Platform
from provd.services.tenants import DEFAULT_TENANT, get_tenant

COLUMNS = (
    "mac",
    "model",
    "tenant",
    "extension",
    "lines",
    "vlan_lan",
    "vlan_pc",
    "expansion_modules",
    "name",
)
REQUIRED = ("mac", "model")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
HEADER_ROW = 1
_CHUNK = 500
# Spreadsheets run a cell that starts with one of these as a formula: exported
# names get a leading apostrophe, which the import takes off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_ITEM = re.compile(r"(\d+)\s*=\s*(\S+)")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRefused(InvalidInput):
    """The file has errors, so nothing was written; ``errors`` lists every one."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        first = errors[0]
        super().__init__(first.column, first.message, row=first.row)
        self.errors = list(errors)


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
class _Refs:
    """The tenant and users a row names: checked even when another cell is wrong."""

    row: int
    tenant: str
    users: dict[int, tuple[str, str]]
    """slot: (extension, the column that names it)"""


@dataclass(slots=True)
class _Row:
    """One device row as the file states it, before anything is looked up."""

    row: int
    mac: Mac
    model: PhoneModel
    tenant: str
    extension: str = ""
    lines: dict[int, str] = field(default_factory=dict)
    vlan_lan: str | None = None
    vlan_pc: str | None = None
    expansion_modules: int = 0
    name: str = ""

    @property
    def refs(self) -> _Refs:
        return _refs(self.row, self.tenant, self.extension, self.lines)


def _refs(row: int, tenant: str, extension: str, lines: dict[int, str]) -> _Refs:
    named = {1: (extension, "extension")} if extension else {}
    return _Refs(row, tenant, named | {slot: (ext, "lines") for slot, ext in lines.items()})


@dataclass(slots=True)
class _Parsed:
    rows: list[_Row]
    """The rows without an error."""
    refs: list[_Refs]
    """What every row (also those with errors) names, for the database checks."""
    columns: set[str]
    errors: list[RowError]


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


def _decode(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise InvalidInput("file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if raw.startswith(b"PK\x03\x04"):
        raise InvalidInput("file", "is a spreadsheet workbook (xlsx, ods): save it as CSV")
    if b"\0" in raw:
        raise InvalidInput("file", "is not text: save it as CSV (UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in the ANSI code page.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InvalidInput("file", "is not text: save it as CSV (UTF-8)") from None
    return text.removeprefix("\ufeff")


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale writes."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            yield row, cells
    except csv.Error as e:
        raise ImportRefused([RowError(row + 1, "file", f"is not valid CSV ({e})")]) from None


def _header(cells: list[str]) -> tuple[list[str], list[RowError]]:
    while cells and not cells[-1].strip():
        cells = cells[:-1]  # a spreadsheet's trailing empty columns
    names = [c.strip().lower().replace(" ", "_").replace("-", "_") for c in cells]
    errors = []
    seen: set[str] = set()
    for given, name in zip(cells, names, strict=True):
        if name not in COLUMNS:
            errors.append(
                RowError(
                    HEADER_ROW,
                    given.strip()[:40] or "(empty)",
                    "is not a known column; the columns are " + ",".join(COLUMNS),
                )
            )
        elif name in seen:
            errors.append(RowError(HEADER_ROW, name, "is given twice"))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            errors.append(RowError(HEADER_ROW, name, "is missing from the header"))
    return names, errors


class _Cells:
    """One record's cells by column, collecting the errors of each."""

    def __init__(self, row: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.row = row
        self.values = values
        self.errors = errors

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))

    def check(self, column: str, rule: Any, *args: Any, **kw: Any) -> Any:
        try:
            return rule(*args, field=column, **kw)
        except InvalidInput as e:
            self.fail(column, e.message)
            return None


def _vlan(cells: _Cells, column: str) -> str | None:
    text = cells.get(column)
    if not text or text.lower() == INHERIT:
        return None
    vlan = cells.check(column, parse_vlan, text)
    return "off" if text.lower() == "off" else str(vlan) if vlan else None


def _slots(cells: _Cells, model: PhoneModel | None) -> dict[int, str]:
    text = cells.get("lines")
    slots: dict[int, str] = {}
    for item in filter(None, re.split(r"[;,\s]+(?=\d+\s*=)", text)):
        match = _LINE_ITEM.fullmatch(item.strip().rstrip(";,"))
        if not match:
            cells.fail("lines", f"{item!r} is not SLOT=EXTENSION (e.g. 2=202;3=203)")
            continue
        slot, ext = int(match.group(1)), match.group(2)
        if slot == 1:
            cells.fail("lines", "line 1 is the extension column; lines holds slots 2 and up")
        elif model is not None and not 2 <= slot <= model.accounts:
            cells.fail("lines", f"the {model.display_name} has lines 1 to {model.accounts}")
        elif slot in slots:
            cells.fail("lines", f"line {slot} is given twice")
        else:
            slots[slot] = ext
    return slots


def _parse_row(cells: _Cells, default_tenant: str) -> _Row | _Refs:
    """The row, or what it names when any of its cells is wrong (the errors are on
    ``cells``)."""
    before = len(cells.errors)
    mac = cells.check("mac", parse_mac, cells.get("mac")) if cells.get("mac") else None
    if mac is None and not cells.get("mac"):
        cells.fail("mac", "is required")
    model = cells.check("model", get_model, cells.get("model")) if cells.get("model") else None
    if model is None and not cells.get("model"):
        cells.fail("model", "is required: a model id such as yealink-t46g")
    tenant = cells.get("tenant").lower() or default_tenant
    extension = cells.get("extension")
    lines = _slots(cells, model)
    if extension and extension in lines.values():
        cells.fail("lines", f"user {extension} is already on line 1")
    taken: dict[str, int] = {}
    for slot, ext in sorted(lines.items()):
        if ext in taken:
            cells.fail("lines", f"user {ext} is on line {taken[ext]} and line {slot}")
        taken[ext] = slot
    modules_text = cells.get("expansion_modules") or "0"
    modules = 0
    if not modules_text.isdigit():
        cells.fail("expansion_modules", f"{modules_text!r} is not a number")
    elif model is not None:
        modules = cells.check("expansion_modules", check_module_count, int(modules_text), model.id)
    name = cells.get("name")
    if name[:1] == "'" and name[1:2] in _FORMULA_START:
        name = name[1:]
    if name:
        name = cells.check("name", check_display_name, name) or ""
    vlan_lan, vlan_pc = _vlan(cells, "vlan_lan"), _vlan(cells, "vlan_pc")
    if len(cells.errors) > before or mac is None or model is None:
        return _refs(cells.row, tenant, extension, lines)
    return _Row(
        cells.row, mac, model, tenant, extension, lines, vlan_lan, vlan_pc, modules or 0, name
    )


def _parse(data: bytes | str, *, tenant: str | None = None) -> _Parsed:
    """The rows, and the errors of those that are wrong. A file that cannot be read
    as rows at all (no header, too big) raises."""
    text = _decode(data)
    records = iter(_records(text))
    first = next(records, None)
    if first is None or not any(c.strip() for c in first[1]):
        raise ImportRefused(
            [RowError(HEADER_ROW, "file", "the first row must be the header: " + ",".join(COLUMNS))]
        )
    names, errors = _header(first[1])
    if errors:
        raise ImportRefused(errors)
    rows: list[_Row] = []
    refs: list[_Refs] = []
    first_row_of: dict[Mac, int] = {}
    count = 0
    for row, values in records:
        if not any(v.strip() for v in values):
            continue  # spreadsheets write blank lines (";;;;") after the data
        count += 1
        if count > MAX_ROWS:
            raise ImportRefused([RowError(row, "file", f"has more than {MAX_ROWS} devices")])
        if any(v.strip() for v in values[len(names) :]):
            errors.append(
                RowError(row, "file", f"has {len(values)} cells, the header {len(names)}")
            )
            continue
        cells = _Cells(row, dict(zip(names, values, strict=False)), errors)
        mac = try_parse_mac(cells.get("mac"))
        if mac is not None and mac in first_row_of:
            cells.fail("mac", f"{mac} is also on row {first_row_of[mac]}")
        elif mac is not None:
            first_row_of[mac] = row
        parsed = _parse_row(cells, tenant or DEFAULT_TENANT)
        if isinstance(parsed, _Row):
            rows.append(parsed)
            refs.append(parsed.refs)
        else:
            refs.append(parsed)
    return _Parsed(rows, refs, set(names), errors)


# ---- checking against the database and writing ----------------------------------------


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def _tenants(refs: list[_Refs]) -> dict[str, Tenant]:
    slugs = sorted({r.tenant for r in refs})
    return {t.slug: t for t in await Tenant.filter(slug__in=slugs)} if slugs else {}


async def _users(refs: list[_Refs], tenants: dict[str, Tenant]) -> dict[tuple[int, str], User]:
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


async def _existing(rows: list[_Row]) -> tuple[dict[str, Device], dict[int, dict[int, User]]]:
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
    r: _Row,
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
    row: _Row
    tenant: Tenant
    wanted: _Wanted
    device: Device | None
    now: _Wanted | None
    changed: bool


def _resolve(
    ref: _Refs,
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


async def _plan(parsed: _Parsed, scope: str | None) -> list[_Plan]:
    """What to do for each row, after checking it against the database; the errors
    found are added to ``parsed.errors``."""
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
    await audit.record(actor, "device.add", "device", r.mac, after=_audit_view(plan, w))


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
        "device.import",
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
) -> ImportResult:
    """Add or update every device of the file, or nothing (:class:`ImportRefused`).

    ``tenant`` confines the import: empty cells mean it and a row naming another
    tenant is an error. Without it empty cells mean the default tenant.
    """
    if tenant is not None:
        tenant = (await get_tenant(tenant)).slug
    parsed = _parse(data, tenant=tenant)

    async def checked() -> list[_Plan]:
        plans = await _plan(parsed, tenant)
        if parsed.errors:
            raise ImportRefused(sorted(parsed.errors, key=lambda e: e.row))
        return plans

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


def _cell_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for d in found:
        slots = lines[d.id]
        writer.writerow(
            [
                d.mac,
                d.model,
                d.tenant.slug,
                slots.get(1, ""),
                ";".join(f"{slot}={ext}" for slot, ext in sorted(slots.items()) if slot != 1),
                d.vlan_lan or "",
                d.vlan_pc or "",
                d.expansion_modules,
                _cell_text(d.name),
            ]
        )
    return out.getvalue(), len(found)
