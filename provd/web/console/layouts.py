"""The key layout editor: a picture of the phone and its modules, click a key to set it.

One editor per level: ``/console/layouts/platform?model=``,
``/console/layouts/tenant/{tenant}?model=``,
``/console/layouts/user/{tenant}/{extension}?model=`` and
``/console/layouts/device/{mac}``. Keys are links that open the key's form
(server-rendered, so the editor works without JavaScript; ``layouts.js`` opens
it in place). Forms post back to the editor's own path; a refused change is
shown on the key it names and nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from provd.domain.catalogue import PhoneModel
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.keys import TARGETS, KeyFunction, KeyLocation, Level, TargetKind
from provd.domain.mac import parse_mac
from provd.drivers.registry import MODELS, get_model
from provd.services import layouts
from provd.services.directory import tenants
from provd.services.layouts import view as layout_view
from provd.services.layouts.view import LEVEL_NAMES, LayoutEditorView
from provd.web import auth, pages
from provd.web.console import scope
from provd.web.console.helpers import query_flashes

_TARGET_HINTS = {
    TargetKind.NOTHING: "no target",
    TargetKind.OPTIONAL_NUMBER: "a number (optional)",
    TargetKind.NUMBER: "the number to dial",
    TargetKind.EXTENSION: "a user of the tenant",
    TargetKind.LINE_SLOT: "the line number (1 if empty)",
    TargetKind.URL: "an http:// or https:// address",
    TargetKind.DTMF: "the tones to send",
}
FUNCTIONS = [
    (f.value, layout_view.function_name(f), TARGETS[f].value, _TARGET_HINTS[TARGETS[f]])
    for f in KeyFunction
]


def editor_path(scope: layouts.Scope) -> str:
    if scope.level is Level.PLATFORM:
        return "/console/layouts/platform"
    if scope.level is Level.DEVICE and scope.device is not None:
        return f"/console/layouts/device/{scope.device.mac}"
    assert scope.tenant is not None
    slug = quote(scope.tenant.slug, safe="")
    if scope.level is Level.USER and scope.user is not None:
        return f"/console/layouts/user/{slug}/{quote(scope.user.extension, safe='')}"
    return f"/console/layouts/tenant/{slug}"


async def _scope(request: web.Request) -> layouts.Scope:
    """The level the path names; another tenant's is refused as a missing one is."""
    info = request.match_info
    if "mac" in info:
        found = await layouts.resolve_scope(device=info["mac"])
        assert found.tenant is not None and found.device is not None
        if not scope.administers(request, found.tenant.id):
            raise NotFound("device", found.device.mac, field="device")
        return found
    if "tenant" in info:
        await scope.tenant_named(request, info["tenant"])
    if "extension" in info:
        return await layouts.resolve_scope(user=f"{info['tenant']}/{info['extension']}")
    if "tenant" in info:
        return await layouts.resolve_scope(tenant=info["tenant"])
    return await layouts.resolve_scope(platform=True)


def _text(values: Any, name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _model_and_modules(scope: layouts.Scope, values: Any) -> tuple[PhoneModel, int]:
    """The model (a device's own, else asked for or the commonest) and the modules to draw."""
    if scope.device is not None:
        return get_model(scope.device.model), scope.device.expansion_modules
    model_id = _text(values, "model")
    model = get_model(model_id) if model_id else await layout_view.default_model(scope)
    most = model.expansion.max_count if model.expansion else 0
    asked = _text(values, "modules")
    if asked.isdigit():
        return model, min(int(asked), most)
    return model, await layout_view.default_modules(scope, model)


@dataclass
class _Form:
    """The key form as shown: the key being edited and what was typed."""

    key: str = ""
    function: str = ""
    target: str = ""
    label: str = ""
    locked: bool = False
    error: str = ""
    key_errors: dict[str, str] = field(default_factory=dict)
    page_errors: dict[str, str] = field(default_factory=dict)
    general_error: str = ""


def _form_for(view: LayoutEditorView, key: str) -> _Form:
    """The form of a key with what this level sets there (else what it shows)."""
    try:
        location = KeyLocation.parse(key)
    except InvalidInput:
        return _Form(key=key)
    shown = view.key(location)
    spec = None
    if shown is not None:
        spec = shown.own if shown.editable and shown.own is not None else shown.effective
    if spec is None:
        return _Form(key=str(location))
    return _Form(str(location), spec.function.value, spec.target, spec.label, spec.locked)


def _query(model: PhoneModel, modules: int, scope: layouts.Scope, **extra: str) -> str:
    params = {} if scope.device is not None else {"model": model.id, "modules": str(modules)}
    params.update(extra)
    return urlencode(params)


def _active_pages(view: LayoutEditorView, *keys: str) -> dict[int, int]:
    """The page each module shows first: the one holding the key being looked at."""
    active = {m.number: 1 for m in view.module_views}
    exp = view.model.expansion
    for text in keys:
        if not text or exp is None:
            continue
        try:
            location = KeyLocation.parse(text)
        except InvalidInput:
            continue
        if location.module in active and location.index <= exp.keys:
            active[location.module] = (location.index - 1) // exp.keys_per_page + 1
    return active


def _flashes(request: web.Request) -> list[tuple[str, str]]:
    cleared = (
        "Every key and page description of this layout was cleared."
        if request.query.get("cleared") == "all"
        else "Key {} cleared."
    )
    return query_flashes(
        request,
        [
            ("saved", "ok", "Key {} saved."),
            ("cleared", "ok", cleared),
            ("described", "ok", "Page description {} saved."),
            ("nothing", "warn", "Key {} had nothing set at this level."),
        ],
    )


async def _render(
    request: web.Request,
    scope: layouts.Scope,
    model: PhoneModel,
    modules: int,
    form: _Form | None = None,
) -> web.Response:
    """The editor; ``form`` is a refused change to show again, else ``?key=`` opens one."""
    view = await layout_view.editor_view(scope, model, modules)
    if form is None:
        opened = request.query.get("key", "").strip()
        form = _form_for(view, opened) if opened else _Form()
    selected_view = None
    if form.key:
        try:
            selected_view = view.key(KeyLocation.parse(form.key))
        except InvalidInput:
            selected_view = None
    exp = model.expansion
    return pages.render(
        request,
        "console/layouts_editor.html",
        view=view,
        scope=scope,
        model=model,
        modules=modules,
        module_choices=list(range(0, (exp.max_count if exp else 0) + 1)),
        models=MODELS,
        level_name=LEVEL_NAMES[scope.level],
        level_names=LEVEL_NAMES,
        path=editor_path(scope),
        query=_query(model, modules, scope),
        form=form,
        selected=form.key,
        selected_view=selected_view,
        active_pages=_active_pages(view, form.key, request.query.get("saved", "")),
        functions=FUNCTIONS,
        describe=layout_view.describe,
        flashes=_flashes(request),
        half=(model.line_keys + 1) // 2,
    )


def _not_found(request: web.Request, error: NotFound) -> web.Response:
    return pages.render(
        request,
        "console/layouts_missing.html",
        status=404,
        message=str(error),
    )


@auth.tenant_admin_allowed
async def editor(request: web.Request) -> web.StreamResponse:
    try:
        scope = await _scope(request)
    except NotFound as e:
        return _not_found(request, e)
    try:
        model, modules = await _model_and_modules(scope, request.query)
    except InvalidInput as e:
        return await chooser(request, error=e.message)
    return await _render(request, scope, model, modules)


def _target(values: Any) -> str:
    """The picked user for a key that needs an extension, else the typed target."""
    function = _text(values, "function").lower().replace("-", "_")
    picked = _text(values, "target_user")
    try:
        kind = TARGETS[KeyFunction(function)]
    except ValueError:
        kind = None
    if kind is TargetKind.EXTENSION and picked:
        return picked
    return _text(values, "target")


@auth.tenant_admin_allowed
async def change(request: web.Request) -> web.StreamResponse:
    try:
        scope = await _scope(request)
    except NotFound as e:
        return _not_found(request, e)
    values = await request.post()
    try:
        model, modules = await _model_and_modules(scope, values)
    except InvalidInput as e:
        return await chooser(request, error=e.message)
    model_id = None if scope.device is not None else model.id
    action = _text(values, "action")
    key = _text(values, "key")
    form = _Form(
        key=key,
        function=_text(values, "function"),
        target=_target(values),
        label=_text(values, "label"),
        locked=values.get("locked") == "on",
    )
    actor = request[auth.ACTOR]
    done: dict[str, str]
    try:
        if action == "save":
            spec = await layouts.set_key(
                actor,
                scope,
                model_id,
                key,
                form.function,
                target=form.target,
                label=form.label,
                locked=form.locked,
            )
            done = {"saved": str(spec.location)}
            # Draw the module the key went on, or the saved key would not be seen.
            modules = max(modules, spec.location.module)
        elif action == "clear":
            location = str(KeyLocation.parse(key))
            cleared = await layouts.clear_keys(actor, scope, model_id, location)
            done = {"cleared": location} if cleared else {"nothing": location}
        elif action == "page":
            module, page = _text(values, "module"), _text(values, "page")
            if not module.isdigit() or not page.isdigit():
                raise InvalidInput("page", "choose a module and a page")
            await layouts.set_page_label(
                actor, scope, model_id, int(module), int(page), _text(values, "description")
            )
            done = {"described": f"module {module} page {page}"}
        elif action == "clear_all":
            await layouts.clear_keys(actor, scope, model_id)
            done = {"cleared": "all"}
        else:
            raise InvalidInput("action", "unknown action")
    except (InvalidInput, NotFound) as e:
        return await _render(request, scope, model, modules, _refused(form, action, values, e))
    raise web.HTTPSeeOther(f"{editor_path(scope)}?{_query(model, modules, scope, **done)}")


def _refused(form: _Form, action: str, values: Any, error: InvalidInput | NotFound) -> _Form:
    """The form again with the error where it belongs: on the key, the page or on top."""
    if isinstance(error, NotFound):
        message, where = str(error), error.field or ""
    else:
        message, where = error.message, error.field
    if action == "page":
        page = f"{_text(values, 'module')}:{_text(values, 'page')}"
        form.page_errors[page] = message
        return form
    if action in ("save", "clear"):
        if where.startswith("key ") or where == "key":
            form.key_errors[where[4:] if where.startswith("key ") else form.key] = message
            form.error = message
        else:
            form.error = f"{where}: {message}"
        return form
    form.general_error = f"{where}: {message}"
    return form


async def chooser(request: web.Request, *, error: str = "") -> web.Response:
    own = await scope.own_tenant(request)
    return pages.render(
        request,
        "console/layouts.html",
        models=MODELS,
        tenants=await tenants.list_tenants() if own is None else [own],
        summary=await layout_view.layouts_summary(tenant_id=own.id if own else None),
        level_names=LEVEL_NAMES,
        levels=Level,
        flashes=[("error", error)] if error else [],
    )


@auth.tenant_admin_allowed
async def choose(request: web.Request) -> web.StreamResponse:
    """The chooser's forms name a level; the editor for it is a redirect away."""
    q = request.query
    kind, model = q.get("level", ""), q.get("model", "")
    suffix = "?" + urlencode({"model": model}) if model else ""
    tenant = quote(q.get("tenant", "").strip(), safe="")
    if kind == "platform":
        if not scope.principal(request).is_admin:
            return await chooser(request, error="Only platform admins edit the platform default.")
        raise web.HTTPSeeOther("/console/layouts/platform" + suffix)
    if kind == "tenant" and tenant:
        raise web.HTTPSeeOther(f"/console/layouts/tenant/{tenant}{suffix}")
    extension = quote(q.get("extension", "").strip(), safe="")
    if kind == "user" and tenant and extension:
        raise web.HTTPSeeOther(f"/console/layouts/user/{tenant}/{extension}{suffix}")
    if kind == "device" and q.get("mac", "").strip():
        try:
            mac = parse_mac(q["mac"])
        except InvalidInput as e:
            return await chooser(request, error=e.message)
        raise web.HTTPSeeOther(f"/console/layouts/device/{mac}")
    return await chooser(request, error="Choose a level and fill in what it needs.")


@auth.tenant_admin_allowed
async def index(request: web.Request) -> web.StreamResponse:
    return await chooser(request)


# The platform level is the platform admins' alone: its own (unmarked) handlers.
async def platform_editor(request: web.Request) -> web.StreamResponse:
    return await editor(request)


async def platform_change(request: web.Request) -> web.StreamResponse:
    return await change(request)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/layouts", index)
    r.add_get("/console/layouts/open", choose)
    r.add_get("/console/layouts/platform", platform_editor)
    r.add_post("/console/layouts/platform", platform_change)
    for path in (
        "/console/layouts/tenant/{tenant}",
        "/console/layouts/user/{tenant}/{extension}",
        "/console/layouts/device/{mac}",
    ):
        r.add_get(path, editor)
        r.add_post(path, change)
