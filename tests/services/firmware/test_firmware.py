"""The firmware catalogue, pins at every level, and what a device is told to run."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from provd.db.models import AuditEntry, Device, FirmwareImage, FirmwarePin, Rollout, RolloutDevice
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.firmware import DeviceState, PinLevel, RolloutState
from provd.firmware.resolution import may_download
from provd.firmware.store import FirmwareStore
from provd.services import devices, firmware
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.provisioning import rendering
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, add_image, image_bytes

MAC_A, MAC_B, MAC_C = "0015654aa937", "0015654aa938", "0015654aa939"
T48G = "yealink-t48g"


async def _fleet(p: Platform) -> None:
    """Two T46Gs in the default tenant, one T46G in tenant acme."""
    await tenants.add_tenant(p, TEST_ACTOR, "acme")
    await users.add_user(p, TEST_ACTOR, "default", "201", "Anna")
    await devices.add_device(p, TEST_ACTOR, MAC_A, T46G, users=["201"])
    await devices.add_device(p, TEST_ACTOR, MAC_B, T46G)
    await devices.add_device(p, TEST_ACTOR, MAC_C, T46G, tenant_slug="acme")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _state() -> tuple[int, int, int]:
    return (
        await FirmwareImage.all().count(),
        await FirmwarePin.all().count(),
        await AuditEntry.all().count(),
    )


async def _pin_platform(*, model: str, version: str) -> None:
    await firmware.set_pin(TEST_ACTOR, await firmware.pin_scope(), model=model, version=version)


def _stored(p: Platform) -> list[str]:
    root = FirmwareStore(p.data_dir).root
    return sorted(f.name for f in root.iterdir()) if root.exists() else []


# --- Catalogue ---------------------------------------------------------------


async def test_add_stores_the_file_and_catalogues_it(platform: Platform) -> None:
    data = image_bytes("28.83.0.120")
    new = firmware.check_new_image(
        ["yealink-t46g", "YEALINK-T46G"],
        " 28.83.0.120 ",
        "T46-28.83.0.120.rom",
        notes="Fixes BLF",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    added = await firmware.add_image(platform, TEST_ACTOR, new, _chunks(data))
    assert added.created
    image = added.image
    assert (image.vendor, image.version, image.models) == ("yealink", "28.83.0.120", [T46G])
    assert (image.size, image.tested, image.release_notes) == (len(data), False, "Fixes BLF")
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert FirmwareStore(platform.data_dir).path(image.sha256).read_bytes() == data
    entry = await AuditEntry.get(action="firmware.add")
    assert entry.object_key == image.sha256 and entry.after["version"] == "28.83.0.120"


async def test_the_same_import_again_changes_nothing(platform: Platform) -> None:
    first = await add_image(platform, "28.83.0.120", tested=False)
    before = await _state()
    new = firmware.check_new_image([T46G], "28.83.0.120", "other-name.rom", tested=True)
    again = await firmware.add_image(platform, TEST_ACTOR, new, _chunks(image_bytes("28.83.0.120")))
    assert not again.created
    assert again.image.id == first.id and not again.image.tested
    assert await _state() == before
    assert _stored(platform) == [first.sha256]


@pytest.mark.parametrize(
    ("version", "models"),
    [("28.84.0.1", [T46G]), ("28.83.0.120", [T46G, T48G])],
    ids=["another version", "other models"],
)
async def test_the_same_file_under_another_version_or_models_is_refused(
    platform: Platform, version: str, models: list[str]
) -> None:
    first = await add_image(platform, "28.83.0.120")
    before = await _state()
    new = firmware.check_new_image(models, version, "T46.rom")
    with pytest.raises(Conflict) as e:
        await firmware.add_image(platform, TEST_ACTOR, new, _chunks(image_bytes("28.83.0.120")))
    assert e.value.field == "file"
    assert "already stored as firmware 28.83.0.120 for yealink-t46g" in e.value.message
    assert await _state() == before
    assert _stored(platform) == [first.sha256]


async def test_another_file_for_a_stored_model_and_version_is_refused(platform: Platform) -> None:
    first = await add_image(platform, "28.83.0.120")
    before = await _state()
    new = firmware.check_new_image([T48G, T46G], "28.83.0.120", "T46.rom")
    with pytest.raises(Conflict) as e:
        await firmware.add_image(platform, TEST_ACTOR, new, _chunks(b"a different build"))
    assert e.value.field == "version"
    assert "yealink-t46g already has firmware 28.83.0.120" in e.value.message
    assert first.sha256 in e.value.message
    assert await _state() == before
    assert _stored(platform) == [first.sha256]
    # The same version for a model that has none is a different image, and fine.
    other = await add_image(platform, "28.83.0.120", [T48G], data=b"a T48G build")
    assert other.models == [T48G]


async def test_a_corrupt_file_is_refused_and_nothing_is_kept(platform: Platform) -> None:
    good = image_bytes("28.83.0.120")
    new = firmware.check_new_image(
        [T46G], "28.83.0.120", "T46.rom", sha256=hashlib.sha256(good).hexdigest()
    )
    before = await _state()
    with pytest.raises(InvalidInput) as e:
        await firmware.add_image(platform, TEST_ACTOR, new, _chunks(good[:-1] + b"!"))
    assert e.value.field == "sha256"
    assert await _state() == before
    assert _stored(platform) == []


@pytest.mark.parametrize(
    ("models", "version", "filename", "field"),
    [
        ([], "1.0", "a.rom", "model"),
        (["yealink-t99"], "1.0", "a.rom", "model"),
        ([T46G, "snom-d785"], "1.0", "a.rom", "model"),
        ([T46G], "1 0", "a.rom", "version"),
        ([T46G], "", "a.rom", "version"),
        ([T46G], "1.0", "../a.rom", "filename"),
        ([T46G], "1.0", "a b.rom", "filename"),
        ([T46G], "1.0", "a/b.rom", "filename"),
        ([T46G], "1.0", "", "filename"),
    ],
)
def test_bad_import_input_names_the_field(
    models: list[str], version: str, filename: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        firmware.check_new_image(models, version, filename)
    assert e.value.field == field


def test_notes_and_declared_checksum_are_checked() -> None:
    with pytest.raises(InvalidInput) as e:
        firmware.check_new_image([T46G], "1.0", "a.rom", notes="x" * 5000)
    assert e.value.field == "notes"
    with pytest.raises(InvalidInput) as e:
        firmware.check_new_image([T46G], "1.0", "a.rom", sha256="xyz")
    assert e.value.field == "sha256"


async def test_list_orders_versions_numerically_and_shows_pins(platform: Platform) -> None:
    await add_image(platform, "28.9.0.1")
    await add_image(platform, "28.83.0.120")
    await add_image(platform, "10.1.215.13", ["snom-d785"], filename="snomD785.bin")
    await _pin_platform(model=T46G, version="28.9.0.1")
    listed = await firmware.list_images_view()
    assert [(i["vendor"], i["version"]) for i in listed] == [
        ("snom", "10.1.215.13"),
        ("yealink", "28.9.0.1"),
        ("yealink", "28.83.0.120"),
    ]
    assert listed[1]["pins"] == [
        {
            "level": "platform",
            "tenant": None,
            "device": None,
            "model": T46G,
            "version": "28.9.0.1",
            "sha256": listed[1]["sha256"],
        }
    ]
    assert [i.version for i in await firmware.list_images("snom-d785")] == ["10.1.215.13"]


async def test_find_by_version_sha_prefix_and_model(platform: Platform) -> None:
    t46g = await add_image(platform, "28.83.0.120")
    t48g = await add_image(platform, "28.83.0.120", [T48G], data=b"t48g")
    with pytest.raises(InvalidInput) as e:
        await firmware.find_image(version="28.83.0.120")
    assert e.value.field == "version" and "matches 2 images" in e.value.message
    assert (await firmware.find_image(version="28.83.0.120", model=T48G)).id == t48g.id
    assert (await firmware.find_image(sha256=t46g.sha256[:10].upper())).id == t46g.id
    with pytest.raises(NotFound):
        await firmware.find_image(version="1.2.3")
    with pytest.raises(InvalidInput):
        await firmware.find_image(sha256="abc")
    with pytest.raises(InvalidInput):
        await firmware.find_image()


async def test_marking_tested_and_untested_is_audited(platform: Platform) -> None:
    await add_image(platform, "28.83.0.120", tested=False)
    image = await firmware.set_tested(TEST_ACTOR, version="28.83.0.120")
    assert image.tested
    entry = await AuditEntry.get(action="firmware.tested")
    assert entry.before["tested"] is False and entry.after["tested"] is True
    rows = await AuditEntry.all().count()
    await firmware.set_tested(TEST_ACTOR, version="28.83.0.120")
    assert await AuditEntry.all().count() == rows  # no change, no row
    image = await firmware.set_tested(TEST_ACTOR, version="28.83.0.120", tested=False)
    assert not image.tested
    assert await AuditEntry.exists(action="firmware.untested")


# --- Pins and resolution -----------------------------------------------------


async def _resolve(mac: str) -> firmware.FirmwareResolution:
    return await firmware.resolve_for_device(await devices.get_device(mac))


async def test_resolution_at_every_level(platform: Platform) -> None:
    await _fleet(platform)
    for version in ("28.80.0.1", "28.81.0.1", "28.82.0.1"):
        await add_image(platform, version)

    nothing = await _resolve(MAC_A)
    assert (nothing.image, nothing.version, nothing.level) == (None, None, None)
    assert nothing.explanation[-1] == "no pin: provd leaves this device's firmware alone"

    await _pin_platform(model=T46G, version="28.80.0.1")
    for mac in (MAC_A, MAC_B, MAC_C):
        r = await _resolve(mac)
        assert (r.version, r.level) == ("28.80.0.1", PinLevel.PLATFORM)

    scope = await firmware.pin_scope(tenant="default")
    await firmware.set_pin(TEST_ACTOR, scope, model=T46G, version="28.81.0.1")
    assert (await _resolve(MAC_A)).version == "28.81.0.1"
    assert (await _resolve(MAC_B)).version == "28.81.0.1"
    assert (await _resolve(MAC_C)).version == "28.80.0.1"  # another tenant

    scope = await firmware.pin_scope(device=MAC_A)
    await firmware.set_pin(TEST_ACTOR, scope, model=None, version="28.82.0.1")
    r = await _resolve(MAC_A)
    assert (r.version, r.level) == ("28.82.0.1", PinLevel.DEVICE)
    assert r.image is not None and r.image.version == "28.82.0.1"
    assert r.explanation == (
        "device pin: 28.82.0.1 (used)",
        "tenant override: 28.81.0.1 (overridden)",
        "platform default: 28.80.0.1 (overridden)",
    )
    assert (await _resolve(MAC_B)).version == "28.81.0.1"

    await firmware.remove_pin(TEST_ACTOR, await firmware.pin_scope(tenant="default"), model=T46G)
    assert (await _resolve(MAC_A)).version == "28.82.0.1"
    assert (await _resolve(MAC_B)).version == "28.80.0.1"


async def test_pins_are_per_model(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, "28.83.0.120", [T46G, T48G])
    await _pin_platform(model=T48G, version="28.83.0.120")
    assert (await _resolve(MAC_A)).image is None


async def test_a_repinned_level_replaces_its_pin_and_audits_before_and_after(
    platform: Platform,
) -> None:
    await _fleet(platform)
    await add_image(platform, "28.80.0.1")
    await add_image(platform, "28.81.0.1")
    scope = await firmware.pin_scope(tenant="default")
    await firmware.set_pin(TEST_ACTOR, scope, model=T46G, version="28.80.0.1")
    await firmware.set_pin(TEST_ACTOR, scope, model=T46G, version="28.81.0.1")
    assert await FirmwarePin.all().count() == 1
    entries = await AuditEntry.filter(action="firmware.pin").order_by("id")
    assert [e.after["version"] for e in entries] == ["28.80.0.1", "28.81.0.1"]
    assert entries[0].before is None and entries[1].before["version"] == "28.80.0.1"
    assert entries[1].after["tenant"] == "default" and entries[1].after["level"] == "tenant"
    assert entries[1].actor == TEST_ACTOR.name


async def test_only_tested_versions_may_be_pinned(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, "28.83.0.120", tested=False)
    for scope in (
        await firmware.pin_scope(),
        await firmware.pin_scope(tenant="acme"),
        await firmware.pin_scope(device=MAC_A),
    ):
        with pytest.raises(InvalidInput) as e:
            await firmware.set_pin(TEST_ACTOR, scope, model=T46G, version="28.83.0.120")
        assert e.value.field == "version" and "not tested" in e.value.message
    assert await FirmwarePin.all().count() == 0


async def test_a_pinned_version_cannot_be_marked_untested(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, "28.83.0.120")
    scope = await firmware.pin_scope(device=MAC_A)
    await firmware.set_pin(TEST_ACTOR, scope, model=T46G, version="28.83.0.120")
    with pytest.raises(Conflict) as e:
        await firmware.set_tested(TEST_ACTOR, version="28.83.0.120", tested=False)
    assert f"device {MAC_A}" in e.value.message
    assert (await FirmwareImage.get()).tested
    await firmware.remove_pin(TEST_ACTOR, scope, model=None)
    await firmware.set_tested(TEST_ACTOR, version="28.83.0.120", tested=False)


async def test_pin_input_is_checked(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, "28.83.0.120")
    cases: list[tuple[dict[str, str], str | None, str]] = [
        ({"tenant": "default", "device": MAC_A}, T46G, "scope"),
        ({"device": MAC_A}, T48G, "model"),
        ({}, None, "model"),
        ({}, "yealink-t99", "model"),
        ({"tenant": "nope"}, T46G, "tenant"),
        ({"device": "0015654affff"}, T46G, "device"),
        ({}, T48G, "version"),
    ]
    for where, model, field in cases:
        with pytest.raises((InvalidInput, NotFound)) as e:
            scope = await firmware.pin_scope(**where)
            await firmware.set_pin(TEST_ACTOR, scope, model=model, version="28.83.0.120")
        assert isinstance(e.value, InvalidInput | NotFound)
        assert e.value.field == field, (where, model)
    assert await FirmwarePin.all().count() == 0


async def test_unpinning_nothing_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound) as e:
        await firmware.remove_pin(TEST_ACTOR, await firmware.pin_scope(), model=T46G)
    assert e.value.field == "model"


# --- What phones are told ----------------------------------------------------


def test_firmware_url_is_on_provd(platform: Platform) -> None:
    image = FirmwareImage(sha256="ab" * 32, filename="T46S(T48S,T42S)-66.86.0.15.rom")
    assert firmware.firmware_url(platform, image) == (
        f"https://provd.test:8443/firmware/{'ab' * 32}/T46S(T48S,T42S)-66.86.0.15.rom"
    )


async def test_the_resolved_firmware_goes_into_the_config(platform: Platform) -> None:
    await _fleet(platform)
    image = await add_image(platform, "28.83.0.120")
    device = await devices.get_device(MAC_A)
    assert (await rendering.device_context(platform, device)).firmware is None
    await _pin_platform(model=T46G, version="28.83.0.120")
    ctx = await rendering.device_context(platform, device)
    assert ctx.firmware is not None
    assert ctx.firmware.version == "28.83.0.120"
    assert ctx.firmware.filename == "T46-28.83.0.120.rom"
    assert ctx.firmware.url == firmware.firmware_url(platform, image)
    cfg = (await rendering.render_file(platform, device, f"{MAC_A}.cfg")).decode()
    assert f"static.firmware.url = {ctx.firmware.url}\n" in cfg


async def _rollout(
    device: Device, image: FirmwareImage, state: DeviceState, *, running: bool = True
) -> None:
    rollout = await Rollout.create(
        state=RolloutState.RUNNING if running else RolloutState.CANCELLED, created_by="test"
    )
    await RolloutDevice.create(
        rollout=rollout,
        device=device,
        mac=device.mac,
        position=0,
        batch=1,
        state=state,
        target_version=image.version,
        target_image=image,
    )


async def test_a_rollout_updating_a_device_points_its_config_at_the_target(
    platform: Platform,
) -> None:
    await _fleet(platform)
    pinned = await add_image(platform, "28.80.0.1")
    target = await add_image(platform, "28.83.0.120")
    await _pin_platform(model=T46G, version="28.80.0.1")
    a, b, c = [await devices.get_device(m) for m in (MAC_A, MAC_B, MAC_C)]
    await _rollout(a, target, DeviceState.NOTIFIED)
    await _rollout(b, target, DeviceState.PENDING)
    await _rollout(c, target, DeviceState.NOTIFIED, running=False)
    assert (await firmware.firmware_for_config(a)) == target
    # Not yet in its batch: the pin still rules.
    assert (await firmware.firmware_for_config(b)) == pinned
    # Told to reboot for the update before the rollout was cancelled: the phone is
    # mid-update and keeps being offered the target, or it would come back on the
    # old version and time out.
    assert (await firmware.firmware_for_config(c)) == target
    assert await may_download(a, target) and await may_download(b, target)
    assert await may_download(c, target)
    assert await may_download(c, pinned)
    await RolloutDevice.filter(device_id=a.id).update(state=DeviceState.DONE)
    assert (await firmware.firmware_for_config(a)) == pinned
    assert not await may_download(a, target)


async def test_expected_and_running_firmware_and_drift(platform: Platform) -> None:
    await _fleet(platform)
    await add_image(platform, "28.83.0.120")
    view = await firmware.device_firmware_view(platform, MAC_A)
    assert view["expected"] is None and not view["drifted"] and view["running"] is None

    await _pin_platform(model=T46G, version="28.83.0.120")
    now = datetime.now(UTC)
    await Device.filter(mac=MAC_A).update(
        reported_firmware="28.80.0.1",
        reported_firmware_at=now - timedelta(minutes=5),
        sip_firmware="28.83.0.120",
        sip_firmware_at=now,
    )
    view = await firmware.device_firmware_view(platform, MAC_A)
    assert view["expected"]["version"] == "28.83.0.120"
    assert view["expected"]["level"] == "platform"
    assert view["expected"]["url"].startswith("https://provd.test:8443/firmware/")
    assert view["reported"]["http"]["version"] == "28.80.0.1"
    assert view["reported"]["sip"]["version"] == "28.83.0.120"
    assert view["running"] == "28.83.0.120"  # the later report wins
    assert not view["drifted"]

    await Device.filter(mac=MAC_A).update(reported_firmware_at=now + timedelta(minutes=1))
    view = await firmware.device_firmware_view(platform, MAC_A)
    assert view["running"] == "28.80.0.1" and view["drifted"]
    assert view["explanation"][-1] == "platform default: 28.83.0.120 (used)"
