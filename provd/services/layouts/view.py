"""The key layout of one level as an editor shows it: every key location of the model
and its modules, what this level sets there, what the levels below it give, and
which keys a lower level locked.

Reads only; changes go through :mod:`provd.services.layouts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.queryset import QuerySet

from provd.db.models import Device, DeviceLine, KeySetting, PageLabel, Tenant, User
from provd.domain.catalogue import PhoneModel
from provd.domain.keys import (
    TARGETS,
    KeyFunction,
    KeyLocation,
    KeySpec,
    LayoutLevel,
    Level,
    TargetKind,
    default_line_keys,
    locked_by_earlier,
    merge,
)
from provd.drivers.registry import MODELS, get_model
from provd.services.layouts import Scope, keys_by_level, owners_above

LEVEL_NAMES = {
    Level.PLATFORM: "platform default",
    Level.TENANT: "tenant default",
    Level.USER: "user layout",
    Level.DEVICE: "device override",
}

_FUNCTION_NAMES = {
    KeyFunction.LINE: "Line",
    KeyFunction.BLF: "BLF",
    KeyFunction.SPEED_DIAL: "Speed dial",
    KeyFunction.PARK: "Park",
    KeyFunction.PICKUP: "Pickup",
    KeyFunction.GROUP_PICKUP: "Group pickup",
    KeyFunction.DND: "DND",
    KeyFunction.TRANSFER: "Transfer",
    KeyFunction.FORWARD: "Forward",
    KeyFunction.VOICEMAIL: "Voicemail",
    KeyFunction.INTERCOM: "Intercom",
    KeyFunction.URL: "URL",
    KeyFunction.DTMF: "DTMF",
    KeyFunction.NONE: "Unused",
}


def function_name(function: KeyFunction) -> str:
    return _FUNCTION_NAMES[function]


def describe(spec: KeySpec, users: Mapping[str, str] | None = None) -> str:
    """What the key shows an admin: its label, or what it does."""
    if spec.label:
        return spec.label
    name = _FUNCTION_NAMES[spec.function]
    if not spec.target:
        return name
    if TARGETS[spec.function] is TargetKind.EXTENSION and users and spec.target in users:
        return f"{name} {spec.target} {users[spec.target]}"
    return f"{name} {spec.target}"


@dataclass(frozen=True, slots=True)
class KeyView:
    location: KeyLocation
    own: KeySpec | None
    """What this level sets at the location."""
    below: KeySpec | None
    """What the levels under this one give (the phone's default line keys last)."""
    below_from: str
    """Where ``below`` comes from: a level name, or "phone default"."""
    locked_by: Level | None
    """A lower level locked the key: it cannot be set at this level."""

    @property
    def effective(self) -> KeySpec | None:
        if self.locked_by is not None:
            return self.below
        return self.own or self.below

    @property
    def source(self) -> str:
        """ "here", a level name, "phone default", or "" for a key nothing sets."""
        if self.own is not None and self.locked_by is None:
            return "here"
        return self.below_from if self.below is not None else ""

    @property
    def editable(self) -> bool:
        return self.locked_by is None


@dataclass(frozen=True, slots=True)
class PageView:
    module: int
    page: int
    keys: tuple[KeyView, ...]
    own_description: str
    below_description: str
    below_from: str

    @property
    def description(self) -> str:
        return self.own_description or self.below_description


@dataclass(frozen=True, slots=True)
class ModuleView:
    number: int
    name: str
    pages: tuple[PageView, ...]


@dataclass(frozen=True, slots=True)
class LayoutEditorView:
    scope: Scope
    model: PhoneModel
    modules: int
    """How many modules are drawn (a device's own count, else the admin's choice)."""
    own_keys: tuple[KeyView, ...]
    module_views: tuple[ModuleView, ...]
    users: dict[str, str]
    """The tenant's users by extension (BLF and intercom targets); empty for the platform."""

    def key(self, location: KeyLocation) -> KeyView | None:
        if location.module == 0:
            keys = self.own_keys
        else:
            keys = tuple(
                k
                for m in self.module_views
                if m.number == location.module
                for p in m.pages
                for k in p.keys
            )
        return next((k for k in keys if k.location == location), None)

    @property
    def may_lock(self) -> bool:
        return self.scope.level <= Level.TENANT


async def _owners(scope: Scope) -> dict[str, Level]:
    """This level's owner and the owners stacked under it."""
    owners = {owner: level for level, owner in await owners_above(scope)}
    owners[scope.owner] = scope.level
    return owners


async def _device_query(scope: Scope) -> QuerySet[Device]:
    """The devices this level's layout reaches, of any model."""
    if scope.device is not None:
        return Device.filter(id=scope.device.id)
    query = Device.all()
    if scope.level is Level.TENANT and scope.tenant is not None:
        query = query.filter(tenant_id=scope.tenant.id)
    if scope.level is Level.USER and scope.user is not None:
        ids = await DeviceLine.filter(user_id=scope.user.id, slot=1).values_list(
            "device_id", flat=True
        )
        query = query.filter(id__in=list(ids))
    return query


async def default_modules(scope: Scope, model: PhoneModel) -> int:
    """The most modules any device reached by this level has, at least the highest
    module something is set on; what the editor draws unless asked otherwise."""
    if scope.device is not None:
        return scope.device.expansion_modules
    exp = model.expansion
    if exp is None:
        return 0
    owners = await _owners(scope)
    used = [
        KeyLocation.parse(row.location).module
        for row in await KeySetting.filter(owner__in=list(owners), model=model.id)
    ]
    used += [
        label.module for label in await PageLabel.filter(owner__in=list(owners), model=model.id)
    ]
    query = (await _device_query(scope)).filter(model=model.id)
    most = await query.order_by("-expansion_modules").first()
    attached = most.expansion_modules if most is not None else 0
    return int(min(max([attached, *used]), exp.max_count))


async def editor_view(scope: Scope, model: PhoneModel, modules: int) -> LayoutEditorView:
    owners = await _owners(scope)
    by_level = await keys_by_level(owners, model)
    own = by_level.pop(scope.level)
    below_levels = [LayoutLevel(level, keys) for level, keys in by_level.items()]
    below = merge(below_levels)
    locked = locked_by_earlier(below_levels, scope.level)
    defaults: dict[KeyLocation, KeySpec] = {}
    if scope.device is not None:
        lines = await DeviceLine.filter(device_id=scope.device.id).count()
        defaults = default_line_keys(model, lines)

    def key(location: KeyLocation) -> KeyView:
        found = below.get(location)
        if found is not None:
            spec, level = found
            return KeyView(
                location, own.get(location), spec, LEVEL_NAMES[level], locked.get(location)
            )
        default = defaults.get(location)
        return KeyView(
            location, own.get(location), default, "phone default" if default else "", None
        )

    labels = await PageLabel.filter(owner__in=list(owners), model=model.id)
    own_pages: dict[tuple[int, int], str] = {}
    below_pages: dict[tuple[int, int], tuple[str, Level]] = {}
    for label in sorted(labels, key=lambda lb: owners[lb.owner]):
        where = (label.module, label.page)
        if owners[label.owner] is scope.level:
            own_pages[where] = label.text
        else:
            below_pages[where] = (label.text, owners[label.owner])

    module_views = []
    exp = model.expansion
    if exp is not None:
        for m in range(1, modules + 1):
            pages = []
            for page in range(1, exp.pages + 1):
                first = (page - 1) * exp.keys_per_page + 1
                below_text, below_level = below_pages.get((m, page), ("", None))
                pages.append(
                    PageView(
                        m,
                        page,
                        tuple(
                            key(KeyLocation(m, n)) for n in range(first, first + exp.keys_per_page)
                        ),
                        own_pages.get((m, page), ""),
                        below_text,
                        LEVEL_NAMES[below_level] if below_level is not None else "",
                    )
                )
            module_views.append(ModuleView(m, exp.name, tuple(pages)))
    users: dict[str, str] = {}
    if scope.tenant is not None and scope.level is not Level.PLATFORM:
        tenant_users = await User.filter(tenant_id=scope.tenant.id).order_by("extension")
        users = {u.extension: u.display_name for u in tenant_users}
    return LayoutEditorView(
        scope,
        model,
        modules,
        tuple(key(KeyLocation(0, n)) for n in range(1, model.line_keys + 1)),
        tuple(module_views),
        users,
    )


async def default_model(scope: Scope) -> PhoneModel:
    """The model most of this level's devices are, for an editor opened without one."""
    if scope.device is not None:
        return get_model(scope.device.model)
    found: dict[str, int] = {}
    for model_id in (
        await (await _device_query(scope)).limit(10_000).values_list("model", flat=True)
    ):
        found[str(model_id)] = found.get(str(model_id), 0) + 1
    known = [m for m in MODELS if m.id in found]
    return max(known, key=lambda m: found[m.id]) if known else MODELS[0]


@dataclass(frozen=True, slots=True)
class LayoutSummary:
    """A level that sets keys for a model, as the chooser lists it."""

    level: Level
    model: str
    keys: int
    tenant: str = ""
    extension: str = ""
    mac: str = ""


async def layouts_summary(limit: int = 200, *, tenant_id: int | None = None) -> list[LayoutSummary]:
    """Every (owner, model) with keys set, by level then owner; at most ``limit``.

    ``tenant_id``: only that tenant's levels (its default, its users', its devices').
    """
    counts: dict[tuple[str, str], int] = {}
    for owner, model in await KeySetting.all().values_list("owner", "model"):
        counts[(owner, model)] = counts.get((owner, model), 0) + 1
    ids: dict[str, set[int]] = {"tenant": set(), "user": set(), "device": set()}
    for owner, _ in counts:
        kind, _, number = owner.partition(":")
        if kind in ids:
            ids[kind].add(int(number))
    only = {} if tenant_id is None else {"tenant_id": tenant_id}
    tenant_query = Tenant.filter(id__in=list(ids["tenant"]))
    if tenant_id is not None:
        tenant_query = tenant_query.filter(id=tenant_id)
    tenants = {t.id: t.slug for t in await tenant_query}
    users = {
        u.id: (u.tenant.slug, u.extension)
        for u in await User.filter(id__in=list(ids["user"]), **only).select_related("tenant")
    }
    devices = {d.id: d.mac for d in await Device.filter(id__in=list(ids["device"]), **only)}
    out = []
    for (owner, model), keys in counts.items():
        kind, _, number = owner.partition(":")
        if kind == "platform" and tenant_id is None:
            out.append(LayoutSummary(Level.PLATFORM, model, keys))
        elif kind == "tenant" and int(number) in tenants:
            out.append(LayoutSummary(Level.TENANT, model, keys, tenant=tenants[int(number)]))
        elif kind == "user" and int(number) in users:
            slug, ext = users[int(number)]
            out.append(LayoutSummary(Level.USER, model, keys, tenant=slug, extension=ext))
        elif kind == "device" and int(number) in devices:
            out.append(LayoutSummary(Level.DEVICE, model, keys, mac=devices[int(number)]))
    out.sort(key=lambda s: (s.level, s.tenant, s.extension, s.mac, s.model))
    return out[:limit]
