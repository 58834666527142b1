"""Two `provd serve` nodes on one PostgreSQL database behave as one server, for real:
separate processes with data directories of their own (copies, as a second host's
would be), a private PostgreSQL cluster, a TCP balancer in front as phones would
reach them, Kamailio run by the test as an external PBX, and simulated phones.

- a challenge from one node is answered on the other; a replay to either is refused;
- a device changed through one node's API is served changed by the other at once;
- a rollout started through the node that is not the leader is run by the leader
  only; killed outright mid-rollout, the other node takes the lease and finishes it,
  no phone notified twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import DigestAuthMiddleware

from provd.db.connection import database
from provd.db.models import Rollout, RolloutDevice
from provd.pbx import PbxSupervisor, tenant_domains
from provd.security.secretbox import SecretBox
from provd.services.platform import Platform
from provd.settings import load_settings
from tests.digest_client import authorization, parse_challenge
from tests.pbx.conftest import pbx_settings
from tests.pg import create_database
from tests.procs import free_port, matching
from tests.rollouts.conftest import NEW, Fleet, PbxHost, add_firmware, next_net
from tests.sim.phone import running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]
_TIMEOUT_S = 60.0
_PHONES = 12


@dataclass
class PostgresPbxHost(PbxHost):
    """The rollout tests' PBX, with its tables in provd's PostgreSQL database."""

    db_url: str = ""

    async def start(self) -> None:
        domains = await tenant_domains()
        settings = pbx_settings(self.data_dir, children=4, db_url=self.db_url, **self.pbx_args())
        self.supervisor = PbxSupervisor(settings, domains=domains, max_backoff=1.0)
        await self.supervisor.start()


class Balancer:
    """A TCP balancer as phones reach a cluster through: each connection goes to the
    first node that accepts it."""

    def __init__(self, host: str, port: int, backends: list[tuple[str, int]]) -> None:
        self.host, self.port, self.backends = host, port, backends
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for host, port in self.backends:
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        else:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                dst.close()


@dataclass
class Node:
    name: str
    data_dir: Path
    address: str
    port: int
    workers: int
    host: PbxHost
    log: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log = self.data_dir.parent / f"{self.name}.log"

    @property
    def base(self) -> str:
        return f"https://{self.address}:{self.port}"

    def start(self) -> None:
        pbx = self.host.pbx_args()
        argv = [sys.executable, "-m", "provd", "--data-dir", str(self.data_dir), "serve"]
        argv += ["--bind", self.address, "--workers", str(self.workers), "--pbx-external"]
        for option in ("sip_address", "rpc_address", "rtpengine_ng_address", "media_address"):
            argv += [f"--{option.replace('_', '-')}", pbx[option]]
        with self.log.open("ab") as out:
            # A session of its own: killing the node kills all its processes at once.
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for(self, mark: str) -> None:
        deadline = time.monotonic() + _TIMEOUT_S
        while mark not in self.text():
            assert self.proc is not None and self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, f"{self.name}: no {mark!r}:\n{self.text()}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return -1


@dataclass
class Cluster:
    a: Node
    b: Node
    db_url: str
    token: str
    fleet: Fleet
    device: dict[str, Any]

    def session(self) -> aiohttp.ClientSession:
        context = ssl.create_default_context(cafile=str(self.a.data_dir / "ca.pem"))
        # The nodes' own addresses are not in the certificate; the balancer's is.
        context.check_hostname = False
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, force_close=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: str
) -> AsyncIterator[Cluster]:
    tmp = tmp_path_factory.mktemp("nodes")
    db_url = create_database(postgres_server, "provd_nodes")
    net = next_net()
    # Phones and the provisioning URL name the balancer; the nodes listen behind it.
    lb_address, port = f"{net}.6", free_port()
    data_a = tmp / "a" / "data"
    argv = [sys.executable, "-m", "provd", "--data-dir", str(data_a), "--db", db_url, "init"]
    init = subprocess.run(
        [*argv, "--public-host", lb_address, "--https-port", str(port), "--json"],
        capture_output=True,
        check=True,
        timeout=_TIMEOUT_S,
    )
    token = json.loads(init.stdout)["api_token"]
    platform = Platform(data_a, load_settings(data_a), SecretBox.load_or_create(data_a))
    host = PostgresPbxHost(net, data_a, db_url=db_url)
    async with database(db_url):
        await host.start()
        await add_firmware(platform, NEW)
        fleet = await host.add_phones(platform, data_a / "ca.pem", _PHONES, reboot_s=1.5)
    # A second host's data directory: the same keys, certificates and firmware store.
    data_b = tmp / "b" / "data"
    # (Not the runtime files of the Kamailio this test runs from the first one.)
    shutil.copytree(data_a, data_b, ignore=shutil.ignore_patterns("run", "*.pid"))
    a = Node("a", data_a, f"{net}.4", port, 2, host)
    b = Node("b", data_b, f"{net}.5", port, 1, host)
    balancer = Balancer(lb_address, port, [(a.address, port), (b.address, port)])
    await balancer.start()
    first = fleet.phones[0]
    device = {"mac": first.mac, "username": first.prov.username, "password": first.prov.password}
    a.start()
    try:
        await a.wait_for("phones register at")
        b.start()
        await b.wait_for("provd serving phones")
        yield Cluster(a, b, db_url, token, fleet, device)
    finally:
        codes = {node.name: node.stop() for node in (a, b)}
        await balancer.stop()
        assert host.supervisor is not None
        await host.supervisor.stop()
        left = matching(str(data_a), str(data_b))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert codes["b"] == 0, b.text()
    assert left == [], "processes left behind"


async def _get(
    s: aiohttp.ClientSession, url: str, auth: str | None = None
) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": auth} if auth else {}
    async with s.get(url, headers=headers) as r:
        return r.status, dict(r.headers), await r.text()


async def test_a_challenge_from_one_node_is_answered_on_the_other(cluster: Cluster) -> None:
    mac = cluster.device["mac"]
    user, password = cluster.device["username"], cluster.device["password"]
    path = f"/{mac}.cfg"
    async with cluster.session() as s:
        status, headers, _ = await _get(s, cluster.a.base + path)
        assert status == 401
        answer = authorization(
            parse_challenge(headers["WWW-Authenticate"]), user, password, "GET", path
        )
        status, _, body = await _get(s, cluster.b.base + path, answer)
        assert status == 200 and "account.1.user_name" in body
        # The same request again, to either node: refused, never served twice. Where the
        # nonce was used it is a replay; the other node says stale, so a phone with the
        # password starts over there.
        status, headers, _ = await _get(s, cluster.a.base + path, answer)
        assert status == 401 and "stale=true" in headers["WWW-Authenticate"]
        status, headers, _ = await _get(s, cluster.b.base + path, answer)
        assert status == 401 and "stale=true" not in headers["WWW-Authenticate"]


async def test_a_change_through_one_node_is_served_by_the_other_at_once(cluster: Cluster) -> None:
    mac = cluster.device["mac"]
    user, password = cluster.device["username"], cluster.device["password"]
    async with cluster.session() as s:
        fetch = DigestAuthMiddleware(user, password)
        async with s.get(f"{cluster.b.base}/{mac}.cfg", middlewares=(fetch,)) as r:
            assert r.status == 200
            assert "internet_port_vid = 42" not in await r.text()
        async with s.patch(
            f"{cluster.a.base}/api/v1/devices/{mac}",
            json={"vlan_lan": "42"},
            headers={"Authorization": f"Bearer {cluster.token}"},
        ) as r:
            assert r.status == 200, await r.text()
        # The very next request to the other node: no waiting, no cache to expire.
        async with s.get(f"{cluster.b.base}/{mac}.cfg", middlewares=(fetch,)) as r:
            assert r.status == 200
            assert "static.network.vlan.internet_port_vid = 42" in await r.text()


async def _states(rid: int) -> list[str]:
    return [r.state for r in await RolloutDevice.filter(rollout_id=rid).order_by("position")]


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + _TIMEOUT_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {_TIMEOUT_S:g} s: {what}"
        await asyncio.sleep(0.05)


async def test_a_rollout_runs_on_the_leader_only_and_survives_its_death(cluster: Cluster) -> None:
    a, b, phones = cluster.a, cluster.b, cluster.fleet.phones
    async with running(phones), database(cluster.db_url), cluster.session() as s:
        # Started through the node that does not lead: the leader's engine runs it.
        async with s.post(
            f"{b.base}/api/v1/rollouts",
            json={
                "devices": cluster.fleet.macs,
                "version": NEW,
                "concurrency": 4,
                "batch": _PHONES,
                "timeout": 60,
            },
            headers={"Authorization": f"Bearer {cluster.token}"},
        ) as r:
            assert r.status == 201, await r.text()
            view = await r.json()
        rid = view["id"]
        assert view["not_registered_now"] == []

        async def midway() -> bool:
            now = await _states(rid)
            return now.count("done") >= 2 and "pending" in now

        await _until(midway, "the rollout under way")
        assert f"rollout {rid}: " in a.text()
        assert f"rollout {rid}: " not in b.text()
        a.kill()

        await b.wait_for("took over as leader")

        async def done() -> bool:
            return (await Rollout.get(id=rid)).state == "done"

        await _until(done, "the rollout done")
        final = await _states(rid)
    assert final == ["done"] * _PHONES
    assert [p.notify_count for p in phones] == [1] * _PHONES, [p.log.timeline for p in phones]
    assert all(p.version == NEW for p in phones)
    assert "resuming 1 running rollouts" in b.text()
    # The node that took over notified the phones the dead one had not reached.
    assert f"rollout {rid}: " in b.text() and "notified" in b.text()
