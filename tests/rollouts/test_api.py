"""Rollouts over the REST API, and their live progress as server-sent events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.rollouts.conftest import NEW, Env, finished, wait_for
from tests.sim.phone import Behaviour, running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]
ROLLOUTS = "/api/v1/rollouts"


@dataclass(frozen=True, slots=True)
class Event:
    id: int | None
    name: str
    data: Any


async def read_events(response: aiohttp.ClientResponse) -> list[Event]:
    """The whole stream, up to and including ``end``."""
    events: list[Event] = []
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        event_id = fields.get("id")
        events.append(
            Event(int(event_id) if event_id else None, fields["event"], json.loads(fields["data"]))
        )
        fields = {}
        if events[-1].name == "end":
            break
    return events


async def test_start_over_rest_and_follow_every_state_change(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(3, behaviours={2: Behaviour.UNREGISTERED})
        async with running(fleet.phones), env.engine(), env.api() as api:
            body = {"devices": fleet.macs, "version": NEW, "canary": 1, "timeout": 30}
            async with api.post(ROLLOUTS, json=body) as r:
                assert r.status == 201, await r.text()
                created = await r.json()
            rid = created["id"]
            assert created["state"] == "running"
            assert created["not_registered_now"] == [fleet.macs[2]]
            assert created["counts"]["pending"] == 3
            assert [d["canary"] for d in created["devices"]] == [True, False, False]

            # Last-Event-ID 0: every change since the rollout began, none missed.
            headers = {"Last-Event-ID": "0"}
            async with api.get(f"{ROLLOUTS}/{rid}/events", headers=headers) as r:
                assert r.status == 200
                assert r.headers["Content-Type"].startswith("text/event-stream")
                events = await read_events(r)

            async with api.get(f"{ROLLOUTS}/{rid}") as r:
                shown = await r.json()
            async with api.get(ROLLOUTS) as r:
                listed = await r.json()

    assert events[0].name == "snapshot" and events[0].data["id"] == rid
    per_device: dict[str, list[str]] = {}
    for e in events:
        if e.name == "device":
            per_device.setdefault(e.data["mac"], []).append(e.data["after"]["state"])
    assert per_device == {
        fleet.macs[0]: ["notified", "fetched", "done"],
        fleet.macs[1]: ["notified", "fetched", "done"],
        fleet.macs[2]: ["failed"],
    }
    ids = [e.id for e in events if e.name in ("device", "rollout") and e.id is not None]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    rollout_events = [e.data["action"] for e in events if e.name == "rollout"]
    assert rollout_events == ["rollout.start", "rollout.done"]
    assert any(e.name == "progress" for e in events)
    assert events[-1] == Event(events[-1].id, "end", {"id": rid, "state": "done"})

    assert (shown["counts"]["done"], shown["counts"]["failed"], shown["finished"]) == (2, 1, True)
    assert [d["reason"] for d in shown["devices"]][2] == "not registered"
    assert listed[0]["id"] == rid and "devices" not in listed[0]


async def test_pause_resume_and_cancel_over_rest(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(3, reboot_s=0.3)
        async with running(fleet.phones), env.api() as api:
            # No engine yet: the rollout waits, and is steered meanwhile.
            body = {"devices": ",".join(fleet.macs), "version": NEW, "concurrency": 1, "timeout": 5}
            async with api.post(ROLLOUTS, json=body) as r:
                rid = (await r.json())["id"]
            async with api.post(f"{ROLLOUTS}/{rid}/pause") as r:
                assert r.status == 200 and (await r.json())["state"] == "paused"
            async with api.post(f"{ROLLOUTS}/{rid}/pause") as r:
                assert r.status == 409
                assert (await r.json())["error"] == {
                    "message": "a paused rollout cannot be paused",
                    "field": "rollout",
                }
            async with env.engine():
                async with api.get(f"{ROLLOUTS}/{rid}/events") as r:
                    first = (await r.content.readuntil(b"\n\n")).decode()
                assert first.startswith("event: snapshot\n")
                assert '"state":"paused"' in first
                assert sum(p.notify_count for p in fleet.phones) == 0

                async with api.post(f"{ROLLOUTS}/{rid}/resume") as r:
                    assert r.status == 200 and (await r.json())["state"] == "running"

                async def one_done() -> bool:
                    async with api.get(f"{ROLLOUTS}/{rid}") as r:
                        return bool((await r.json())["counts"]["done"] >= 1)

                await wait_for(one_done, timeout=10, what="a phone done")
                async with api.post(f"{ROLLOUTS}/{rid}/cancel") as r:
                    assert r.status == 200
                    cancelled = await r.json()
                assert cancelled["state"] == "cancelled"
                await wait_for(lambda: finished(rid), timeout=15, what="the last phone")
            async with api.get(f"{ROLLOUTS}/{rid}") as r:
                shown = await r.json()
    # Concurrency 1: at most the phone in flight when cancelled finishes; no one after.
    assert shown["counts"]["pending"] >= 1
    notified = sum(p.notify_count for p in fleet.phones)
    assert notified == 3 - shown["counts"]["pending"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"version": NEW}, 400, "selection"),
        ({"model": "yealink-t46g", "devices": ["001565000001"]}, 400, "devices"),
        ({"devices": ["nonsense"]}, 400, "devices"),
        ({"devices": ["0015650fffff"]}, 404, "devices"),
        ({"model": "yealink-t46g", "version": "28.83.0.140"}, 400, "version"),
        ({"model": "yealink-t46g", "version": "1.2.3"}, 400, "version"),
        ({"model": "yealink-t46g", "canary": 100000}, 400, "canary"),
        ({"model": "yealink-t46g", "concurrency": 0}, 400, "concurrency"),
        ({"model": "yealink-t46g", "timeout": "soon"}, 400, "timeout"),
        ({"model": "yealink-t46g", "colour": "red"}, 400, "colour"),
    ],
)
async def test_bad_input_names_the_field(
    env: Env, body: dict[str, Any], status: int, field: str
) -> None:
    async with env.orm(), env.api() as api, api.post(ROLLOUTS, json=body) as r:
        assert r.status == status, await r.text()
        assert (await r.json())["error"]["field"] == field


async def test_unknown_and_malformed_ids(env: Env) -> None:
    async with env.orm(), env.api() as api:
        async with api.get(f"{ROLLOUTS}/999999") as r:
            assert r.status == 404 and (await r.json())["error"]["field"] == "id"
        async with api.post(f"{ROLLOUTS}/abc/pause") as r:
            assert r.status == 400 and (await r.json())["error"]["field"] == "id"
        async with api.get(f"{ROLLOUTS}/999999/events") as r:
            assert r.status == 404


async def test_a_device_in_a_running_rollout_cannot_join_another(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(1)
        async with env.api() as api:
            body = {"devices": fleet.macs, "version": NEW}
            async with api.post(ROLLOUTS, json=body) as r:
                rid = (await r.json())["id"]
            async with api.post(ROLLOUTS, json=body) as r:
                assert r.status == 409
                error = (await r.json())["error"]
            assert error == {
                "message": f"{fleet.macs[0]} is already in rollout {rid}",
                "field": "devices",
            }
            async with api.post(f"{ROLLOUTS}/{rid}/cancel") as r:
                assert r.status == 200
            async with api.post(ROLLOUTS, json=body) as r:
                assert r.status == 201
                again = await r.json()
            async with api.post(f"{ROLLOUTS}/{again['id']}/cancel") as r:
                assert r.status == 200
