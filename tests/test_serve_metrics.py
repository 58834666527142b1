"""The operations endpoints of a real `provd serve` child process, as a load balancer
and Prometheus call them: /healthz and /readyz without credentials, /metrics with the
API token init printed, after a phone's fetch and a failed Digest. With `--pbx`, /readyz
follows Kamailio and rtpengine (one stopped, then continued; one killed, restarted by
the supervisor and counted)."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware

from tests.pbx.conftest import ip
from tests.procs import free_port, matching, provd_json, serve_pbx_args
from tests.scrape import Samples, parse, value

pytestmark = pytest.mark.slow

MAC = "0015654aa937"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"
WRONG = "Wr0ng-pass!"
PROXY, MEDIA = ip(150), ip(151)
_TIMEOUT_S = 30.0


@dataclass
class Serving:
    data_dir: Path
    base: str
    token: str
    log: Path

    def session(self) -> aiohttp.ClientSession:
        context = ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))
        return aiohttp.ClientSession(
            self.base,
            connector=aiohttp.TCPConnector(ssl=context),
            timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S),
        )

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        async with self.session() as s, s.get(path, **kw) as r:
            return r.status, await r.text()

    async def scrape(self) -> Samples:
        status, text = await self.get("/metrics", headers={"Authorization": f"Bearer {self.token}"})
        assert status == 200, text
        return parse(text)


@contextmanager
def _serve(tmp: Path, *extra: str, ready_mark: str) -> Iterator[tuple[Serving, dict[str, Any]]]:
    data_dir = tmp / "data"
    https = free_port()
    init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(https))
    provd_json(data_dir, "user", "add", "--extension", "201", "--name", "Front Desk")
    added = provd_json(
        data_dir, "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201"
    )
    log = tmp / "serve.log"
    argv = [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve"]
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [*argv, "--bind", "127.0.0.1", *extra], stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + _TIMEOUT_S
        while ready_mark not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve not up:\n" + log.read_text()
            time.sleep(0.1)
        serving = Serving(data_dir, f"https://127.0.0.1:{https}", str(init["api_token"]), log)
        yield serving, added["provisioning"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        left = matching(str(data_dir), f"--listen-ng={PROXY}:", programs=("kamailio", "rtpengine"))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert rc == 0, log.read_text()
    assert left == [], "serve left PBX processes behind"


async def _fetch(serving: Serving, user: str, password: str) -> int:
    async with (
        serving.session() as s,
        s.get(
            f"/{MAC}.cfg",
            headers={"User-Agent": UA},
            middlewares=(DigestAuthMiddleware(user, password),),
        ) as r,
    ):
        await r.read()
        return r.status


async def test_a_served_provd_reports_its_health_and_counts_what_phones_did(
    tmp_path: Path,
) -> None:
    # One process: its own process_* figures are shown (tests/test_serve_workers.py adds
    # up the counts of several).
    with _serve(tmp_path, "--workers", "1", ready_mark="provd serving phones") as (
        serving,
        provisioning,
    ):
        assert await serving.get("/healthz") == (200, '{"status": "ok"}')
        status, ready = await serving.get("/readyz")
        assert status == 200 and '"not_ready": []' in ready
        assert (await serving.get("/metrics"))[0] == 401

        user, password = provisioning["username"], provisioning["password"]
        assert await _fetch(serving, user, password) == 200
        assert await _fetch(serving, user, WRONG) == 401
        status, text = await serving.get(
            "/metrics", headers={"Authorization": f"Bearer {serving.token}"}
        )
    assert status == 200
    samples = parse(text)
    # A fresh process: every count is this test's own.
    assert value(samples, "provd_http_requests_total", route="phone", status="200") == 1
    assert value(samples, "provd_http_requests_total", route="phone", status="401") == 3
    assert value(samples, "provd_http_requests_total", route="other", status="200") == 2
    assert value(samples, "provd_http_requests_total", route="other", status="401") == 1
    assert value(samples, "provd_phone_auth_failures_total") == 1
    assert value(samples, "provd_phone_auth_throttled_total") == 0
    assert value(samples, "provd_phone_fetch_seconds_count") == 1
    assert value(samples, "provd_rollout_devices", state="pending") == 0
    assert value(samples, "process_open_fds") > 0
    for shown in (MAC, "00:15:65:4a:a9:37", user, password, serving.token):
        assert shown not in text


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + _TIMEOUT_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {_TIMEOUT_S:g} s: {what}"
        await asyncio.sleep(0.2)


async def test_with_the_pbx_readyz_follows_its_daemons_and_restarts_are_counted(
    tmp_path: Path,
) -> None:
    with _serve(tmp_path, *serve_pbx_args(PROXY, MEDIA), ready_mark="phones register at") as (
        serving,
        _,
    ):
        pbx_dir = serving.data_dir / "pbx"
        status, ready = await serving.get("/readyz")
        assert status == 200, ready
        assert '"kamailio": "ok"' in ready and '"rtpengine": "ok"' in ready
        samples = await serving.scrape()
        assert value(samples, "provd_pbx_registered_contacts") == 0

        # rtpengine stopped (not dead: the supervisor has nothing to restart) is not ready.
        rtpengine = int((pbx_dir / "rtpengine.pid").read_text())
        os.kill(rtpengine, signal.SIGSTOP)
        try:
            status, ready = await serving.get("/readyz")
        finally:
            os.kill(rtpengine, signal.SIGCONT)
        assert status == 503 and '"not_ready": ["rtpengine"]' in ready, ready

        async def ready_again() -> bool:
            return (await serving.get("/readyz"))[0] == 200

        await _until(ready_again, "ready once rtpengine continues")

        # Kamailio killed: the supervisor starts it again, and it is counted once.
        kamailio = int((pbx_dir / "kamailio.pid").read_text())
        os.kill(kamailio, signal.SIGKILL)

        async def restarted() -> bool:
            samples = await serving.scrape()
            return value(samples, "provd_pbx_restarts_total", process="kamailio") == 1

        await _until(restarted, "Kamailio's restart counted")
        await _until(ready_again, "ready once Kamailio is back")
        samples = await serving.scrape()
        assert value(samples, "provd_pbx_restarts_total", process="kamailio") == 1
        assert value(samples, "provd_pbx_restarts_total", process="rtpengine") == 0
