"""Fetch notes (last fetch, address, User-Agent, reported firmware) are written behind
the answers while a write is under way, and none is lost when serve stops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from provd.db import direct
from provd.db.models import Device
from provd.services import devices
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.provisioning import records
from provd.services.provisioning.fetch_notes import FetchNotes
from provd.services.provisioning.records import PhoneDevice
from tests.conftest import TEST_ACTOR

MACS = ("001565000001", "001565000002", "001565000003")


async def _devices(p: Platform) -> list[PhoneDevice]:
    found = []
    for i, mac in enumerate(MACS):
        await users.add_user(p, TEST_ACTOR, "default", f"20{i}", f"User {i}")
        _, credential = await devices.add_device(
            p, TEST_ACTOR, mac, "yealink-t46g", users=[f"20{i}"]
        )
        device = await records.device_by_username(credential.username)
        assert device is not None
        found.append(device)
    return found


class HeldWrites:
    """``direct.execute_many`` that waits for ``release`` before writing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = asyncio.Event()
        self.batches: list[int] = []
        real = direct.execute_many

        async def held(sql: str, rows: Sequence[Sequence[Any]]) -> None:
            self.batches.append(len(rows))
            await self.release.wait()
            await real(sql, rows)

        monkeypatch.setattr(direct, "execute_many", held)


async def _noted() -> dict[str, str | None]:
    return {d.mac: d.last_fetch_ip for d in await Device.filter(mac__in=MACS)}


async def test_a_note_on_a_quiet_server_is_written_before_the_answer(
    platform: Platform,
) -> None:
    a, *_ = await _devices(platform)
    notes = FetchNotes()
    await notes.note(a, "192.0.2.1", "Yealink SIP-T46G 28.83.0.120", "28.83.0.120")
    device = await Device.get(mac=a.mac)
    assert device.last_fetch_ip == "192.0.2.1"
    assert device.reported_firmware == "28.83.0.120"
    assert device.last_user_agent == "Yealink SIP-T46G 28.83.0.120"


async def test_notes_during_a_write_do_not_wait_and_go_in_one_batch(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = await _devices(platform)
    held = HeldWrites(monkeypatch)
    notes = FetchNotes()
    first = asyncio.create_task(notes.note(a, "192.0.2.1", "UA", None))
    while not held.batches:
        await asyncio.sleep(0)
    # A write is under way: these answers go out at once, their notes pending.
    await notes.note(b, "192.0.2.2", "UA", None)
    await notes.note(c, "192.0.2.3", "UA", None)
    assert notes.pending == 2
    assert await _noted() == dict.fromkeys(MACS)
    held.release.set()
    await first
    await notes.close()
    assert held.batches == [1, 2]
    assert await _noted() == dict(zip(MACS, ("192.0.2.1", "192.0.2.2", "192.0.2.3"), strict=True))


async def test_close_writes_what_is_pending(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = await _devices(platform)
    held = HeldWrites(monkeypatch)
    notes = FetchNotes()
    first = asyncio.create_task(notes.note(a, "192.0.2.1", "UA", None))
    while not held.batches:
        await asyncio.sleep(0)
    await notes.note(b, "192.0.2.2", "UA", None)
    # serve stops while the first write is still under way.
    closing = asyncio.create_task(notes.close())
    held.release.set()
    await asyncio.gather(first, closing)
    assert notes.pending == 0
    noted = await _noted()
    assert noted[a.mac] == "192.0.2.1" and noted[b.mac] == "192.0.2.2"


async def test_a_failed_write_is_kept_and_written_later(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, _ = await _devices(platform)
    real = direct.execute_many
    calls = 0

    async def fails_once(sql: str, rows: Sequence[Sequence[Any]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        await real(sql, rows)

    monkeypatch.setattr(direct, "execute_many", fails_once)
    notes = FetchNotes()
    # The phone's answer does not depend on its note being written.
    await notes.note(a, "192.0.2.1", "UA", None)
    assert notes.pending == 1
    await notes.close()
    assert (await Device.get(mac=a.mac)).last_fetch_ip == "192.0.2.1"


async def test_one_note_per_boot(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    a, _, _ = await _devices(platform)
    written: list[int] = []
    real = direct.execute_many

    async def counted(sql: str, rows: Sequence[Sequence[Any]]) -> None:
        written.append(len(rows))
        await real(sql, rows)

    monkeypatch.setattr(direct, "execute_many", counted)
    notes = FetchNotes()
    for _ in range(4):  # a boot: the challenge and three files, within a second
        await notes.note(a, "192.0.2.1", "UA", "28.83.0.120")
    assert written == [1]
    # Another address, another User-Agent or another firmware is news.
    await notes.note(a, "192.0.2.9", "UA", "28.83.0.120")
    await notes.note(a, "192.0.2.9", "UA 2", "28.83.0.120")
    await notes.note(a, "192.0.2.9", "UA 2", "28.83.0.130")
    await notes.note(a, "192.0.2.9", "UA 2", None)
    assert written == [1, 1, 1, 1]
