"""What a scrape reads when it comes (rollout devices, registered contacts, the queues'
callers and agents), the PBX restart counter fed by the supervisor's hook, and the
multiprocess switch."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from provd.db.models import Tenant
from provd.media import queue_files
from provd.pbx import PbxControl, PbxSettings
from provd.pbx.database import open_kamailio_db
from provd.pbx.process import ManagedProcess
from provd.pbx.rpc import KamailioRpc
from provd.services import devices, metrics, queues, rollouts
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.queues import agents
from provd.services.queues.collector import collect
from provd.services.rollouts import Options, Selection
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, add_image
from tests.procs import free_port
from tests.scrape import Samples, parse, value
from tests.services.queues.spool import spool_queue_call

MACS = ("001565000101", "001565000102")
VERSION = "28.83.0.130"


async def _scrape(control: PbxControl | None = None) -> Samples:
    body, content_type = await metrics.exposition(control)
    assert content_type.startswith("text/plain")
    return parse(body.decode())


def _devices(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["state"]: v
        for (name, labels), v in samples.items()
        if name == "provd_rollout_devices"
    }


async def test_rollout_devices_are_those_of_rollouts_not_over(platform: Platform) -> None:
    nothing = dict.fromkeys(("pending", "notified", "fetched", "done", "failed", "timed_out"), 0.0)
    assert _devices(await _scrape()) == nothing
    await add_image(platform, VERSION)
    for mac in MACS:
        await devices.add_device(platform, TEST_ACTOR, mac, T46G)
    started = await rollouts.start_rollout(
        TEST_ACTOR, Selection(devices=MACS), Options(version=VERSION)
    )
    assert _devices(await _scrape()) == nothing | {"pending": 2.0}
    await rollouts.pause_rollout(TEST_ACTOR, started.rollout.id)
    assert _devices(await _scrape()) == nothing | {"pending": 2.0}
    # Cancelled: its devices stay pending in its record, but nothing moves them any more.
    await rollouts.cancel_rollout(TEST_ACTOR, started.rollout.id)
    assert _devices(await _scrape()) == nothing


class _Kamailio(KamailioRpc):
    """Two AoRs: one phone with two bindings, one whose binding has lapsed."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/RPC", token=None)

    async def call(self, method: str, *params: str, timeout: float | None = None) -> Any:
        assert method == "ul.dump"

        def contact(address: str, expires: object) -> dict[str, Any]:
            return {"Contact": {"Address": address, "Expires": expires}}

        aors = [
            {
                "Info": {
                    "AoR": "201@default.provd.internal",
                    "Contacts": [
                        contact("sip:201@192.0.2.20:5060", 300),
                        contact("sip:201@192.0.2.21:5060", 120),
                    ],
                }
            },
            {
                "Info": {
                    "AoR": "202@default.provd.internal",
                    "Contacts": [contact("sip:202@192.0.2.22:5060", "expired")],
                }
            },
        ]
        return {"Domains": [{"Domain": {"Domain": "location", "AoRs": aors}}]}


def _control(tmp_path: Path, rpc: KamailioRpc) -> PbxControl:
    return PbxControl(
        rpc=rpc,
        db=open_kamailio_db(PbxSettings(tmp_path / "pbx-data")),
        next_hop="sip:127.0.0.1:5060",
        notify_token="n" * 48,
    )


async def test_registered_contacts_are_counted_as_the_console_counts_them(
    platform: Platform, tmp_path: Path
) -> None:
    control = _control(tmp_path, _Kamailio())
    try:
        samples = await _scrape(control)
    finally:
        await control.close()
    assert value(samples, "provd_pbx_registered_contacts") == 2
    assert ("provd_pbx_registered_contacts", frozenset()) not in await _scrape(None)


async def test_a_pbx_that_does_not_answer_leaves_the_gauge_out_not_the_scrape(
    platform: Platform, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rpc = KamailioRpc(f"http://127.0.0.1:{free_port()}/RPC", token="t" * 32)
    control = _control(tmp_path, rpc)
    try:
        samples = await _scrape(control)
    finally:
        await control.close()
    assert ("provd_pbx_registered_contacts", frozenset()) not in samples
    assert _devices(samples)  # the rest is there
    assert "did not give its registrations" in caplog.text


async def test_a_daemon_that_dies_and_comes_back_is_counted_once(
    platform: Platform, tmp_path: Path
) -> None:
    restarts = ("provd_pbx_restarts_total", frozenset({("process", "sleeper")}))
    before = (await _scrape()).get(restarts, 0.0)

    async def ready() -> bool:
        return True

    proc = ManagedProcess(
        "sleeper",
        ["sleep", "600"],
        cwd=tmp_path,
        log_path=tmp_path / "sleeper.log",
        ready=ready,
        min_backoff=0.05,
        on_restart=lambda: metrics.pbx_restarted("sleeper"),
    )
    await proc.start()
    try:
        first = proc.pid
        assert first is not None
        os.kill(first, 9)
        for _ in range(200):
            if proc.restarts == 1 and proc.pid not in (None, first):
                break
            await asyncio.sleep(0.02)
        assert proc.restarts == 1
        # A restart asked for (a configuration change) is not a death.
        await proc.restart()
    finally:
        await proc.stop()
    assert (await _scrape()).get(restarts, 0.0) - before == 1


_RECORD = """
import sys
from provd.services import metrics
for _ in range(int(sys.argv[1])):
    metrics.phone_auth_failed(throttled=False)
metrics.pbx_restarted("kamailio")
"""


@pytest.mark.slow
def test_several_processes_add_up_through_the_multiprocess_directory(
    platform: Platform, tmp_path: Path
) -> None:
    """Python processes of their own: prometheus_client picks its mode at import."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, metrics.MULTIPROCESS_ENV: str(shared)}
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", _RECORD, count], env=env, check=True, timeout=60)
    # The scrape reads the rollout gauge from the database: this test's.
    done = subprocess.run(
        [sys.executable, "-c", _SCRAPE_WITH_DATABASE, str(platform.data_dir)],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    samples = parse(done.stdout)
    assert value(samples, "provd_phone_auth_failures_total") == 5
    assert value(samples, "provd_pbx_restarts_total", process="kamailio") == 2
    # Only the stored values are added up; the process's own figures are left out.
    assert not any(name.startswith("process_") for name, _ in samples)
    assert value(samples, "provd_rollout_devices", state="pending") == 0


_SCRAPE_WITH_DATABASE = """
import asyncio, sys
from pathlib import Path
from provd.db.connection import database, db_url_for
from provd.services import metrics

async def main():
    async with database(db_url_for(Path(sys.argv[1]))):
        body, _ = await metrics.exposition(None)
    sys.stdout.write(body.decode())

asyncio.run(main())
"""


async def test_queue_figures_are_read_when_the_scrape_comes(platform: Platform) -> None:
    media = platform.data_dir / "pbx" / "media"
    samples = parse((await metrics.exposition(None, media_dir=media))[0].decode())
    assert value(samples, "provd_queue_waiting") == 0.0
    assert value(samples, "provd_queue_agents_logged_in") == 0.0
    for outcome in ("answered", "abandoned", "failover"):
        assert value(samples, "provd_queue_calls_total", outcome=outcome) == 0.0
    for ext in ("201", "202"):
        await users.add_user(platform, TEST_ACTOR, "default", ext, f"User {ext}")
    await queues.add_queue(platform, TEST_ACTOR, "default", "800", "A", agents=["201", "202"])
    await queues.add_queue(platform, TEST_ACTOR, "default", "801", "B", agents=["201"])
    await agents.set_login(platform, TEST_ACTOR, "default", "201", True)
    domain = (await Tenant.get(slug="default")).sip_domain
    spool_queue_call(media, domain, "800", agent="201")
    spool_queue_call(media, domain, "800")
    spool_queue_call(media, domain, "801")
    await collect(media)
    now = datetime.now(UTC)
    queue_files.write_live(
        media,
        now,
        {domain: {"800": queue_files.LiveQueue(2), "801": queue_files.LiveQueue(1)}},
    )
    samples = parse((await metrics.exposition(None, media_dir=media))[0].decode())
    assert value(samples, "provd_queue_waiting") == 3.0
    assert value(samples, "provd_queue_agents_logged_in") == 2.0
    assert value(samples, "provd_queue_calls_total", outcome="answered") == 1.0
    assert value(samples, "provd_queue_calls_total", outcome="abandoned") == 2.0
    # Each waited the records' 10 s: the average is the sum over the count.
    assert value(samples, "provd_queue_wait_seconds_total", outcome="abandoned") == 20.0
    assert value(samples, "provd_queue_wait_seconds_total", outcome="answered") == 10.0
    assert value(samples, "provd_queue_wait_seconds_total", outcome="failover") == 0.0
    # A queue removed keeps its callers in the count: it never goes down.
    await agents.set_login(platform, TEST_ACTOR, "default", "201", False)
    await queues.remove_queue(platform, TEST_ACTOR, "default", "801")
    samples = parse((await metrics.exposition(None, media_dir=media))[0].decode())
    assert value(samples, "provd_queue_calls_total", outcome="abandoned") == 2.0
    assert value(samples, "provd_queue_agents_logged_in") == 0.0
