"""The leader lease: one holder at a time, its services started once and stopped when
it lets go, and another process taking over when it is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from provd.services.cluster.leader import FileLease, Leadership, Stop


class Services:
    """What a leader runs, as a log of starts and stops."""

    def __init__(self, name: str, log: list[str], *, fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    async def start(self) -> Stop:
        if self.fail:
            raise RuntimeError("the PBX would not start")
        self.log.append(f"{self.name} started")

        async def stop() -> None:
            self.log.append(f"{self.name} stopped")

        return stop


async def _until(check: object, timeout: float = 5.0) -> None:
    assert callable(check)
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_file_lease_has_one_holder_until_released(tmp_path: Path) -> None:
    first, second = FileLease(tmp_path), FileLease(tmp_path)
    assert await first.acquire()
    assert await first.acquire()  # asking again while holding it
    assert not await second.acquire()
    assert await first.held()
    await first.release()
    assert not await first.held()
    assert await second.acquire()


async def test_services_run_in_one_process_and_move_when_it_stops(tmp_path: Path) -> None:
    log: list[str] = []
    a = Leadership(FileLease(tmp_path), Services("a", log).start, every_s=0.02)
    b = Leadership(FileLease(tmp_path), Services("b", log).start, every_s=0.02)
    assert await a.try_lead()
    assert not await b.try_lead()
    a.follow()
    b.follow()
    await asyncio.sleep(0.1)
    assert log == ["a started"] and a.leading and not b.leading
    await a.close()
    await _until(lambda: b.leading)
    assert log == ["a started", "a stopped", "b started"]
    await b.close()
    assert log[-1] == "b stopped"


async def test_services_that_fail_to_start_leave_the_lease_to_others(tmp_path: Path) -> None:
    log: list[str] = []
    broken = Leadership(FileLease(tmp_path), Services("a", log, fail=True).start)
    with pytest.raises(RuntimeError):
        await broken.try_lead()
    assert not broken.leading
    healthy = Leadership(FileLease(tmp_path), Services("b", log).start)
    assert await healthy.try_lead()
    await healthy.close()
    assert log == ["b started", "b stopped"]


class LosableLease(FileLease):
    lost = False

    async def held(self) -> bool:
        return not self.lost and await super().held()


async def test_a_leader_that_loses_its_lease_stops_its_services(tmp_path: Path) -> None:
    log: list[str] = []
    lease = LosableLease(tmp_path)
    leadership = Leadership(lease, Services("a", log).start, every_s=0.02)
    assert await leadership.try_lead()
    leadership.follow()
    lease.lost = True
    await _until(lambda: not leadership.leading)
    assert log == ["a started", "a stopped"]
    # Released, so another process can take it at its next try.
    assert await FileLease(tmp_path).acquire()
    await leadership.close()
