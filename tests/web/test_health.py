"""/healthz and /readyz as a load balancer calls them: no credentials, fixed answers.

The database is really closed, or really a PostgreSQL nobody answers for; a PBX that
does not answer is an RPC address and an rtpengine port nothing listens on. A PBX that
answers is a canned Kamailio RPC and a UDP responder speaking rtpengine's ng ping (real
daemons: tests/test_serve_metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from tortoise import Tortoise

from provd.db.connection import tortoise_config
from provd.pbx import PbxControl, PbxSettings
from provd.pbx.database import open_kamailio_db
from provd.pbx.rpc import KamailioRpc
from provd.services.platform import Platform
from provd.web.app import make_app
from provd.web.server import build_provisioner
from tests.procs import free_port
from tests.web.conftest import Served

READY = {"status": "ready", "checks": {"database": "ok"}, "not_ready": []}
DB_PASSWORD = "pg-Secret-4711"


async def _get(session: aiohttp.ClientSession, base: str, path: str) -> tuple[int, Any]:
    async with session.get(base + path) as r:
        assert r.headers["Cache-Control"] == "no-store"
        return r.status, await r.json()


async def test_healthz_answers_without_credentials_or_the_database(
    served: Served, session: aiohttp.ClientSession
) -> None:
    assert await _get(session, served.base, "/healthz") == (200, {"status": "ok"})
    await Tortoise.close_connections()
    assert await _get(session, served.base, "/healthz") == (200, {"status": "ok"})


async def test_readyz_is_ready_while_the_database_answers(
    served: Served, session: aiohttp.ClientSession
) -> None:
    assert await _get(session, served.base, "/readyz") == (200, READY)


async def test_readyz_is_503_once_the_database_is_closed(
    served: Served, session: aiohttp.ClientSession
) -> None:
    assert (await _get(session, served.base, "/readyz"))[0] == 200
    await Tortoise.close_connections()
    status, body = await _get(session, served.base, "/readyz")
    assert status == 503
    assert body == {
        "status": "not ready",
        "checks": {"database": "does not answer"},
        "not_ready": ["database"],
    }


async def test_readyz_is_503_when_the_database_is_unreachable_and_tells_nothing_of_it(
    served: Served, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # The running application's database becomes a PostgreSQL server nobody answers for.
    port = free_port()
    url = f"postgres://provd:{DB_PASSWORD}@127.0.0.1:{port}/provd"
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url))
    caplog.set_level(logging.WARNING, logger="provd.health")
    for _ in range(2):
        async with session.get(served.base + "/readyz") as r:
            assert r.status == 503
            text = await r.text()
    assert '"not_ready": ["database"]' in text
    for secret in (DB_PASSWORD, str(port), "postgres", "provd:"):
        assert secret not in text
    # The operator reads the cause in the log, once however often the probe comes.
    [noted] = [r.getMessage() for r in caplog.records if r.name == "provd.health"]
    assert "not ready: database does not answer" in noted and DB_PASSWORD not in noted


class _Kamailio(KamailioRpc):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/RPC", token=None)

    async def call(self, method: str, *params: str, timeout: float | None = None) -> Any:
        assert method == "core.uptime"
        return {"uptime": 42}


class _Rtpengine(asyncio.DatagramProtocol):
    """Answers ng pings: ``<cookie> d7:command4:pinge`` → ``<cookie> d6:result4:ponge``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        cookie, _, body = data.partition(b" ")
        if body == b"d7:command4:pinge":
            self.transport.sendto(cookie + b" d6:result4:ponge", addr)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(
    platform: Platform, control: PbxControl, aiohttp_client: AiohttpClient
) -> TestClient[Any, Any]:
    app = make_app(platform, build_provisioner(platform), pbx=control)
    return await aiohttp_client(app)


@pytest.fixture
async def answering(tmp_path: Path) -> AsyncIterator[PbxControl]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Rtpengine, local_addr=("127.0.0.1", 0))
    control = PbxControl(
        rpc=_Kamailio(),
        db=open_kamailio_db(PbxSettings(tmp_path / "pbx-data")),
        next_hop="sip:127.0.0.1:5060",
        notify_token="n" * 48,
        rtpengine_ng=transport.get_extra_info("sockname")[:2],
    )
    yield control
    await control.close()
    transport.close()


@pytest.fixture
async def silent(tmp_path: Path) -> AsyncIterator[PbxControl]:
    control = PbxControl(
        rpc=KamailioRpc(f"http://127.0.0.1:{free_port()}/RPC", token="t" * 32),
        db=open_kamailio_db(PbxSettings(tmp_path / "pbx-data")),
        next_hop="sip:127.0.0.1:5060",
        notify_token="n" * 48,
        rtpengine_ng=("127.0.0.1", _free_udp_port()),
    )
    yield control
    await control.close()


async def test_with_a_pbx_that_answers_readyz_checks_kamailio_and_rtpengine(
    platform: Platform, answering: PbxControl, aiohttp_client: AiohttpClient
) -> None:
    client = await _client(platform, answering, aiohttp_client)
    async with client.get("/readyz") as r:
        assert r.status == 200
        assert await r.json() == {
            "status": "ready",
            "checks": {"database": "ok", "kamailio": "ok", "rtpengine": "ok"},
            "not_ready": [],
        }


async def test_with_a_pbx_that_does_not_answer_readyz_names_both_daemons(
    platform: Platform, silent: PbxControl, aiohttp_client: AiohttpClient
) -> None:
    client = await _client(platform, silent, aiohttp_client)
    async with client.get("/readyz") as r:
        assert r.status == 503
        body = await r.json()
    assert body["not_ready"] == ["kamailio", "rtpengine"]
    assert body["checks"] == {
        "database": "ok",
        "kamailio": "does not answer its RPC",
        "rtpengine": "does not answer a ping",
    }
