"""The phone path's caches (services/mark_cache), seen through the context cache: one
context per boot, rebuilt after any change that could alter it, and kept across the
seals of a first-boot storm."""

from __future__ import annotations

import pytest

from provd.db.models import AuditEntry, Device, Tenant
from provd.drivers.context import DeviceContext
from provd.services import audit, devices
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.provisioning.mark_cache import HarmlessIds, audit_mark
from provd.services.provisioning.rendering import ContextCache
from tests.conftest import TEST_ACTOR

MAC_A, MAC_B = "001565c00001", "001565c00002"


async def _fleet(p: Platform) -> tuple[Tenant, Device, Device]:
    for ext in ("201", "202"):
        await users.add_user(p, TEST_ACTOR, "default", ext, f"User {ext}")
    a, _ = await devices.add_device(p, TEST_ACTOR, MAC_A, "yealink-t46g", users=["201"])
    b, _ = await devices.add_device(p, TEST_ACTOR, MAC_B, "yealink-t46g", users=["202"])
    tenant = await Tenant.get(slug="default")
    return tenant, a, b


async def _contexts(
    cache: ContextCache, p: Platform, tenant: Tenant, *ds: Device
) -> list[DeviceContext]:
    return [await cache.context(p, d, tenant) for d in ds]


async def test_a_context_is_built_once_while_nothing_changes(platform: Platform) -> None:
    tenant, a, b = await _fleet(platform)
    cache = ContextCache()
    first = await _contexts(cache, platform, tenant, a, b)
    again = await _contexts(cache, platform, tenant, a, b)
    assert all(x is y for x, y in zip(first, again, strict=True))


async def test_seals_this_process_made_keep_every_context(platform: Platform) -> None:
    tenant, a, b = await _fleet(platform)
    cache = ContextCache()
    before = await _contexts(cache, platform, tenant, a, b)
    # Two first boots: each seal writes an audit row, and neither changes a config.
    cache.harmless.add(await devices.seal_device(a))
    cache.harmless.add(await devices.seal_device(b))
    after = await _contexts(cache, platform, tenant, a, b)
    assert all(x is y for x, y in zip(before, after, strict=True))


async def test_a_seal_this_process_did_not_note_rebuilds(platform: Platform) -> None:
    # Another process's seal looks like any other change: it cannot be told apart.
    tenant, a, b = await _fleet(platform)
    cache = ContextCache()
    (old,) = await _contexts(cache, platform, tenant, b)
    await devices.seal_device(a)
    (new,) = await _contexts(cache, platform, tenant, b)
    assert new is not old and new == old


async def test_a_real_change_after_a_seal_reaches_the_next_fetch(platform: Platform) -> None:
    tenant, a, b = await _fleet(platform)
    cache = ContextCache()
    (old,) = await _contexts(cache, platform, tenant, b)
    cache.harmless.add(await devices.seal_device(a))
    await devices.update_device(TEST_ACTOR, MAC_B, expansion_modules=2)
    cache.harmless.add(await devices.seal_device(b))
    # Sealed, a change, sealed: the change in the middle is not harmless.
    b = await Device.get(mac=MAC_B)
    (new,) = await _contexts(cache, platform, tenant, b)
    assert old.expansion_modules == 0 and new.expansion_modules == 2


@pytest.mark.parametrize("age", [0.0, -1.0])
async def test_entries_expire(platform: Platform, age: float) -> None:
    tenant, a, _ = await _fleet(platform)
    cache = ContextCache(max_age=age)
    (old,) = await _contexts(cache, platform, tenant, a)
    (new,) = await _contexts(cache, platform, tenant, a)
    assert new is not old and new == old


def test_harmless_ids_are_bounded() -> None:
    harmless = HarmlessIds(max_ids=3)
    for audit_id in range(1, 6):
        harmless.add(audit_id)
    # Only the newest three are remembered, so a range reaching back further is not
    # taken on trust.
    assert harmless.cover(2, 5)
    assert harmless.cover(5, 5)
    assert not harmless.cover(1, 5)
    assert not harmless.cover(5, 7)


async def test_the_mark_is_the_newest_audit_id(platform: Platform) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "User 201")
    newest = await AuditEntry.all().order_by("-id").first()
    assert newest is not None and await audit_mark() == newest.id
    await AuditEntry.all().delete()
    assert await audit_mark() == 0


async def test_a_failed_seal_leaves_the_device_unsealed_in_memory_too(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, a, _ = await _fleet(platform)

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await devices.seal_device(a)
    assert a.sealed_at is None
    assert (await Device.get(mac=MAC_A)).sealed_at is None
