"""One real PBX for the whole test session: provd DB → subscriber sync → Kamailio + rtpengine.

Every role has its own loopback address (Linux routes all of 127/8 on lo), so
no ports collide and the SDP rewrite is visible: media on .10 is rtpengine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.db.models import Tenant, User
from provd.domain.passwords import generate_password
from provd.domain.routing import Carrier, Carriers, TenantRouting
from provd.domain.routing_table import RoutingTable
from provd.pbx.errors import RpcError
from provd.pbx.media_app import media_hostport
from provd.pbx.settings import PbxSecrets, PbxSettings
from provd.pbx.subscribers import SyncReport, tenant_domains
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox
from provd.services.platform import Platform
from provd.services.routing import LiveTable
from provd.services.service_codes import ServiceCodes
from provd.settings import Settings
from provd.web.pbx_routing import start_routing_site


def _test_net() -> str:
    """A /24 of loopback picked per test run: two runs on one machine (CI and a
    developer's) then never share SIP, RTP or RPC addresses."""
    rng = random.Random(os.getpid() ^ time.time_ns())
    return f"127.{rng.randint(16, 250)}.{rng.randint(1, 254)}"


NET = _test_net()


def ip(host: int) -> str:
    return f"{NET}.{host}"


PROXY_IP = ip(1)
MEDIA_IP = ip(10)
CALLER = (ip(2), 5061)
CALLEE = (ip(3), 5070)
OTHER = (ip(5), 5072)
SPARE = (ip(6), 5074)
ACME = "acme.test"
GLOBEX = "globex.test"


@dataclass(frozen=True, slots=True)
class Account:
    extension: str
    domain: str
    username: str
    password: str

    @property
    def aor(self) -> str:
        return f"{self.extension}@{self.domain}"

    def auth(self, password: str | None = None) -> str:
        return f"[authentication username={self.username} password={password or self.password}]"


def reg_row(
    account: Account, contact: tuple[str, int], *, expires: int = 3600, password: str | None = None
) -> list[str]:
    return [
        account.extension,
        account.domain,
        account.auth(password),
        str(expires),
        f"{contact[0]}:{contact[1]}",
    ]


def call_row(
    caller: Account, callee_ext: str, callee_domain: str, password: str | None = None
) -> list[str]:
    return [caller.extension, caller.domain, caller.auth(password), callee_ext, callee_domain]


@dataclass(slots=True)
class PbxEnv:
    supervisor: PbxSupervisor
    box: SecretBox
    data_dir: Path
    work: Path
    accounts: dict[str, Account]
    initial_sync: SyncReport
    db_url: str
    routing: LiveTable

    async def refresh_routing(self) -> None:
        """What serve does when routing data changes: rebuild the table provd answers from."""
        async with self.orm():
            await self.routing.refresh()

    @property
    def proxy(self) -> str:
        return f"{PROXY_IP}:5060"

    @contextlib.asynccontextmanager
    async def orm(self) -> AsyncIterator[None]:
        """provd's database, open only inside a test: tortoise is process-global,
        and other modules open their own database."""
        async with database(self.db_url):
            yield


def pbx_settings(data_dir: Path, **overrides: object) -> PbxSettings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "sip_address": PROXY_IP,
        "rpc_address": PROXY_IP,
        "rtpengine_ng_address": PROXY_IP,
        "route_port": 5082,
        "media_address": MEDIA_IP,
        "children": 2,
    }
    values.update(overrides)
    return PbxSettings(**values)  # type: ignore[arg-type]


async def _tenant(box: SecretBox, slug: str, domain: str) -> Tenant:
    return await Tenant.create(
        slug=slug,
        name=slug.title(),
        sip_domain=domain,
        bootstrap_username=f"boot-{slug}",
        bootstrap_password_enc=box.seal(generate_password()),
    )


async def add_user(box: SecretBox, tenant: Tenant, extension: str, username: str) -> Account:
    password = generate_password()
    await User.create(
        tenant=tenant,
        extension=extension,
        display_name=f"User {extension}",
        sip_username=username,
        sip_password_enc=box.seal(password),
    )
    return Account(extension, tenant.sip_domain, username, password)


async def unregister(pbx: PbxEnv, extensions: tuple[str, ...], domain: str = ACME) -> None:
    """End the registrations a test module made, so the next module starts from none."""
    for ext in extensions:
        with contextlib.suppress(RpcError):
            await pbx.supervisor.control.rpc.call("ul.rm", "location", f"{ext}@{domain}")


@contextlib.asynccontextmanager
async def routing_listener(settings: PbxSettings, db_url: str) -> AsyncIterator[LiveTable]:
    """provd's route listener, as serve runs it: Kamailio asks it about every call.
    Service codes need provd's database open while the call is made (``PbxEnv.orm``)."""
    # Kamailio sends menus' calls to the media application the supervisor runs.
    routing = LiveTable(media=media_hostport(settings))
    async with database(db_url):
        await routing.refresh()
    token = PbxSecrets.load_or_create(settings.pbx_dir).route_token
    platform = Platform(settings.data_dir, Settings(), SecretBox.load_or_create(settings.data_dir))
    codes = ServiceCodes(platform, routing.refresh)
    site = await start_routing_site(routing, token, settings.route_host, settings.route_port, codes)
    try:
        yield routing
    finally:
        await site.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pbx(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PbxEnv]:
    data_dir = tmp_path_factory.mktemp("pbx-data")
    work = tmp_path_factory.mktemp("sipp")
    db_url = db_url_for(data_dir)
    await upgrade_schema(db_url)
    box = SecretBox.load_or_create(data_dir)
    async with database(db_url):
        acme = await _tenant(box, "acme", ACME)
        globex = await _tenant(box, "globex", GLOBEX)
        accounts = {
            "2000": await add_user(box, acme, "2000", "2000"),
            # A digest username that differs from the extension it registers as.
            "2001": await add_user(box, acme, "2001", "acme-2001"),
            "2002": await add_user(box, acme, "2002", "2002"),
            "3000": await add_user(box, globex, "3000", "3000"),
        }
        domains = await tenant_domains()
    settings = pbx_settings(data_dir)
    async with routing_listener(settings, db_url) as routing:
        supervisor = PbxSupervisor(settings, domains=domains, max_backoff=1.0)
        try:
            await supervisor.start()
            async with database(db_url):
                report = await supervisor.control.sync_subscribers(box)
            env = PbxEnv(supervisor, box, data_dir, work, accounts, report, db_url, routing)
            _RUNNING.append(env)
            yield env
        finally:
            _RUNNING.clear()
            await supervisor.stop()


_RUNNING: list[PbxEnv] = []
"""The session's PBX once a module asked for it."""


@pytest_asyncio.fixture(autouse=True, scope="module", loop_scope="session")
async def _registrations_end_with_their_module() -> AsyncIterator[None]:
    """Every test module starts with no phone registered on the shared Kamailio.

    Modules share one Kamailio per xdist worker in an order that changes between runs;
    a contact one left behind (test_e2e registers 2001 for an hour) made the next
    module's call to 2001 fork to it, wait out the 5 s timer and fail with a 408.
    """
    yield
    for env in _RUNNING:
        with contextlib.suppress(RpcError):
            for aor in await env.supervisor.control.registrations():
                with contextlib.suppress(RpcError):
                    await env.supervisor.control.rpc.call("ul.rm", "location", aor)


@contextlib.contextmanager
def acme_called_from(pbx: PbxEnv, carrier_ip: str, **acme: Any) -> Iterator[None]:
    """Inside: the route listener's table holds acme alone (its users as loaded unless
    ``users`` is given, and ``acme``'s fields: numbers, menus...) and carrier ``main``
    calling from ``carrier_ip``, with the media application's address; the table before
    comes back after."""
    loaded = pbx.routing.table.tenant_for_domain(ACME)
    assert loaded is not None
    users = acme.pop("users", loaded.users)
    tenant = TenantRouting(slug="acme", sip_domain=ACME, users=users, **acme)
    before = pbx.routing.table
    pbx.routing.table = RoutingTable(
        [tenant],
        Carriers((Carrier("main", f"{carrier_ip}:5060"),)),
        {"main": [ipaddress.ip_network(f"{carrier_ip}/32")]},
        media=pbx.routing.media,
    )
    try:
        yield
    finally:
        pbx.routing.table = before
