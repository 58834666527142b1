"""``provd rollout …`` in its own process, steering the engine of this one through the
database, as it does with ``provd serve``."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from provd.db.models import AuditEntry
from tests.rollouts.conftest import NEW, Env
from tests.sim.phone import Behaviour, running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def provd(env: Env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "provd", "--data-dir", str(env.data_dir), *args]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return subprocess.CompletedProcess(argv, proc.returncode, out.decode(), err.decode())


async def provd_json(env: Env, *args: str) -> Any:
    done = await provd(env, *args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


async def test_start_watch_status_and_control(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(3, behaviours={2: Behaviour.UNREGISTERED})
        macs = ",".join(fleet.macs)
        async with running(fleet.phones), env.engine():
            done = await provd(
                env, "rollout", "start", "--devices", macs, "--version", NEW, "--watch"
            )
        # Not every device ended done: the exit status says so.
        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout
        found = re.search(r"^Rollout (\d+) started: 3 devices, 3 to update", out, re.M)
        assert found is not None, out
        rid = int(found[1])
        # No `serve --pbx` recorded for this data directory: the CLI cannot ask the PBX.
        assert "registration unknown: the PBX is not running" in out
        # Not a terminal: one progress line per change, the last one complete.
        progress = [line for line in out.splitlines() if line.startswith(f"rollout {rid} ")]
        assert len(progress) >= 2
        counts = "done 2  failed 1  timed out 0  updating 0  pending 0"
        assert re.match(rf"rollout {rid} done +\[#+\] 3/3  {counts}", progress[-1]), progress
        assert f"Rollout {rid}: done (2 done, 1 failed)" in out
        assert re.search(rf"^{fleet.macs[2]} +1 +failed +{NEW} +not registered$", out, re.M), out

        status = await provd_json(env, "rollout", "status", str(rid))
        assert status["counts"]["done"] == 2 and len(status["devices"]) == 3
        listed = await provd_json(env, "rollout", "list")
        assert listed[0]["id"] == rid

        refused = await provd(env, "rollout", "pause", str(rid))
        assert refused.returncode == 1
        assert "rollout: a done rollout cannot be paused" in refused.stderr
        missing = await provd(env, "rollout", "status", "999999")
        assert missing.returncode == 1 and "rollout '999999' not found" in missing.stderr

        start = await AuditEntry.get(action="rollout.start", object_key=str(rid))
        assert start.actor.startswith("cli:")


async def test_pause_and_cancel_from_the_cli(env: Env) -> None:
    async with env.orm():
        fleet = await env.phones(2)
        macs = ",".join(fleet.macs)
        # Started with no engine running: nothing happens until one runs.
        started = await provd_json(env, "rollout", "start", "--devices", macs, "--version", NEW)
        rid = started["id"]
        paused = await provd_json(env, "rollout", "pause", str(rid))
        assert paused["state"] == "paused"
        async with running(fleet.phones), env.engine():
            await asyncio.sleep(0.5)
            assert [p.notify_count for p in fleet.phones] == [0, 0]
            cancelled = await provd(env, "rollout", "cancel", str(rid))
        assert cancelled.returncode == 0, cancelled.stderr
        assert cancelled.stdout.startswith(f"Rollout {rid} cancelled.")
        status = await provd_json(env, "rollout", "status", str(rid))
        assert [d["reason"] for d in status["devices"]] == [
            "not started: the rollout was cancelled"
        ] * 2
        assert [p.notify_count for p in fleet.phones] == [0, 0]
