"""The PBX that call_setup.py measures: directory, provd's PBX and route listener, and
the reference Kamailio, all on one loopback /24 picked at random per run.

The directory is written straight into provd's database (as tests/pbx/conftest.py
does): one tenant, N calling and N called users with a number each, one carrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _sipp import write_csv
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.db.models import Carrier, PhoneNumber, Tenant, User
from provd.domain.passwords import generate_password
from provd.pbx.config import static_config, validate_config, write_config
from provd.pbx.control import PbxControl
from provd.pbx.process import ManagedProcess
from provd.pbx.schema import ensure_schema
from provd.pbx.settings import PbxSecrets, PbxSettings
from provd.pbx.subscribers import tenant_domains
from provd.pbx.supervisor import PbxSupervisor, kamailio_argv
from provd.security.secretbox import SecretBox
from provd.services.routing import LiveTable
from provd.web.pbx_routing import make_routing_app

ROOT = Path(__file__).resolve().parent.parent
REGISTER = ROOT / "tests" / "pbx" / "sipp" / "register.xml"
DOMAIN = "bench.test"
_rng = random.Random(os.getpid() ^ time.time_ns())
NET = f"127.{_rng.randint(16, 250)}.{_rng.randint(1, 254)}"
PROXY_IP = f"{NET}.1"  # provd's Kamailio, its RPC, rtpengine's ng port, the route listener
REFERENCE_IP = f"{NET}.4"
MEDIA_IP = f"{NET}.10"
PHONES = (f"{NET}.2", 5061)
CALLEES = (f"{NET}.3", 5070)
CARRIER_IP = f"{NET}.20"
GATEWAY = (CARRIER_IP, 5060)
CARRIER_CALLER = (CARRIER_IP, 5062)
SIP_PORT = 5060
ROUTE_PORT = 5082
NUMBER_BASE = "+3120123"  # + 4 digits: the callers' numbers first, then the called users'
MOBILE_BASE = 612340000  # what phones dial out and the carrier calls from: 06 1234 xxxx

# The internal-call path before route plans, for the reference: the same cfg otherwise.
_ROUTED = '\tif (is_method("INVITE")) {\n\t\t$var(src) = "user";\n\t\troute(PLAN);\n\t}\n'
_DIRECT = '\tif (is_method("INVITE")) {\n\t\tdlg_manage();\n\t}\n'
# --time-http: how long each worker waits in http_connect, logged per call.
_ASK = "\t$var(status) = http_connect("
_ASKED = '\tif ($var(status) != 200) {\n\t\txlog("L_ERR", "no route plan'
_HTTP_MARK = "route-plan-http-us="
_HTTP_TIME = re.compile(rf"{_HTTP_MARK}(\d+)")


def _replace_once(cfg: str, old: str, new: str) -> str:
    if cfg.count(old) != 1:
        raise SystemExit(
            f"provd's kamailio.cfg changed where bench/_call_pbx.py edits it ({old.strip()!r}): "
            "update the benchmark"
        )
    return cfg.replace(old, new)


def reference_config() -> str:
    """provd's cfg with calls between users routed as before plans: lookup, then relay."""
    return _replace_once(static_config(), _ROUTED, _DIRECT)


def timed_config() -> str:
    """provd's cfg logging, per INVITE, the microseconds spent in http_connect."""
    cfg = _replace_once(
        static_config(), _ASK, "\t$var(asked_s) = $TV(sn);\n\t$var(asked_u) = $TV(un);\n" + _ASK
    )
    return _replace_once(
        cfg,
        _ASKED,
        "\t$var(waited) = ($TV(sn) - $var(asked_s)) * 1000000 + $TV(un) - $var(asked_u);\n"
        f'\txlog("L_NOTICE", "{_HTTP_MARK}$var(waited)\\n");\n' + _ASKED,
    )


@dataclass(frozen=True, slots=True)
class Account:
    extension: str
    username: str
    password: str
    number: str

    def auth(self) -> str:
        return f"[authentication username={self.username} password={self.password}]"

    @property
    def national(self) -> str:
        return "0" + self.number.removeprefix("+31")


async def make_directory(data_dir: Path, n: int) -> tuple[SecretBox, list[Account], list[Account]]:
    """One tenant, ``n`` calling and ``n`` called users with a number each, a carrier."""
    db_url = db_url_for(data_dir)
    await upgrade_schema(db_url)
    box = SecretBox.load_or_create(data_dir)
    callers: list[Account] = []
    callees: list[Account] = []
    async with database(db_url):
        tenant = await Tenant.create(
            slug="bench",
            name="Bench",
            sip_domain=DOMAIN,
            bootstrap_username="boot-bench",
            bootstrap_password_enc=box.seal(generate_password()),
        )
        for i in range(2 * n):
            group, extension = (callers, 1000 + i) if i < n else (callees, 2000 + i - n)
            password = generate_password()
            user = await User.create(
                tenant=tenant,
                extension=str(extension),
                display_name=f"User {extension}",
                sip_username=f"u{extension}",
                sip_password_enc=box.seal(password),
            )
            number = f"{NUMBER_BASE}{i:04d}"
            await PhoneNumber.create(
                e164=number,
                tenant=tenant,
                block_first=f"{NUMBER_BASE}0000",
                block_count=2 * n,
                assigned_user=user,
            )
            group.append(Account(str(extension), f"u{extension}", password, number))
        await Carrier.create(
            name="bench-carrier", host=CARRIER_IP, port=GATEWAY[1], transport="udp", priority=10
        )
    return box, callers, callees


def _timed(samples: list[float]) -> Middleware:
    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            samples.append(1000 * (time.perf_counter() - started))

    return timed


@contextlib.asynccontextmanager
async def route_listener(table: LiveTable, token: str) -> AsyncIterator[list[float]]:
    """provd's route listener as start_routing_site runs it, with its handler timed:
    yields the list each request's milliseconds are appended to."""
    samples: list[float] = []
    app = make_routing_app(table, token)
    app.middlewares.append(_timed(samples))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, PROXY_IP, ROUTE_PORT).start()
        yield samples
    finally:
        await runner.cleanup()


@dataclass(slots=True)
class Proxy:
    """One running Kamailio: where it listens, its process group, RPC and log."""

    name: str
    address: str
    process: ManagedProcess
    control: PbxControl
    log: Path

    def pid(self) -> int:
        pid = self.process.pid
        if pid is None:
            raise SystemExit(f"{self.name}'s Kamailio is not running; see {self.log}")
        return pid

    async def register(self, phones: Sequence[Account], workdir: Path) -> None:
        """The called users' phones register from the answering sipp's own address
        (Kamailio sends their calls to the address a REGISTER came from)."""
        rows = [
            [a.extension, DOMAIN, a.auth(), "3600", f"{CALLEES[0]}:{CALLEES[1]}"] for a in phones
        ]
        csv_file = write_csv(workdir / f"register-{self.name}.csv", rows)
        proc = await asyncio.create_subprocess_exec(
            "sipp", self.address, "-sf", str(REGISTER), "-inf", str(csv_file),
            "-i", CALLEES[0], "-p", str(CALLEES[1]), "-r", "200", "-m", str(len(rows)),
            "-timeout", "30s", "-nostdin",
            cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise SystemExit(f"the phones did not register at {self.name}: {err.decode()}")

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> tuple[list[str], list[float]]:
        """ERROR lines logged since ``offset``, and the http_connect times (ms) that
        --time-http logs."""
        errors: list[str] = []
        waits: list[float] = []
        with self.log.open("rb") as f:
            f.seek(offset)
            for raw in f:
                line = raw.decode(errors="replace")
                if (found := _HTTP_TIME.search(line)) is not None:
                    waits.append(int(found.group(1)) / 1000)
                elif " ERROR: " in line:
                    errors.append(line.strip())
        return errors, waits

    async def shm_mb(self) -> tuple[float, float]:
        """Shared memory in use now, and the most ever in use since Kamailio started."""
        shm = await self.control.rpc.call("core.shmmem")
        return int(shm["real_used"]) / 2**20, int(shm["max_used"]) / 2**20


@dataclass(slots=True)
class Pbx:
    provd: Proxy
    reference: Proxy
    rtpengine: ManagedProcess
    callers: list[Account]
    callees: list[Account]
    route_token: str
    handler_ms: list[float] = field(default_factory=list)
    """provd's route handler, ms per request, appended as requests come."""

    def rtpengine_pid(self) -> int:
        pid = self.rtpengine.pid
        if pid is None:
            raise SystemExit("rtpengine is not running")
        return pid

    @property
    def restarts(self) -> int:
        return self.provd.process.restarts + self.reference.process.restarts


def _settings(data_dir: Path, address: str, **values: object) -> PbxSettings:
    return PbxSettings(
        data_dir=data_dir,
        sip_address=address,
        rpc_address=address,
        rtpengine_ng_address=PROXY_IP,
        media_address=MEDIA_IP,
        route_address=PROXY_IP,
        route_port=ROUTE_PORT,
        # rtpengine keeps a call's ports for 30 s after its BYE (delete-delay): a few
        # thousand short calls need more than production's thousand.
        rtp_port_min=10000,
        rtp_port_max=60000,
        # All load comes from a few addresses: pike still runs, but never bans.
        flood_limit=10_000_000,
        **values,  # type: ignore[arg-type]
    )


async def _start_reference(
    work: Path, box: SecretBox, db_url: str, domains: Sequence[str], **values: object
) -> Proxy:
    settings = _settings(work / "reference", REFERENCE_IP, **values)
    settings.pbx_dir.mkdir(parents=True, mode=0o700)
    secrets = PbxSecrets.load_or_create(settings.pbx_dir)
    control = PbxControl.for_settings(settings, secrets)
    await ensure_schema(control.db)
    async with database(db_url):
        await control.sync_subscribers(box, kick=False)
    files = write_config(settings, secrets, domains, settings.pbx_dir)
    files.main.write_text(reference_config())
    await validate_config(files.main)

    async def ready() -> bool:
        await control.rpc.call("core.uptime", timeout=1.0)
        return True

    process = ManagedProcess(
        "kamailio-reference",
        kamailio_argv(settings, files.main),
        cwd=settings.pbx_dir,
        log_path=settings.pbx_dir / "kamailio.log",
        ready=ready,
    )
    await process.start()
    return Proxy("reference", f"{REFERENCE_IP}:{SIP_PORT}", process, control, process.log_path)


@contextlib.asynccontextmanager
async def running_pbx(
    work: Path, users: int, *, time_http: bool, **values: object
) -> AsyncIterator[Pbx]:
    """Everything up, the called phones registered at both Kamailios; all stopped after.

    ``values`` are PbxSettings fields (children, with_blf, shm_mb) for both Kamailios.
    """
    box, callers, callees = await make_directory(work, users)
    db_url = db_url_for(work)
    settings = _settings(work, PROXY_IP, **values)
    table = LiveTable()
    async with database(db_url):
        domains = await tenant_domains()
        await table.refresh()
    token = PbxSecrets.load_or_create(settings.pbx_dir).route_token
    async with (
        route_listener(table, token) as handler_ms,
        PbxSupervisor(settings, domains=domains) as supervisor,
    ):
        async with database(db_url):
            await supervisor.control.sync_subscribers(box)
        kamailio, rtpengine = supervisor.kamailio, supervisor.rtpengine
        assert kamailio is not None and rtpengine is not None and supervisor.files is not None
        if time_http:
            supervisor.files.main.write_text(timed_config())
            await validate_config(supervisor.files.main)
            await kamailio.restart()
        provd = Proxy(
            "provd", f"{PROXY_IP}:{SIP_PORT}", kamailio, supervisor.control, kamailio.log_path
        )
        reference = await _start_reference(work, box, db_url, domains, **values)
        try:
            for proxy in (provd, reference):
                await proxy.register(callees, work)
            yield Pbx(provd, reference, rtpengine, callers, callees, token, handler_ms)
        finally:
            await reference.process.stop()
            await reference.control.close()
