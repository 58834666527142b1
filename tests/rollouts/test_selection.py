"""Which devices a rollout takes, what they go to, and what phones report over SIP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from provd.db.models import AuditEntry, Device, Rollout
from provd.services import rollouts
from provd.services.firmware.reported import record_all
from provd.services.rollouts import Options, Selection
from tests.rollouts.conftest import (
    ACTOR,
    MODEL,
    NEW,
    OLD,
    OTHER_TENANT,
    Env,
    finished,
    states,
    wait_for,
)
from tests.sim.phone import running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def test_the_engine_records_what_every_registered_phone_reports(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(2)
        async with running(fleet.phones), env.engine(sweep_s=0.1):

            async def reported(version: str) -> bool:
                rows = await Device.filter(mac__in=fleet.macs).values_list(
                    "sip_firmware", flat=True
                )
                return set(cast("list[str | None]", rows)) == {version}

            await wait_for(lambda: reported(OLD), timeout=5, what="the versions recorded")
            for phone in fleet.phones:
                phone.version = "28.83.0.125"
                await phone.register()
            await wait_for(lambda: reported("28.83.0.125"), timeout=5, what="the new versions")
        device = await Device.get(mac=fleet.macs[0])
        assert device.sip_firmware_at is not None
        assert datetime.now(UTC) - device.sip_firmware_at < timedelta(seconds=10)


async def test_drifted_phones_of_a_tenant_go_to_its_pinned_version(env: Env) -> None:
    """The admin's day: one of two imported versions is tested, pinned for a tenant, and a
    rollout takes every T46G of the tenant that runs something else."""
    from provd.services.firmware import pin_scope, set_pin

    async with env.orm():
        fleet = await env.phones(3, tenant_slug=OTHER_TENANT)
        current = await env.phones(1, tenant_slug=OTHER_TENANT, version=NEW)
        elsewhere = await env.phones(1)  # drifted too, but in another tenant
        offline = fleet.phones[2]
        phones = fleet.phones + current.phones + elsewhere.phones
        async with running(phones):
            await record_all(await env.control.registrations())
            # This one reported its version, then went away.
            await offline.register(expires=0)
            await set_pin(ACTOR, await pin_scope(tenant=OTHER_TENANT), model=MODEL, version=NEW)
            async with env.engine():
                started = await rollouts.start_rollout(
                    ACTOR,
                    Selection(model=MODEL, tenant=OTHER_TENANT, drifted=True),
                    Options(timeout_s=30),
                    await env.control.registrations(),
                )
                rid = started.rollout.id
                assert started.not_registered == [offline.mac]
                await wait_for(lambda: finished(rid), timeout=20, what="the rollout to finish")

        final = await states(rid)
        assert final == {
            fleet.macs[0]: ("done", f"back online on {NEW}"),
            fleet.macs[1]: ("done", f"back online on {NEW}"),
            offline.mac: ("failed", "not registered"),
        }
        rollout = await Rollout.get(id=rid)
        assert rollout.selection == f"model={MODEL} tenant={OTHER_TENANT} drifted"
        assert rollout.target_image_id is None  # type: ignore[attr-defined]
        assert [p.notify_count for p in phones] == [1, 1, 0, 0, 0]
        assert fleet.phones[0].log.fetched[0].endswith(f"/T46-{NEW}.rom")
        start = await AuditEntry.get(action="rollout.start", object_key=str(rid))
        assert start.after is not None
        assert start.after["not_registered_now"] == [offline.mac]
        assert start.after["selection"] == rollout.selection

        # Nothing is drifted any more (the offline phone still is, and says so).
        again = await rollouts.start_rollout(
            ACTOR,
            Selection(model=MODEL, tenant=OTHER_TENANT, drifted=True),
            Options(),
            await env.control.registrations(),
        )
        assert list((await states(again.rollout.id)).keys()) == [offline.mac]
        await rollouts.cancel_rollout(ACTOR, again.rollout.id)


async def test_devices_already_on_the_target_are_done_at_once(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(1, version=NEW)
        fleet.phones += (await env.phones(1)).phones
        async with running(fleet.phones):
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, canary=1),
                await env.control.registrations(),
            )
            rid = started.rollout.id
            # The device with work to do comes first: it is the canary.
            assert list((await states(rid)).items()) == [
                (fleet.macs[1], ("pending", "")),
                (fleet.macs[0], ("done", f"already runs {NEW}")),
            ]
            await rollouts.cancel_rollout(ACTOR, rid)

            everything_done = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=(fleet.macs[0],)),
                Options(version=NEW),
                await env.control.registrations(),
            )
        assert everything_done.rollout.state == "done"
        assert everything_done.rollout.reason == "nothing to do: no device needs an update"


@pytest.mark.parametrize(
    ("selection", "options", "field"),
    [
        (Selection(), Options(), "selection"),
        (Selection(tenant="nowhere"), Options(), "tenant"),
        (Selection(model="snom-d999"), Options(), "model"),
        (Selection(model=MODEL), Options(batch=0), "batch"),
        (Selection(model=MODEL), Options(timeout_s=0), "timeout"),
        (Selection(model=MODEL), Options(version="not a version"), "version"),
    ],
)
async def test_refused_selections_name_the_field(
    env: Env, selection: Selection, options: Options, field: str
) -> None:
    from provd.domain.errors import InvalidInput, NotFound

    async with env.orm():
        with pytest.raises((InvalidInput, NotFound)) as caught:
            await rollouts.start_rollout(ACTOR, selection, options)
        error = caught.value
        assert isinstance(error, (InvalidInput, NotFound)) and error.field == field


async def test_no_pin_and_no_version_is_refused_naming_the_version(env: Env) -> None:
    from provd.domain.errors import InvalidInput
    from provd.services.directory import tenants

    async with env.orm():
        # A tenant of its own: earlier rollouts in this module pinned other devices.
        await tenants.add_tenant(env.p, ACTOR, "unpinned", sip_domain="unpinned.test")
        fleet = await env.phones(1, tenant_slug="unpinned")
        with pytest.raises(InvalidInput) as caught:
            await rollouts.start_rollout(ACTOR, Selection(devices=tuple(fleet.macs)), Options())
        assert caught.value.field == "version"
