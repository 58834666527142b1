"""Key layouts at every level, and the effective layout of a device.

A layout belongs to an owner (the platform, a tenant, a user or a device) and
a phone model. The effective layout of a device stacks platform, tenant, the
layout of the user on its first line (which follows that user from phone to
phone) and the device's own override.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Device, DeviceLine, KeySetting, PageLabel, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.catalogue import PhoneModel
from provd.domain.errors import InvalidInput
from provd.domain.keys import (
    TARGETS,
    KeyFunction,
    KeyLocation,
    KeySpec,
    LayoutLevel,
    Level,
    TargetKind,
    check_location,
    check_spec,
    locked_by_earlier,
    merge,
    parse_function,
)
from provd.domain.text import check_printable
from provd.drivers.registry import get_model
from provd.services import audit
from provd.services.devices import device_model, get_device
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user

_LEVEL_NAMES = {
    Level.PLATFORM: "the platform default",
    Level.TENANT: "the tenant default",
    Level.USER: "the user's layout",
    Level.DEVICE: "the device override",
}
MAX_PAGE_LABEL = 64


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose layout: exactly one of platform, tenant, user or device."""

    level: Level
    owner: str
    label: str
    tenant: Tenant | None = None
    user: User | None = None
    device: Device | None = None

    def row_fields(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "level": int(self.level),
            "tenant": self.tenant if self.level is Level.TENANT else None,
            "user": self.user if self.level is Level.USER else None,
            "device": self.device if self.level is Level.DEVICE else None,
        }


async def resolve_scope(
    *,
    platform: bool = False,
    tenant: str | None = None,
    user: str | None = None,
    device: str | None = None,
) -> Scope:
    """``user`` is ``EXT`` (in ``tenant``, default "default") or ``TENANT/EXT``."""
    chosen = [name for name, v in (("platform", platform), ("user", user), ("device", device)) if v]
    if tenant and not user:
        chosen.append("tenant")
    if len(chosen) != 1:
        raise InvalidInput(
            "scope", "choose exactly one of --platform, --tenant, --user or --device"
        )
    if platform:
        return Scope(Level.PLATFORM, "platform", "platform")
    if device:
        d = await get_device(device, field="device")
        await d.fetch_related("tenant")
        return Scope(Level.DEVICE, f"device:{d.id}", f"device {d.mac}", tenant=d.tenant, device=d)
    if user:
        tenant_slug, _, ext = user.rpartition("/")
        t = await get_tenant(tenant_slug or tenant or "default")
        u = await get_user(t, ext, field="user")
        return Scope(Level.USER, f"user:{u.id}", f"user {t.slug}/{u.extension}", tenant=t, user=u)
    assert tenant is not None
    t = await get_tenant(tenant)
    return Scope(Level.TENANT, f"tenant:{t.id}", f"tenant {t.slug}", tenant=t)


def _model_for(scope: Scope, model_id: str | None) -> PhoneModel:
    return device_model(scope.device, model_id, missing="is required")


def _modules_for(scope: Scope, model: PhoneModel) -> int:
    """Keys may sit on the modules a device has, or on any module the model takes."""
    if scope.device is not None:
        return scope.device.expansion_modules
    return model.expansion.max_count if model.expansion else 0


async def owners_above(scope: Scope) -> list[tuple[Level, str]]:
    """The owners whose layouts stack under ``scope``'s."""
    owners = [(Level.PLATFORM, "platform")]
    if scope.tenant is not None and scope.level > Level.TENANT:
        owners.append((Level.TENANT, f"tenant:{scope.tenant.id}"))
    if scope.level is Level.DEVICE and scope.device is not None:
        first = await DeviceLine.get_or_none(device=scope.device, slot=1)
        if first is not None:
            owners.append((Level.USER, f"user:{first.user_id}"))  # type: ignore[attr-defined]
    return owners


async def _level(level: Level, owner: str, model: PhoneModel) -> LayoutLevel:
    rows = await KeySetting.filter(owner=owner, model=model.id)
    return LayoutLevel(level, {KeyLocation.parse(r.location): spec_of(r) for r in rows})


def spec_of(row: KeySetting) -> KeySpec:
    """A stored key as the domain sees it."""
    return stored_spec(row.location, row.function, row.target, row.label, row.locked)


def stored_spec(location: str, function: str, target: str, label: str, locked: bool) -> KeySpec:
    """A key from its stored columns (the phone path reads them without the ORM)."""
    return KeySpec(KeyLocation.parse(location), KeyFunction(function), target, label, locked)


async def keys_by_level(
    owners: dict[str, Level], model: PhoneModel
) -> dict[Level, dict[KeyLocation, KeySpec]]:
    """What each of ``owners`` sets for ``model``, in one query, in ``owners``' order."""
    rows = await KeySetting.filter(owner__in=list(owners), model=model.id)
    by_level: dict[Level, dict[KeyLocation, KeySpec]] = {level: {} for level in owners.values()}
    for row in rows:
        by_level[owners[row.owner]][KeyLocation.parse(row.location)] = spec_of(row)
    return by_level


async def _extensions(tenant: Tenant | None) -> dict[str, User]:
    if tenant is None:
        return {}
    return {u.extension: u for u in await User.filter(tenant=tenant)}


async def _check(
    scope: Scope, model: PhoneModel, specs: Sequence[KeySpec]
) -> tuple[list[KeySpec], dict[str, User]]:
    """Validate keys for a scope; raises naming the first bad key."""
    if scope.level > Level.TENANT and any(s.locked for s in specs):
        raise InvalidInput("locked", "only the platform and tenant defaults can lock keys")
    users = await _extensions(scope.tenant)
    above = [await _level(level, owner, model) for level, owner in await owners_above(scope)]
    locked = locked_by_earlier(above, scope.level)
    modules = _modules_for(scope, model)
    cleaned = []
    for spec in specs:
        field = f"key {spec.location}"
        if spec.location in locked:
            raise InvalidInput(field, f"is locked by {_LEVEL_NAMES[locked[spec.location]]}")
        if scope.level is Level.PLATFORM and TARGETS[spec.function] is TargetKind.EXTENSION:
            raise InvalidInput(field, "a platform default cannot point at a tenant's user")
        cleaned.append(check_spec(spec, model, modules, extensions=users))
    return cleaned, users


async def set_key(
    actor: audit.Actor,
    scope: Scope,
    model_id: str | None,
    location: str,
    function: str,
    *,
    target: str = "",
    label: str = "",
    locked: bool = False,
) -> KeySpec:
    model = _model_for(scope, model_id)
    spec = KeySpec(KeyLocation.parse(location), parse_function(function), target, label, locked)
    async with in_transaction():
        [spec], users = await _check(scope, model, [spec])
        row = await KeySetting.get_or_none(
            owner=scope.owner, model=model.id, location=str(spec.location)
        )
        before = _row_view(row) if row else None
        target_user = (
            users.get(spec.target) if TARGETS[spec.function] is TargetKind.EXTENSION else None
        )
        if row is None:
            row = KeySetting(**scope.row_fields(), model=model.id, location=str(spec.location))
        row.function = spec.function.value
        row.target = spec.target
        row.target_user = target_user
        row.label = spec.label
        row.locked = spec.locked
        await row.save()
        await audit.record(
            actor,
            AuditAction.KEYS_SET,
            "layout",
            f"{scope.label} {model.id} {spec.location}",
            before=before,
            after=_row_view(row),
        )
    return spec


def _row_view(row: KeySetting) -> dict[str, Any]:
    return {
        "key": row.location,
        "function": row.function,
        "target": row.target,
        "label": row.label,
        "locked": row.locked,
    }


async def clear_keys(
    actor: audit.Actor, scope: Scope, model_id: str | None, location: str | None = None
) -> int:
    model = _model_for(scope, model_id)
    async with in_transaction():
        query = KeySetting.filter(owner=scope.owner, model=model.id)
        if location is not None:
            query = query.filter(location=str(KeyLocation.parse(location)))
        rows = await query
        before = [_row_view(r) for r in rows]
        for r in rows:
            await r.delete()
        if location is None:
            await PageLabel.filter(owner=scope.owner, model=model.id).delete()
        if rows or location is None:
            await audit.record(
                actor,
                AuditAction.KEYS_CLEAR,
                "layout",
                f"{scope.label} {model.id} {location or 'all'}",
                before={"keys": before},
            )
    return len(rows)


async def set_page_label(
    actor: audit.Actor, scope: Scope, model_id: str | None, module: int, page: int, text: str
) -> None:
    model = _model_for(scope, model_id)
    field = f"page exp:{module} page {page}"
    exp = model.expansion
    if exp is None:
        raise InvalidInput(field, f"the {model.display_name} takes no expansion module")
    check_location(KeyLocation(module, 1), model, _modules_for(scope, model), field=field)
    if not 1 <= page <= exp.pages:
        raise InvalidInput(field, f"an {exp.name} module has {exp.pages} page(s)")
    text = check_printable(text.strip(), field=field, what="the description")
    if len(text) > MAX_PAGE_LABEL:
        raise InvalidInput(field, f"a description is at most {MAX_PAGE_LABEL} characters")
    async with in_transaction():
        row = await PageLabel.get_or_none(
            owner=scope.owner, model=model.id, module=module, page=page
        )
        before = {"description": row.text} if row else None
        if not text:
            if row is not None:
                await row.delete()
        elif row is None:
            await PageLabel.create(
                **scope.row_fields(), model=model.id, module=module, page=page, text=text
            )
        else:
            row.text = text
            await row.save()
        await audit.record(
            actor,
            AuditAction.KEYS_PAGE,
            "layout",
            f"{scope.label} {model.id} exp:{module} page {page}",
            before=before,
            after={"description": text} if text else None,
        )


async def export_layout(scope: Scope, model_id: str | None) -> dict[str, Any]:
    """The scope's own layout as JSON; :func:`import_layout` takes it back as it is."""
    model = _model_for(scope, model_id)
    rows = await KeySetting.filter(owner=scope.owner, model=model.id)
    pages = await PageLabel.filter(owner=scope.owner, model=model.id).order_by("module", "page")
    return {
        "model": model.id,
        "keys": [_row_view(r) for r in sorted(rows, key=lambda r: KeyLocation.parse(r.location))],
        "pages": [{"module": p.module, "page": p.page, "description": p.text} for p in pages],
    }


def _spec_from_json(entry: Any, row: int) -> KeySpec:
    if not isinstance(entry, dict):
        raise InvalidInput("keys", "each key must be an object", row=row)
    unknown = set(entry) - {"key", "function", "target", "label", "locked"}
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "is not a known field", row=row)
    try:
        for name in ("key", "function"):
            if not isinstance(entry.get(name), str):
                raise InvalidInput(name, "is required (a string)")
        for name in ("target", "label"):
            if not isinstance(entry.get(name, ""), str):
                raise InvalidInput(name, "must be a string")
        if not isinstance(entry.get("locked", False), bool):
            raise InvalidInput("locked", "must be true or false")
        return KeySpec(
            KeyLocation.parse(entry["key"]),
            parse_function(entry["function"]),
            entry.get("target", ""),
            entry.get("label", ""),
            entry.get("locked", False),
        )
    except InvalidInput as e:
        raise InvalidInput(e.field, e.message, row=row) from None


async def import_layout(actor: audit.Actor, scope: Scope, data: Any) -> int:
    """Replace the scope's layout with ``data``, all or nothing; errors name the key's row."""
    if not isinstance(data, dict):
        raise InvalidInput("layout", "must be a JSON object with model, keys and pages")
    model_id = data.get("model")
    if model_id is not None and not isinstance(model_id, str):
        raise InvalidInput("model", "must be a string")
    model = _model_for(scope, model_id)
    entries, pages = data.get("keys", []), data.get("pages", [])
    if not isinstance(entries, list) or not isinstance(pages, list):
        raise InvalidInput("layout", "keys and pages must be lists")
    specs = [_spec_from_json(e, i) for i, e in enumerate(entries, start=1)]
    seen: set[KeyLocation] = set()
    for i, spec in enumerate(specs, start=1):
        if spec.location in seen:
            raise InvalidInput("key", f"{spec.location} is given twice", row=i)
        seen.add(spec.location)
    async with in_transaction():
        try:
            cleaned, users = await _check(scope, model, specs)
        except InvalidInput as e:
            bad = next(
                i
                for i, s in enumerate(specs, start=1)
                if e.field in (f"key {s.location}", "locked")
            )
            raise InvalidInput(e.field, e.message, row=bad) from None
        await clear_keys(actor, scope, model.id)
        for spec in cleaned:
            await KeySetting.create(
                **scope.row_fields(),
                model=model.id,
                location=str(spec.location),
                function=spec.function.value,
                target=spec.target,
                target_user=users.get(spec.target)
                if TARGETS[spec.function] is TargetKind.EXTENSION
                else None,
                label=spec.label,
                locked=spec.locked,
            )
        for i, page in enumerate(pages, start=1):
            if not isinstance(page, dict) or not all(
                isinstance(page.get(k), t)
                for k, t in (("module", int), ("page", int), ("description", str))
            ):
                raise InvalidInput("pages", "needs module, page (numbers) and description", row=i)
            try:
                await set_page_label(
                    actor, scope, model.id, page["module"], page["page"], page["description"]
                )
            except InvalidInput as e:
                raise InvalidInput(e.field, e.message, row=i) from None
        await audit.record(
            actor,
            AuditAction.KEYS_IMPORT,
            "layout",
            f"{scope.label} {model.id}",
            after={"keys": len(cleaned), "pages": len(pages)},
        )
    return len(cleaned)


@dataclass(frozen=True, slots=True)
class EffectiveKey:
    spec: KeySpec
    level: Level


async def effective_layout(
    device: Device, tenant: Tenant, first_user_id: int | None
) -> tuple[dict[KeyLocation, EffectiveKey], dict[tuple[int, int], str]]:
    """What the device's keys do after stacking every level, and its page descriptions.

    ``first_user_id`` is the user on line 1, whose personal layout applies. Keys
    on modules the device does not have are left out. Two queries in all: this
    runs on every phone request.
    """
    model = get_model(device.model)
    owners = layout_owners(tenant.id, first_user_id, device.id)
    by_level = await keys_by_level(owners, model)
    labels = await PageLabel.filter(owner__in=list(owners), model=model.id)
    return stack_layout(
        by_level,
        [(owners[lb.owner], lb.module, lb.page, lb.text) for lb in labels],
        device.expansion_modules,
    )


def layout_owners(tenant_id: int, first_user_id: int | None, device_id: int) -> dict[str, Level]:
    """The owners whose layouts stack into a device's, in stacking order."""
    owners = {"platform": Level.PLATFORM, f"tenant:{tenant_id}": Level.TENANT}
    if first_user_id is not None:
        owners[f"user:{first_user_id}"] = Level.USER
    owners[f"device:{device_id}"] = Level.DEVICE
    return owners


def stack_layout(
    by_level: dict[Level, dict[KeyLocation, KeySpec]],
    labels: Sequence[tuple[Level, int, int, str]],
    modules: int,
) -> tuple[dict[KeyLocation, EffectiveKey], dict[tuple[int, int], str]]:
    """The effective keys and page descriptions of a device with ``modules`` expansion
    modules, from what each level sets and the (level, module, page, text) labels."""
    merged = merge(LayoutLevel(level, keys) for level, keys in by_level.items())
    keys = {
        loc: EffectiveKey(spec, level)
        for loc, (spec, level) in merged.items()
        if loc.module <= modules
    }
    pages: dict[tuple[int, int], str] = {}
    for _, module, page, text in sorted(labels, key=lambda label: label[0]):
        if module <= modules:
            pages[(module, page)] = text
    return keys, pages


_LEVEL_SHORT = {
    Level.PLATFORM: "platform",
    Level.TENANT: "tenant",
    Level.USER: "user",
    Level.DEVICE: "device",
}


async def effective_keys_view(device: Device) -> list[dict[str, Any]]:
    """The keys a device's phone shows, each with the level it comes from."""
    tenant = await Tenant.get(id=device.tenant_id)  # type: ignore[attr-defined]
    first = await DeviceLine.get_or_none(device=device, slot=1)
    first_user = first.user_id if first else None  # type: ignore[attr-defined]
    layout, _ = await effective_layout(device, tenant, first_user)
    return [
        {
            "key": str(loc),
            "function": eff.spec.function.value,
            "target": eff.spec.target,
            "label": eff.spec.label,
            "locked": eff.spec.locked,
            "from": _LEVEL_SHORT[eff.level],
        }
        for loc, eff in sorted(layout.items())
    ]
