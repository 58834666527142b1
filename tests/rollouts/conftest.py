"""Rollouts against the real thing: Kamailio and rtpengine started as the PBX tests start
them, provd's web app over HTTPS, and simulated phones (tests/sim) on loopback.

The environment is shared by the package's tests (one PBX start); each test makes
its own phones, users and devices, so they never see each other's. It has a /24
of loopback of its own, apart from the PBX tests' one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.db.models import FirmwareImage, Rollout, RolloutDevice
from provd.domain.firmware import FINAL_ROLLOUT_STATES, RolloutState
from provd.pbx import PbxControl, PbxSupervisor, tenant_domains
from provd.security.secretbox import SecretBox
from provd.security.tls import server_ssl_context
from provd.services import devices
from provd.services.access import tokens
from provd.services.audit import Actor
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.rollouts.engine import RolloutEngine
from provd.settings import Settings, save_settings
from provd.web.app import make_app
from provd.web.server import build_provisioner, tls_paths
from tests.pbx.conftest import NET as PBX_NET
from tests.pbx.conftest import pbx_settings
from tests.procs import free_port
from tests.sim.phone import Behaviour, Provisioning, SimPhone, SipLine, firmware_bytes

ACTOR = Actor("test")
MODEL = "yealink-t46g"
OLD, NEW = "28.83.0.120", "28.83.0.130"
OTHER_TENANT = "acme"


def own_net(avoid: set[str]) -> str:
    rng = random.Random(os.getpid() ^ time.time_ns())
    while True:
        net = f"127.{rng.randint(16, 250)}.{rng.randint(1, 254)}"
        if net not in avoid:
            return net


NETS = [PBX_NET]


def next_net() -> str:
    net = own_net(set(NETS))
    NETS.append(net)
    return net


async def add_firmware(p: Platform, version: str, *, tested: bool = True) -> FirmwareImage:
    """A T46G image in provd's store, as ``provd firmware add`` imports it."""
    from provd.services.firmware import add_image, check_new_image

    data = firmware_bytes(version)

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    new = check_new_image([MODEL], version, f"T46-{version}.rom", tested=tested)
    return (await add_image(p, ACTOR, new, chunks())).image


@dataclass
class Fleet:
    """What a test made: its phones by MAC, in order."""

    phones: list[SimPhone]

    @property
    def macs(self) -> list[str]:
        return [p.mac for p in self.phones]

    def by_mac(self) -> dict[str, SimPhone]:
        return {p.mac: p for p in self.phones}


@dataclass
class PbxHost:
    """A PBX on a loopback /24: Kamailio at .1, media at .10, phones from .20."""

    net: str
    data_dir: Path
    supervisor: PbxSupervisor | None = None
    _next: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def ip(self, host: int) -> str:
        return f"{self.net}.{host}"

    @property
    def proxy(self) -> tuple[str, int]:
        return (self.ip(1), 5060)

    @property
    def control(self) -> PbxControl:
        assert self.supervisor is not None
        return self.supervisor.control

    def pbx_args(self) -> dict[str, Any]:
        return {
            "sip_address": self.ip(1),
            "rpc_address": self.ip(1),
            "rtpengine_ng_address": self.ip(1),
            "media_address": self.ip(10),
        }

    async def start(self) -> None:
        domains = await tenant_domains()
        settings = pbx_settings(self.data_dir, children=4, **self.pbx_args())
        self.supervisor = PbxSupervisor(settings, domains=domains, max_backoff=1.0)
        await self.supervisor.start()

    async def add_phones(
        self,
        p: Platform,
        cafile: Path,
        count: int,
        *,
        version: str = OLD,
        behaviours: Mapping[int, Behaviour] | None = None,
        reboot_s: float = 0.2,
        tenant_slug: str = tenants.DEFAULT_TENANT,
    ) -> Fleet:
        """``count`` users, each on a new T46G, and the phone simulating it; call inside the
        database. Subscribers reach Kamailio before this returns."""
        tenant = await tenants.get_tenant(tenant_slug)
        phones = []
        for i in range(count):
            k = next(self._next)
            ext = str(2000 + k)
            user, password = await users.add_user(p, ACTOR, tenant.slug, ext, f"Phone {k}")
            mac = f"0015650{k:05x}"
            _, cred = await devices.add_device(
                p, ACTOR, mac, MODEL, tenant_slug=tenant.slug, users=[ext]
            )
            phones.append(
                SimPhone(
                    mac,
                    SipLine(ext, tenant.sip_domain, user.sip_username, password),
                    Provisioning(cred.url, cred.username, cred.password, cafile),
                    local=(self.ip(20 + k % 200), 5100 + k // 200),
                    proxy=self.proxy,
                    version=version,
                    behaviour=(behaviours or {}).get(i, Behaviour.NORMAL),
                    reboot_s=reboot_s,
                )
            )
        await self.control.sync_subscribers(p.box)
        return Fleet(phones)


@dataclass
class Env(PbxHost):
    """provd in this process (web app on HTTPS, engine on demand) with its own PBX."""

    platform: Platform | None = None
    db_url: str = ""
    https_port: int = 0
    api_token: str = ""
    runner: web.AppRunner | None = None

    @property
    def p(self) -> Platform:
        assert self.platform is not None
        return self.platform

    @property
    def cafile(self) -> Path:
        return self.data_dir / "ca.pem"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @contextlib.asynccontextmanager
    async def orm(self) -> AsyncIterator[None]:
        async with database(self.db_url):
            yield

    @contextlib.asynccontextmanager
    async def engine(
        self, poll_s: float = 0.1, sweep_s: float = 3600
    ) -> AsyncIterator[RolloutEngine]:
        engine = RolloutEngine(self.p, self.control, poll_s=poll_s, sweep_s=sweep_s)
        await engine.start()
        try:
            yield engine
        finally:
            await engine.stop()

    async def phones(self, count: int, **kw: Any) -> Fleet:
        return await self.add_phones(self.p, self.cafile, count, **kw)

    def api(self) -> aiohttp.ClientSession:
        import ssl

        return aiohttp.ClientSession(
            base_url=self.base_url,
            connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=self.cafile)),
            headers={"Authorization": f"Bearer {self.api_token}"},
            timeout=aiohttp.ClientTimeout(total=60),
        )


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, timeout: float, what: str, every: float = 0.05
) -> float:
    """Poll until ``check`` holds; the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)
    return time.monotonic() - started


async def finished(rollout_id: int) -> bool:
    rollout = await Rollout.get(id=rollout_id)
    if RolloutState(rollout.state) not in FINAL_ROLLOUT_STATES:
        return False
    return not await RolloutDevice.filter(
        rollout_id=rollout_id, state__in=["notified", "fetched"]
    ).exists()


async def states(rollout_id: int) -> dict[str, tuple[str, str]]:
    rows = await RolloutDevice.filter(rollout_id=rollout_id).order_by("position")
    return {r.mac: (r.state, r.reason) for r in rows}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    data_dir = tmp_path_factory.mktemp("rollouts")
    https_port = free_port()
    settings = Settings(public_host="127.0.0.1", https_port=https_port, bind="127.0.0.1")
    save_settings(data_dir, settings)
    db_url = db_url_for(data_dir)
    await upgrade_schema(db_url)
    platform = Platform(data_dir, settings, SecretBox.load_or_create(data_dir))
    env = Env(next_net(), data_dir, platform=platform, db_url=db_url, https_port=https_port)
    async with database(db_url):
        await tenants.add_tenant(platform, ACTOR, tenants.DEFAULT_TENANT)
        # A tenant of its own for tests that pin firmware (pins are per tenant and model).
        await tenants.add_tenant(platform, ACTOR, OTHER_TENANT, sip_domain="acme.test")
        env.api_token = await tokens.create_token(ACTOR, "rollout-tests")
        await env.start()
        await add_firmware(platform, NEW)
        await add_firmware(platform, "28.83.0.140", tested=False)
    try:
        app = make_app(platform, build_provisioner(platform), pbx=env.control)
        env.runner = web.AppRunner(app, access_log=None)
        await env.runner.setup()
        ssl_context = server_ssl_context(tls_paths(data_dir, settings))
        await web.TCPSite(env.runner, "127.0.0.1", https_port, ssl_context=ssl_context).start()
        yield env
    finally:
        if env.runner is not None:
            await env.runner.cleanup()
        assert env.supervisor is not None
        await env.supervisor.stop()
