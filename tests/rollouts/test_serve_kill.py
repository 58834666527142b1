"""A real ``provd serve`` killed with SIGKILL in the middle of a rollout, then started
again: no device is lost and none is notified twice.

serve drives a Kamailio it does not run (``--pbx-external``), which this test runs
and keeps running, as an external PBX outlives a crash of provd. Phones mid-update
keep retrying their downloads while provd is down, as real ones do.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from provd.db.connection import database, db_url_for
from provd.db.models import Rollout, RolloutDevice
from provd.security.secretbox import SecretBox
from provd.services.platform import Platform
from provd.services.rollouts.engine import SENDING
from provd.settings import load_settings
from tests.procs import free_port
from tests.rollouts.conftest import NEW, Fleet, PbxHost, add_firmware, next_net
from tests.sim.phone import running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]
_TIMEOUT_S = 30.0


@dataclass
class Served:
    host: PbxHost
    data_dir: Path
    db_url: str
    fleet: Fleet
    logs: list[Path]
    proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        args = self.host.pbx_args()
        return [
            sys.executable,
            "-m",
            "provd",
            "--data-dir",
            str(self.data_dir),
            "serve",
            "--bind",
            "127.0.0.1",
            "--pbx-external",
            "--sip-address",
            args["sip_address"],
            "--rpc-address",
            args["rpc_address"],
            "--rtpengine-ng-address",
            args["rtpengine_ng_address"],
            "--media-address",
            args["media_address"],
        ]

    async def start(self) -> Path:
        log = self.data_dir.parent / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            # A session of its own: the kill takes serve and every worker at once.
            self.proc = subprocess.Popen(
                self.argv(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + _TIMEOUT_S
        while b"phones register at" not in log.read_bytes():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not start:\n" + log.read_text()
            await asyncio.sleep(0.1)
        return log

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -1

    async def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "provd", "--data-dir", str(self.data_dir), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), _TIMEOUT_S)
        assert proc.returncode is not None
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(), err.decode())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    tmp = tmp_path_factory.mktemp("serve-kill")
    data_dir = tmp / "data"
    options = ["--public-host", "127.0.0.1", "--https-port", str(free_port()), "--json"]
    init = subprocess.run(
        [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "init", *options],
        capture_output=True,
        check=True,
        timeout=_TIMEOUT_S,
    )
    assert json.loads(init.stdout)["tenant"] == "default"
    db_url = db_url_for(data_dir)
    platform = Platform(data_dir, load_settings(data_dir), SecretBox.load_or_create(data_dir))
    host = PbxHost(next_net(), data_dir)
    async with database(db_url):
        await host.start()
        await add_firmware(platform, NEW)
        fleet = await host.add_phones(platform, data_dir / "ca.pem", 12, reboot_s=1.5)
    served = Served(host, data_dir, db_url, fleet, [])
    try:
        yield served
    finally:
        rc = served.stop()
        assert host.supervisor is not None
        await host.supervisor.stop()
    assert rc == 0, served.logs[-1].read_text()


async def _states(rid: int) -> list[tuple[str, str]]:
    rows = await RolloutDevice.filter(rollout_id=rid).order_by("position")
    return [(r.state, r.reason) for r in rows]


async def test_kill_9_in_the_middle_loses_and_repeats_no_device(served: Served) -> None:
    phones = served.fleet.phones
    await served.start()
    async with running(phones), database(served.db_url):
        started = await served.cli(
            "rollout",
            "start",
            "--devices",
            ",".join(served.fleet.macs),
            "--version",
            NEW,
            "--concurrency",
            "4",
            "--batch",
            "12",
            "--timeout",
            "60",
            "--json",
        )
        assert started.returncode == 0, started.stderr
        view = json.loads(started.stdout)
        rid = view["id"]
        # The CLI reached the PBX serve drives: every phone is registered.
        assert view["not_registered_now"] == []

        # Kill while phones are rebooting and others wait: four under way, none of them
        # half-sent, two back already.
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            now = await _states(rid)
            under_way = [r for s, r in now if s in ("notified", "fetched")]
            done = sum(s == "done" for s, _ in now)
            if len(under_way) == 4 and SENDING not in under_way and done >= 2:
                break
            assert time.monotonic() < deadline, now
            await asyncio.sleep(0.02)
        served.kill()
        midway = await _states(rid)
        assert sum(s == "pending" for s, _ in midway) >= 1, midway

        log = await served.start()
        deadline = time.monotonic() + _TIMEOUT_S
        while (await Rollout.get(id=rid)).state != "done":
            assert time.monotonic() < deadline, await _states(rid)
            await asyncio.sleep(0.1)
        final = await _states(rid)

    assert [s for s, _ in final] == ["done"] * 12, final
    assert [p.notify_count for p in phones] == [1] * 12, [p.log.timeline for p in phones]
    assert all(p.version == NEW for p in phones)
    assert "resuming 1 running rollouts" in log.read_text()
    status = await served.cli("rollout", "status", str(rid), "--json")
    assert json.loads(status.stdout)["counts"]["done"] == 12
    # The killed server left nothing behind that the restarted one could not handle.
    assert os.path.exists(served.logs[0])
