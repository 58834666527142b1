"""What a rollout would do before it starts: per model the version each device goes to
(pinned, or one chosen for all), devices already on it, devices with nothing to go to;
and the firmware page's overview per model."""

from __future__ import annotations

import pytest

from provd.db.models import Device
from provd.domain.errors import InvalidInput, NotFound
from provd.services import devices, firmware
from provd.services.directory import tenants, users
from provd.services.firmware import view as firmware_view
from provd.services.platform import Platform
from provd.services.rollouts import Selection
from provd.services.rollouts import preview as rollout_preview
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, add_image

T48G = "yealink-t48g"
OLD, NEW = "28.83.0.120", "28.83.0.130"


async def _fleet(p: Platform) -> None:
    await tenants.add_tenant(p, TEST_ACTOR, "acme")
    for i, (tenant, model) in enumerate(
        (("default", T46G), ("default", T46G), ("default", T48G), ("acme", T46G)), start=1
    ):
        ext = f"20{i}"
        await users.add_user(p, TEST_ACTOR, tenant, ext, f"User {i}")
        await devices.add_device(
            p, TEST_ACTOR, f"0015650000{i:02x}", model, tenant_slug=tenant, users=[ext]
        )
    # The first phone already runs the new version.
    await Device.filter(mac="001565000001").update(reported_firmware=NEW)


async def test_recommended_is_each_devices_pin(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, OLD)
    await add_image(platform, NEW)
    await firmware.set_pin(TEST_ACTOR, await firmware.pin_scope(), model=T46G, version=NEW)
    acme = await firmware.pin_scope(tenant="acme")
    await firmware.set_pin(TEST_ACTOR, acme, model=T46G, version=OLD)

    found = await rollout_preview.preview(Selection(tenant="default"))
    assert (found.total, found.to_update, found.already, found.without_target) == (3, 1, 1, 1)
    by_model = {m.model.id: m for m in found.models}
    [t46g] = by_model[T46G].targets
    assert (t46g.version, t46g.devices, t46g.already) == (NEW, 2, 1)
    [t48g] = by_model[T48G].targets
    assert (t48g.version, t48g.devices) == ("", 1)  # nothing pinned for the T48G
    assert by_model[T46G].tested_versions == (OLD, NEW)
    # No version fits both models: none is offered for all.
    assert found.choosable_versions == ()

    # The tenant override wins over the platform default.
    acme_only = await rollout_preview.preview(Selection(model=T46G, tenant="acme"))
    assert [(t.version, t.devices) for t in acme_only.models[0].targets] == [(OLD, 1)]

    chosen = await rollout_preview.preview(Selection(model=T46G), version=OLD)
    assert [(t.version, t.devices) for t in chosen.models[0].targets] == [(OLD, 3)]
    assert chosen.choosable_versions == (OLD, NEW)

    drifted = await rollout_preview.preview(Selection(model=T46G, drifted=True))
    # Only a phone that reported a version can be drifted: the first runs its pin.
    assert drifted.total == 0


async def test_listed_devices_and_refused_selections(platform: Platform) -> None:
    await _fleet(platform)
    listed = await rollout_preview.preview(Selection(devices=("00:15:65:00:00:04", "001565000001")))
    assert [d.mac for d in listed.devices] == ["001565000004", "001565000001"]
    with pytest.raises(NotFound):
        await rollout_preview.preview(Selection(devices=("001565000009",)))
    with pytest.raises(InvalidInput) as refused:
        await rollout_preview.preview(Selection(devices=("001565000001",), model=T46G))
    assert refused.value.field == "devices"
    with pytest.raises(InvalidInput):
        await rollout_preview.preview(Selection())


async def test_firmware_overview_per_model(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, OLD)
    await add_image(platform, NEW, tested=False)
    await firmware.set_pin(TEST_ACTOR, await firmware.pin_scope(), model=T46G, version=OLD)
    images = await firmware.list_images()
    overview = {m.model.id: m for m in await firmware_view.models_overview(images)}
    assert set(overview) == {T46G, T48G}
    t46g = overview[T46G]
    assert (t46g.devices, t46g.platform_pin, t46g.newest_tested, t46g.images) == (3, OLD, OLD, 2)
    assert overview[T48G].platform_pin == "" and overview[T48G].images == 0
    [pin] = await firmware_view.pins()
    assert (pin.model, pin.version, pin.tenant, pin.device) == (T46G, OLD, "", "")
