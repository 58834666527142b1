"""The layout editor's view of one level: what is set here, what comes from below,
what a lower level locked, page descriptions, and the defaults it opens with."""

from __future__ import annotations

from provd.domain.keys import KeyLocation, Level
from provd.drivers.registry import get_model
from provd.services import devices, layouts
from provd.services.directory import users
from provd.services.layouts import view as layout_view
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

T46G = get_model("yealink-t46g")
MAC = "0015654aa937"


async def _setup(p: Platform) -> None:
    for ext, name in (("201", "Anna"), ("202", "Bram")):
        await users.add_user(p, TEST_ACTOR, "default", ext, name)
    await devices.add_device(p, TEST_ACTOR, MAC, T46G.id, users=["201"])
    await devices.update_device(TEST_ACTOR, MAC, expansion_modules=2)


async def test_each_key_says_where_it_comes_from_and_what_is_locked(platform: Platform) -> None:
    await _setup(platform)
    tenant = await layouts.resolve_scope(tenant="default")
    await layouts.set_key(TEST_ACTOR, tenant, T46G.id, "line:2", "voicemail", locked=True)
    await layouts.set_key(TEST_ACTOR, tenant, T46G.id, "exp:2:21", "blf", target="202")
    await layouts.set_page_label(TEST_ACTOR, tenant, T46G.id, 2, 2, "Sales")
    user = await layouts.resolve_scope(user="default/201")
    await layouts.set_key(TEST_ACTOR, user, T46G.id, "line:3", "dnd")

    device = await layouts.resolve_scope(device=MAC)
    view = await layout_view.editor_view(device, T46G, 2)
    assert len(view.own_keys) == 27
    assert [m.number for m in view.module_views] == [1, 2]
    page2 = view.module_views[1].pages[1]
    assert [k.location.index for k in page2.keys] == list(range(21, 41))
    assert page2.description == "Sales" and page2.below_from == "tenant default"

    line1 = view.key(KeyLocation(0, 1))
    assert line1 is not None and line1.source == "phone default"
    line2 = view.key(KeyLocation(0, 2))
    assert line2 is not None and line2.locked_by is Level.TENANT and not line2.editable
    line3 = view.key(KeyLocation(0, 3))
    assert line3 is not None and line3.source == "user layout"
    blf = view.key(KeyLocation(2, 21))
    assert blf is not None and blf.effective is not None
    assert layout_view.describe(blf.effective, view.users) == "BLF 202 Bram"
    assert view.users == {"201": "Anna", "202": "Bram"}
    assert not view.may_lock

    # The tenant's own view: its keys are "here", and it may lock.
    own = await layout_view.editor_view(tenant, T46G, 2)
    mine = own.key(KeyLocation(0, 2))
    assert mine is not None and mine.source == "here" and mine.editable
    assert own.may_lock
    # Platform defaults name no tenant's users.
    platform_view = await layout_view.editor_view(
        await layouts.resolve_scope(platform=True), T46G, 0
    )
    assert platform_view.users == {} and platform_view.module_views == ()


async def test_editor_opens_on_the_model_and_modules_in_use(platform: Platform) -> None:
    await _setup(platform)
    tenant = await layouts.resolve_scope(tenant="default")
    assert (await layout_view.default_model(tenant)).id == T46G.id
    assert await layout_view.default_modules(tenant, T46G) == 2
    user = await layouts.resolve_scope(user="default/202")
    # Bram has no phone: the model list's first, and no module until a key is set on one.
    assert await layout_view.default_modules(user, T46G) == 0
    await layouts.set_key(TEST_ACTOR, user, T46G.id, "exp:3:1", "dnd")
    assert await layout_view.default_modules(user, T46G) == 3


async def test_summary_lists_every_level_with_keys(platform: Platform) -> None:
    await _setup(platform)
    await layouts.set_key(
        TEST_ACTOR, await layouts.resolve_scope(platform=True), T46G.id, "line:5", "dnd"
    )
    await layouts.set_key(
        TEST_ACTOR, await layouts.resolve_scope(user="default/201"), T46G.id, "line:3", "dnd"
    )
    await layouts.set_key(
        TEST_ACTOR, await layouts.resolve_scope(device=MAC), None, "line:4", "dnd"
    )
    summary = await layout_view.layouts_summary()
    assert [(s.level, s.tenant, s.extension, s.mac, s.keys) for s in summary] == [
        (Level.PLATFORM, "", "", "", 1),
        (Level.USER, "default", "201", "", 1),
        (Level.DEVICE, "", "", MAC, 1),
    ]
