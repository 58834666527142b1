"""IVR menus: an extension of a tenant that the media application answers with a
greeting and keys (provd.domain.ivr has the rules of a caller's session).

A menu shares its tenant's extensions with users and groups. Its greeting and its
notice for a key with no action are sounds of the tenant (:mod:`.sounds`). Admins write
each key as text: ``repeat``, ``hang_up``, ``dial_extension``, ``submenu:EXT`` (another
menu of the tenant, played on by the media application) or a destination
(``user:201``, ``group:600``, ``external:…``, ``scheduled:NAME``, ``menu:EXT``: the
call leaves the menu through routing); ``none`` removes a key. A key is stored as
``{"action": "transfer", "destination": …}``, ``{"action": "submenu", "menu_id": N}``
or ``{"action": "repeat" | "hang_up" | "dial_extension"}``.

Every change is checked whole, with the tenant's other menus, by
:func:`provd.domain.ivr.menu_errors` before anything is saved, and is one transaction
with its audit row (the menu's view before and after). A menu something points at (a
number, a destination, another menu's key) cannot be removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Menu, PhoneNumber, Sound, Tenant
from provd.domain import ivr
from provd.domain.audit_actions import AuditAction
from provd.domain.destinations import MenuDestination
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.tenancy import check_display_name, check_extension
from provd.domain.text import check_printable
from provd.services import audit
from provd.services.destinations import (
    Names,
    references_to,
    refuse_if_used,
    resolve_destination,
)
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import check_free_extension
from provd.services.menus.sounds import get_sound, media_name
from provd.services.platform import Platform

OBJECT = "menu"
MEDIA_OBJECTS = ("menu", "sound")
"""Audit object types whose changes change what :func:`media_menus` gives."""

TRANSFER, SUBMENU = "transfer", "submenu"
REPEAT, HANG_UP, DIAL_EXTENSION = "repeat", "hang_up", "dial_extension"
_STAYING: Mapping[str, ivr.KeyAction] = {
    REPEAT: ivr.Repeat(),
    HANG_UP: ivr.HangUp(),
    DIAL_EXTENSION: ivr.DialByExtension(),
}
KEY_FORMS = "repeat, hang_up, dial_extension, submenu:EXT, a destination (user:EXT, …) or none"
# provd.domain.ivr's attribute names, as this module's fields name them.
_FIELDS = {"timeout_s": "timeout_seconds", "invalid_sound": "invalid_sound"}
_MAX_KEY_TEXT = 80
DEFAULT_TIMEOUT_SECONDS = 5
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_DIAL_LENGTH = 5


async def get_menu(tenant: Tenant, extension: str, *, field: str = "menu") -> Menu:
    try:
        valid = check_extension(extension, field=field)
    except InvalidInput:
        raise NotFound("menu", f"{extension} in tenant {tenant.slug}", field=field) from None
    menu = await Menu.get_or_none(tenant=tenant, extension=valid)
    if menu is None:
        raise NotFound("menu", f"{extension} in tenant {tenant.slug}", field=field)
    return menu


# ---- views -------------------------------------------------------------------------


def _key_view(entry: Mapping[str, Any], names: Names) -> dict[str, Any]:
    action = entry["action"]
    if action == TRANSFER:
        destination = names.view(entry["destination"])
        text = destination["text"] if destination is not None else "none"
        return {"action": action, "destination": destination, "menu": None, "text": text}
    if action == SUBMENU:
        target = names.menus[entry["menu_id"]]
        return {
            "action": action,
            "destination": None,
            "menu": target.extension,
            "text": f"{SUBMENU}:{target.extension}",
        }
    return {"action": action, "destination": None, "menu": None, "text": action}


async def menu_view(menu: Menu, tenant: Tenant, names: Names | None = None) -> dict[str, Any]:
    names = names or await Names.of(tenant)
    sounds = {s.id: s.name for s in await Sound.filter(tenant=tenant)}
    invalid = menu.invalid_sound_id  # type: ignore[attr-defined]
    numbers = PhoneNumber.filter(assigned_menu=menu).order_by("e164")
    return {
        "tenant": tenant.slug,
        "extension": menu.extension,
        "name": menu.name,
        "greeting": sounds[menu.greeting_id],  # type: ignore[attr-defined]
        "invalid_sound": sounds[invalid] if invalid is not None else None,
        "timeout_seconds": menu.timeout_seconds,
        "max_attempts": menu.max_attempts,
        "dial_length": menu.dial_length,
        "default": names.view(menu.default_destination),
        "keys": {key: _key_view(menu.keys[key], names) for key in ivr.KEYS if key in menu.keys},
        "numbers": list(await numbers.values_list("e164", flat=True)),
    }


async def list_menus(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every menu (of one tenant, if named), by tenant and extension."""
    query = Menu.all().select_related("tenant").order_by("tenant__slug", "extension")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    names: dict[int, Names] = {}
    views = []
    for menu in await query:
        tenant = menu.tenant
        if tenant.id not in names:
            names[tenant.id] = await Names.of(tenant)
        views.append(await menu_view(menu, tenant, names[tenant.id]))
    return views


async def show_menu(tenant_slug: str, extension: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return await menu_view(await get_menu(tenant, extension, field="extension"), tenant)


# ---- checking what an admin wrote --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Settings:
    """A menu's settings as they are to be stored (ids resolved)."""

    name: str
    greeting: Sound
    invalid_sound: Sound | None
    timeout_seconds: int
    max_attempts: int
    dial_length: int
    default: dict[str, Any] | None
    keys: dict[str, dict[str, Any]]


async def _resolve_keys(
    tenant: Tenant, keys: Mapping[str, str | None], itself: Menu | None
) -> dict[str, dict[str, Any]]:
    if not isinstance(keys, Mapping):
        raise InvalidInput("keys", "must map keys (0-9, * or #) to what each does")
    stored: dict[str, dict[str, Any]] = {}
    for key, text in keys.items():
        if not ivr.is_key(key):
            raise InvalidInput("keys", f"{key!r} is not a key: 0-9, * or #")
        field = f"keys.{key}"
        if text is None:
            continue
        if not isinstance(text, str):
            raise InvalidInput(field, f"must be text: {KEY_FORMS}")
        check_printable(text, field=field)
        if len(text) > _MAX_KEY_TEXT:
            raise InvalidInput(field, f"must be at most {_MAX_KEY_TEXT} characters")
        cleaned = text.strip()
        word = cleaned.lower()
        if word == "none":
            continue
        if word in _STAYING:
            stored[key] = {"action": word}
            continue
        kind, colon, target = cleaned.partition(":")
        if kind.strip().lower() == SUBMENU:
            if not colon or not target.strip():
                raise InvalidInput(field, f"{text!r} names no menu: use submenu:EXT")
            menu = await get_menu(tenant, target.strip(), field=field)
            stored[key] = {"action": SUBMENU, "menu_id": menu.id}
            continue
        itself_as = MenuDestination(itself.id) if itself is not None else None
        destination = await resolve_destination(tenant, cleaned, field=field, itself=itself_as)
        if destination is None:
            continue
        stored[key] = {"action": TRANSFER, "destination": destination}
    return stored


def _as_ivr(
    extension: str, settings: _Settings, tenant: Tenant, menus_by_id: Mapping[int, str]
) -> ivr.Menu:
    keys: dict[str, ivr.KeyAction] = {}
    for key, entry in settings.keys.items():
        action = entry["action"]
        if action == TRANSFER:
            keys[key] = ivr.Transfer()
        elif action == SUBMENU:
            keys[key] = ivr.Submenu(menus_by_id.get(entry["menu_id"], ""))
        else:
            keys[key] = _STAYING[action]
    invalid = settings.invalid_sound
    return ivr.Menu(
        extension=extension,
        greeting=media_name(tenant, settings.greeting),
        keys=keys,
        timeout_s=settings.timeout_seconds,
        max_attempts=settings.max_attempts,
        invalid_sound=media_name(tenant, invalid) if invalid is not None else None,
        has_default=settings.default is not None,
        dial_length=settings.dial_length,
    )


async def _check_with_others(
    tenant: Tenant, extension: str, settings: _Settings, *, replacing: Menu | None
) -> None:
    """The tenant's menus with this one added or changed, checked whole by ivr's rules;
    the first error on this menu is raised with this module's field names."""
    others = await Menu.filter(tenant=tenant).exclude(
        id=replacing.id if replacing is not None else -1
    )
    by_id = {m.id: m.extension for m in others}
    if replacing is not None:
        by_id[replacing.id] = extension
    stored = {m.extension: await _stored_settings(m) for m in others}
    menus = {ext: _as_ivr(ext, s, tenant, by_id) for ext, s in stored.items()}
    menus[extension] = _as_ivr(extension, settings, tenant, by_id)
    errors = ivr.menu_errors(menus)
    mine = [e for e in errors if e.field and e.field.startswith(f"{extension}.")]
    for error in mine or errors:
        attribute = (error.field or "").removeprefix(f"{extension}.")
        raise InvalidInput(_FIELDS.get(attribute, attribute), error.message)


async def _stored_settings(menu: Menu) -> _Settings:
    await menu.fetch_related("greeting", "invalid_sound")
    return _Settings(
        name=menu.name,
        greeting=menu.greeting,
        invalid_sound=menu.invalid_sound,
        timeout_seconds=menu.timeout_seconds,
        max_attempts=menu.max_attempts,
        dial_length=menu.dial_length,
        default=menu.default_destination,
        keys=dict(menu.keys),
    )


def _whole_number(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"{value!r} is not a whole number")
    return value


# ---- changes -------------------------------------------------------------------------


async def add_menu(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    name: str,
    greeting: str,
    *,
    invalid_sound: str | None = None,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    dial_length: int = DEFAULT_DIAL_LENGTH,
    default: str | None = None,
    keys: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Create a menu at an extension no user, group or menu of the tenant has."""
    name = check_display_name(name)
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        extension = await check_free_extension(tenant, extension)
        settings = _Settings(
            name=name,
            greeting=await get_sound(tenant, greeting, field="greeting"),
            invalid_sound=(
                await get_sound(tenant, invalid_sound, field="invalid_sound")
                if invalid_sound is not None and invalid_sound.strip().lower() != "none"
                else None
            ),
            timeout_seconds=_whole_number(timeout_seconds, "timeout_seconds"),
            max_attempts=_whole_number(max_attempts, "max_attempts"),
            dial_length=_whole_number(dial_length, "dial_length"),
            default=(
                await resolve_destination(tenant, default, field="default")
                if default is not None
                else None
            ),
            keys=await _resolve_keys(tenant, keys or {}, None),
        )
        await _check_with_others(tenant, extension, settings, replacing=None)
        menu = await Menu.create(
            tenant=tenant,
            extension=extension,
            name=settings.name,
            greeting=settings.greeting,
            invalid_sound=settings.invalid_sound,
            timeout_seconds=settings.timeout_seconds,
            max_attempts=settings.max_attempts,
            dial_length=settings.dial_length,
            default_destination=settings.default,
            keys=settings.keys,
        )
        view = await menu_view(menu, tenant)
        await audit.record(
            actor, AuditAction.MENU_ADD, OBJECT, f"{tenant.slug}/{extension}", after=view
        )
    return view


async def update_menu(
    p: Platform,
    actor: audit.Actor,
    tenant_slug: str,
    extension: str,
    *,
    name: str | None = None,
    greeting: str | None = None,
    invalid_sound: str | None = None,
    timeout_seconds: int | None = None,
    max_attempts: int | None = None,
    dial_length: int | None = None,
    default: str | None = None,
    keys: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Change what is given: ``invalid_sound`` and ``default`` ``"none"`` clear them,
    ``keys`` replaces every key. Checked whole before anything is saved."""
    given = (
        name, greeting, invalid_sound, timeout_seconds, max_attempts, dial_length, default, keys
    )  # fmt: skip
    if all(v is None for v in given):
        raise InvalidInput("settings", "nothing to change")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        menu = await get_menu(tenant, extension, field="extension")
        before = await menu_view(menu, tenant)
        now = await _stored_settings(menu)
        invalid = now.invalid_sound
        if invalid_sound is not None:
            invalid = (
                None
                if invalid_sound.strip().lower() == "none"
                else await get_sound(tenant, invalid_sound, field="invalid_sound")
            )
        itself = MenuDestination(menu.id)
        settings = _Settings(
            name=check_display_name(name) if name is not None else now.name,
            greeting=(
                await get_sound(tenant, greeting, field="greeting")
                if greeting is not None
                else now.greeting
            ),
            invalid_sound=invalid,
            timeout_seconds=(
                _whole_number(timeout_seconds, "timeout_seconds")
                if timeout_seconds is not None
                else now.timeout_seconds
            ),
            max_attempts=(
                _whole_number(max_attempts, "max_attempts")
                if max_attempts is not None
                else now.max_attempts
            ),
            dial_length=(
                _whole_number(dial_length, "dial_length")
                if dial_length is not None
                else now.dial_length
            ),
            default=(
                await resolve_destination(tenant, default, field="default", itself=itself)
                if default is not None
                else now.default
            ),
            keys=await _resolve_keys(tenant, keys, menu) if keys is not None else now.keys,
        )
        await _check_with_others(tenant, menu.extension, settings, replacing=menu)
        menu.name = settings.name
        menu.greeting = settings.greeting
        menu.invalid_sound = settings.invalid_sound
        menu.timeout_seconds = settings.timeout_seconds
        menu.max_attempts = settings.max_attempts
        menu.dial_length = settings.dial_length
        menu.default_destination = settings.default
        menu.keys = settings.keys
        await menu.save()
        after = await menu_view(menu, tenant)
        await audit.record(
            actor,
            AuditAction.MENU_SET,
            OBJECT,
            f"{tenant.slug}/{menu.extension}",
            before=before,
            after=after,
        )
    return after


async def remove_menu(p: Platform, actor: audit.Actor, tenant_slug: str, extension: str) -> None:
    """Remove a menu; refused while a number, a destination or another menu's key
    points at it."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        menu = await get_menu(tenant, extension, field="extension")
        uses = [
            use
            for use in await references_to(tenant, MenuDestination(menu.id))
            if not use.startswith(f"menu {menu.extension}'s ")
        ]
        refuse_if_used(f"menu {menu.extension}", uses, field="extension")
        before = await menu_view(menu, tenant)
        await menu.delete()
        await audit.record(
            actor, AuditAction.MENU_REMOVE, OBJECT, f"{tenant.slug}/{menu.extension}", before=before
        )


# ---- what the media application plays ---------------------------------------------------


async def media_menus() -> dict[str, dict[str, ivr.Menu]]:
    """Every tenant's menus as the media application plays them: by the tenant's SIP
    domain, then by extension. Sounds are named ``<tenant slug>/<sound name>``
    (:func:`provd.services.menus.sounds.sound_file` finds the file)."""
    tenants = {t.id: t for t in await Tenant.all()}
    rows = await Menu.all().order_by("extension")
    by_tenant: dict[int, list[Menu]] = {}
    for row in rows:
        by_tenant.setdefault(row.tenant_id, []).append(row)  # type: ignore[attr-defined]
    sounds = {s.id: s for s in await Sound.all()}
    out: dict[str, dict[str, ivr.Menu]] = {}
    for tenant_id, menus in by_tenant.items():
        tenant = tenants[tenant_id]
        by_id = {m.id: m.extension for m in menus}
        played: dict[str, ivr.Menu] = {}
        for menu in menus:
            invalid = menu.invalid_sound_id  # type: ignore[attr-defined]
            settings = _Settings(
                name=menu.name,
                greeting=sounds[menu.greeting_id],  # type: ignore[attr-defined]
                invalid_sound=sounds[invalid] if invalid is not None else None,
                timeout_seconds=menu.timeout_seconds,
                max_attempts=menu.max_attempts,
                dial_length=menu.dial_length,
                default=menu.default_destination,
                keys=dict(menu.keys),
            )
            played[menu.extension] = _as_ivr(menu.extension, settings, tenant, by_id)
        out[tenant.sip_domain] = played
    return out
