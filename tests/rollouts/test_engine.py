"""The rollout engine with real Kamailio, provd's HTTPS server and simulated phones.

Each phone answers the check-sync, fetches its configuration and the firmware it
names from provd (Digest), reboots and registers again with its new User-Agent.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import cast

import pytest

from provd.db.models import AuditEntry, Device, Rollout, RolloutDevice
from provd.firmware.resolution import resolve_for_device
from provd.services import rollouts
from provd.services.rollouts import HALTED_REASON, Options, Selection
from tests.rollouts.conftest import ACTOR, NEW, OLD, Env, finished, states, wait_for
from tests.sim.phone import Behaviour, running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


async def test_fifty_phones_with_a_canary_all_end_done(env: Env) -> None:
    concurrency = 10
    async with env.orm():
        fleet = await env.phones(50, reboot_s=0.3)
        async with running(fleet.phones), env.engine() as engine:
            registrations = await env.control.registrations()
            started_at = time.monotonic()
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, batch=15, canary=5, concurrency=concurrency, timeout_s=60),
                registrations,
            )
            rid = started.rollout.id
            assert started.not_registered == []
            engine.wake()
            await wait_for(lambda: finished(rid), timeout=60, what="the rollout to finish")
            elapsed = time.monotonic() - started_at

        rollout = await Rollout.get(id=rid)
        assert rollout.state == "done", rollout.reason
        assert rollout.reason == "50 done"
        final = await states(rid)
        assert {s for s, _ in final.values()} == {"done"}, final
        for phone in fleet.phones:
            assert phone.notify_count == 1, (phone.mac, phone.log.timeline)
            assert len(phone.log.fetched) == 1 and phone.log.fetched[0].endswith(f"/T46-{NEW}.rom")
            assert phone.version == NEW and phone.log.errors == []
        # What the phones reported is recorded per device.
        reported = await Device.filter(mac__in=fleet.macs).values_list("sip_firmware", flat=True)
        assert set(cast("list[str | None]", reported)) == {NEW}

        rows = await RolloutDevice.filter(rollout_id=rid).order_by("position")
        canary = [r for r in rows if r.batch == 0]
        rest = [r for r in rows if r.batch > 0]
        assert len(canary) == 5 and {r.batch for r in rest} == {1, 2, 3}
        # No other device was told anything before the whole canary was back.
        first_other = min(r.notified_at for r in rest if r.notified_at)
        assert max(r.updated_at for r in canary) <= first_other
        # Batches in order, and never more than `concurrency` phones updating at once.
        for earlier, later in ((1, 2), (2, 3)):
            end = max(r.updated_at for r in rows if r.batch == earlier)
            assert end <= min(r.notified_at for r in rows if r.batch == later and r.notified_at)
        spans = [(r.notified_at, r.updated_at) for r in rows if r.notified_at]
        assert _max_overlap(spans) <= concurrency
        assert all(r.fetched_at is not None for r in rows)

        actions = await AuditEntry.filter(actor=f"rollout:{rid}").values_list("action", flat=True)
        assert sorted(set(cast("list[str]", actions))) == [
            "firmware.pin",
            "rollout.device.done",
            "rollout.device.fetched",
            "rollout.device.notified",
            "rollout.done",
        ]
        # Each phone went to a version other than its pin, so each got a device pin
        # that keeps its next configuration on the new firmware.
        assert len(actions) == 50 * 4 + 1
        for device in await Device.filter(mac__in=fleet.macs):
            assert (await resolve_for_device(device)).version == NEW
        assert await AuditEntry.filter(action="rollout.start", actor=ACTOR.name).exists()

    rate = 50 / elapsed * 60
    print(
        f"\nrollout of 50 phones (canary 5, batches of 15, concurrency {concurrency}, "
        f"simulated reboot 0.3 s): {elapsed:.1f} s, {rate:.0f} devices/minute"
    )


async def test_a_failed_canary_halts_and_nothing_else_is_touched(env: Env) -> None:
    async with env.orm():
        # The second canary phone downloads the file but comes back on the old version.
        fleet = await env.phones(8, behaviours={1: Behaviour.WRONG_VERSION})
        async with running(fleet.phones), env.engine():
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, batch=5, canary=3, concurrency=3, timeout_s=3),
                await env.control.registrations(),
            )
            rid = started.rollout.id
            await wait_for(lambda: finished(rid), timeout=20, what="the rollout to halt")

        rollout = await Rollout.get(id=rid)
        assert rollout.state == "halted"
        bad = fleet.phones[1]
        assert rollout.reason.startswith(f"canary failed: {bad.mac} timed_out: not back on {NEW}")
        final = await states(rid)
        assert final[bad.mac] == (
            "timed_out",
            f"not back on {NEW} within 3 s: registered with {OLD}, firmware fetched",
        )
        assert final[fleet.macs[0]][0] == final[fleet.macs[2]][0] == "done"
        for mac in fleet.macs[3:]:
            assert final[mac] == ("pending", HALTED_REASON)
        assert [p.notify_count for p in fleet.phones] == [1, 1, 1, 0, 0, 0, 0, 0]
        halted = await AuditEntry.get(action="rollout.halted", object_key=str(rid))
        assert halted.after is not None and halted.after["not_started"] == 5


async def test_pause_holds_new_devices_and_resume_finishes(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(4, reboot_s=0.5)
        async with running(fleet.phones), env.engine():
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, batch=4, concurrency=1, timeout_s=30),
            )
            rid = started.rollout.id

            async def first_notified() -> bool:
                return fleet.phones[0].notify_count == 1

            await wait_for(first_notified, timeout=10, what="the first phone's NOTIFY")
            await rollouts.pause_rollout(ACTOR, rid)

            async def first_done() -> bool:
                return (await states(rid))[fleet.macs[0]][0] == "done"

            # Paused: the phone already updating is still followed to the end…
            await wait_for(first_done, timeout=10, what="the updating phone to finish")
            time_paused = time.monotonic()
            while time.monotonic() - time_paused < 1.0:
                # …and nobody else is started.
                assert [p.notify_count for p in fleet.phones] == [1, 0, 0, 0]
                await asyncio.sleep(0.1)
            assert (await Rollout.get(id=rid)).state == "paused"

            await rollouts.resume_rollout(ACTOR, rid)
            await wait_for(lambda: finished(rid), timeout=20, what="the rollout to finish")
        assert {s for s, _ in (await states(rid)).values()} == {"done"}
        assert [p.notify_count for p in fleet.phones] == [1, 1, 1, 1]
        actions = await AuditEntry.filter(object_type="rollout", object_key=str(rid)).order_by("id")
        assert [a.action for a in actions] == [
            "rollout.start",
            "rollout.pause",
            "rollout.resume",
            "rollout.done",
        ]


async def test_a_restarted_engine_loses_and_repeats_no_device(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(10, reboot_s=1.0)
        async with running(fleet.phones):
            async with env.engine():
                started = await rollouts.start_rollout(
                    ACTOR,
                    Selection(devices=tuple(fleet.macs)),
                    Options(version=NEW, batch=10, concurrency=4, timeout_s=30),
                )
                rid = started.rollout.id

                async def some_under_way() -> bool:
                    return sum(p.notify_count for p in fleet.phones) >= 4

                await wait_for(some_under_way, timeout=10, what="four phones notified")
            # The engine is gone with phones rebooting; the next one picks up from the rows.
            midway = await states(rid)
            assert sum(s in ("notified", "fetched") for s, _ in midway.values()) >= 1
            assert sum(s == "pending" for s, _ in midway.values()) >= 1
            async with env.engine():
                await wait_for(lambda: finished(rid), timeout=30, what="the rollout to finish")
        assert {s for s, _ in (await states(rid)).values()} == {"done"}
        assert [p.notify_count for p in fleet.phones] == [1] * 10


async def test_unregistered_and_unanswering_phones_fail_with_the_reason(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(
            4, behaviours={1: Behaviour.UNREGISTERED, 2: Behaviour.SILENT, 3: Behaviour.NEVER_FETCH}
        )
        async with running(fleet.phones), env.engine():
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, concurrency=4, timeout_s=4),
                await env.control.registrations(),
            )
            rid = started.rollout.id
            # Reported when the rollout is created, not skipped.
            assert started.not_registered == [fleet.macs[1]]
            await wait_for(lambda: finished(rid), timeout=20, what="the rollout to finish")
        final = await states(rid)
        assert final[fleet.macs[0]] == ("done", f"back online on {NEW}")
        assert final[fleet.macs[1]] == ("failed", "not registered")
        state, reason = final[fleet.macs[2]]
        assert state == "failed" and reason.startswith("no answer to check-sync (408"), reason
        assert final[fleet.macs[3]] == (
            "timed_out",
            f"not back on {NEW} within 4 s: registered with {OLD}, firmware not fetched",
        )
        assert (await Rollout.get(id=rid)).reason == "1 done, 2 failed, 1 timed out"
        assert [p.notify_count for p in fleet.phones] == [1, 0, 1, 1]


async def test_cancel_notifies_no_one_afterwards(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(5, reboot_s=0.5)
        async with running(fleet.phones), env.engine():
            started = await rollouts.start_rollout(
                ACTOR,
                Selection(devices=tuple(fleet.macs)),
                Options(version=NEW, concurrency=2, timeout_s=30),
            )
            rid = started.rollout.id

            async def two_fetched() -> bool:
                return sum(len(p.log.fetched) for p in fleet.phones) == 2

            # (Once cancelled, provd no longer offers the target to a phone that has
            # not fetched it yet: such a phone comes back on its old version.)
            await wait_for(two_fetched, timeout=10, what="two phones fetching")
            await rollouts.cancel_rollout(ACTOR, rid)
            # The two phones updating are followed to the end.
            await wait_for(lambda: finished(rid), timeout=20, what="the updating phones")
        final = await states(rid)
        assert [final[m][0] for m in fleet.macs] == ["done"] * 2 + ["pending"] * 3
        assert final[fleet.macs[4]][1] == rollouts.CANCELLED_REASON
        assert [p.notify_count for p in fleet.phones] == [1, 1, 0, 0, 0]
        rollout = await Rollout.get(id=rid)
        assert rollout.state == "cancelled" and rollout.reason == "cancelled by test"
