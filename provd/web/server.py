"""Running provd: database, TLS, the phone-facing and API listeners."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import secrets
import signal
import socket
import ssl
import time
from pathlib import Path

from aiohttp import web

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.discovery.runner import DiscoveryOptions
from provd.domain.network import parse_network
from provd.pbx import external_control
from provd.pbx.settings import PbxSecrets
from provd.security.digest import DigestAuthenticator
from provd.security.ratelimit import AuthThrottle
from provd.security.secretbox import SecretBox
from provd.security.tls import (
    TlsPaths,
    ensure_certificates,
    load_admin_certificates,
    server_ssl_context,
)
from provd.security.tls_reload import CertificateReloader
from provd.services.cluster.leader import Leadership, lease_for
from provd.services.cluster.nonce_key import nonce_key as cluster_nonce_key
from provd.services.cluster.nonces import DatabaseClaims
from provd.services.cluster.throttle import shared_limiters
from provd.services.cluster.tls_tickets import SharedTicketKeys
from provd.services.pbx import PbxRuntime, clear_runtime, effective_settings
from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.services.rollouts.engine import record_firmware_fetched
from provd.settings import Settings
from provd.web.app import make_app
from provd.web.app_keys import WORKER_INDEX
from provd.web.connections import ConnectionGuard, ConnectionLimits, GuardedSite
from provd.web.leading import LeaderServices
from provd.web.phone_lane import phone_front
from provd.web.workers import WORKER_HEADER, WorkerSeat, run_workers, serve_lock

log = logging.getLogger("provd.server")
REALM = "provd"


def build_provisioner(
    platform: Platform, nonce_key: bytes | None = None, *, shared: bool = False
) -> Provisioner:
    """The phone path. ``serve`` passes the platform's nonce key (services/cluster), so a
    nonce from any process (or from before a restart) is recognised. ``shared``: other
    processes serve the same platform (workers, nodes), so a nonce's first use is
    claimed in the database and a replay is refused by all of them; a lone process keeps
    that memory itself, as it costs a write per boot. Without a key (a test's app) the
    key is this process's own."""
    key = nonce_key or secrets.token_bytes(32)
    claims = DatabaseClaims() if shared and nonce_key is not None else None
    authenticator = DigestAuthenticator(key, REALM, claims=claims)
    return Provisioner(platform, authenticator, AuthThrottle(limiters=platform.limiters))


def raise_file_limit() -> int:
    """Raise this process's open-file soft limit to its hard limit; returns the new soft one.

    Every connection is a descriptor, and distributions still default the soft limit
    to 1024: a few hundred slow clients would otherwise leave none for phones.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        # Not every kernel accepts an unlimited soft limit; a million is plenty.
        hard = max(soft, 1 << 20) if soft != resource.RLIM_INFINITY else soft
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as e:
            log.warning("could not raise the open-file limit from %d: %s", soft, e)
    return soft


def connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        tls_handshake_seconds=settings.tls_handshake_seconds,
        request_head_seconds=settings.request_head_seconds,
        max_per_client=settings.max_connections_per_client,
        proxy_protocol_from=tuple(
            parse_network(n, field="proxy_protocol_from") for n in settings.proxy_protocol_from
        ),
    )


async def start_sites(
    app: web.Application,
    settings: Settings,
    ssl_context: ssl.SSLContext,
    *,
    sockets: tuple[socket.socket, socket.socket | None] | None = None,
) -> web.AppRunner:
    """The HTTPS site (and plain HTTP if enabled), bounded as ``settings`` say; on the
    listening ``sockets`` (HTTPS, HTTP) a worker was handed, if given."""
    # aiohttp keeps an idle keep-alive connection for an hour by default; phones fetch
    # their few files back to back, so seconds are plenty.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.keepalive_seconds)
    await runner.setup()
    # One guard for both sites: the per-source cap counts HTTPS and HTTP together.
    guard = ConnectionGuard(connection_limits(settings))
    front = phone_front(app, settings.keepalive_seconds)
    https_sock, http_sock = sockets or (None, None)
    sites = [
        GuardedSite(
            runner,
            settings.bind,
            settings.https_port,
            guard,
            ssl_context=ssl_context,
            sock=https_sock,
            front=front,
        )
    ]
    if settings.http_port:
        if sockets is None:
            log.warning(
                "plain HTTP enabled on port %d (still Digest-authenticated)", settings.http_port
            )
        sites.append(
            GuardedSite(
                runner, settings.bind, settings.http_port, guard, sock=http_sock, front=front
            )
        )
    try:
        for site in sites:
            await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def tls_paths(data_dir: Path, settings: Settings) -> TlsPaths:
    if settings.tls_cert and settings.tls_key:
        return load_admin_certificates(Path(settings.tls_cert), Path(settings.tls_key))
    names, ips = [], []
    try:
        ipaddress.ip_address(settings.public_host)
        ips.append(settings.public_host)
    except ValueError:
        names.append(settings.public_host)
    return ensure_certificates(data_dir, names, ips, key_type=settings.tls_key_type)


async def serve(
    data_dir: Path,
    settings: Settings,
    *,
    ready: asyncio.Event | None = None,
    pbx: PbxRuntime | None = None,
    pbx_export_dir: Path | None = None,
    discovery: DiscoveryOptions | None = None,
    workers: int = 1,
    seat: WorkerSeat | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; with ``pbx``, Kamailio and rtpengine run (or are
    driven) alongside, and phones are told to register there (see ``effective_settings``).

    With ``workers`` above 1 this process starts that many workers and waits
    (``web/workers``); ``seat`` is given to such a worker. The PBX, rollouts and
    discovery run in whichever process holds the leader lease (``web/leading``)."""
    db_url = db_url_for(data_dir, settings.db_url)
    if seat is not None:
        await _serve_one(data_dir, settings, db_url, ready, pbx, pbx_export_dir, discovery, seat)
        return
    with serve_lock(data_dir):
        await upgrade_schema(db_url)
        if pbx is None:
            clear_runtime(data_dir)
        if workers <= 1:
            await _serve_one(data_dir, settings, db_url, ready, pbx, pbx_export_dir, discovery)
            return
        # Made once here, not by workers racing each other to create them.
        tls_paths(data_dir, effective_settings(settings, pbx))
        if pbx is not None:
            PbxSecrets.load_or_create(pbx.settings.pbx_dir)
        await run_workers(settings, workers)


async def _serve_one(
    data_dir: Path,
    settings: Settings,
    db_url: str,
    ready: asyncio.Event | None,
    pbx: PbxRuntime | None,
    pbx_export_dir: Path | None,
    discovery: DiscoveryOptions | None,
    seat: WorkerSeat | None = None,
) -> None:
    """One serving process: the only one, or a worker."""
    if seat is not None:
        seat.keep_to_self()
    raise_file_limit()
    settings = effective_settings(settings, pbx)
    platform = Platform(
        data_dir, settings, SecretBox.load_or_create(data_dir), limiters=shared_limiters()
    )
    ssl_context = server_ssl_context(tls_paths(data_dir, settings))
    # Before the PBX starts: a signal during its start must still stop it cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # SIGHUP as daemons take it: a renewed certificate is served without a restart.
    reloader = CertificateReloader(ssl_context, lambda: tls_paths(data_dir, settings))
    loop.add_signal_handler(signal.SIGHUP, reloader.on_signal)
    if seat is not None:
        seat.stop_with_parent()
    async with database(db_url), contextlib.AsyncExitStack() as stack:
        # A phone downloads firmware from whichever worker it reached: each records it.
        platform.on_firmware_fetched.append(record_firmware_fetched)
        control = None
        if pbx is not None:
            # The API's and console's handle on the PBX, in every process; the leader's
            # supervisor runs it.
            control = external_control(pbx.settings, rpc_url=pbx.rpc_url)
            stack.push_async_callback(control.close)
        leader = LeaderServices(
            platform, pbx=pbx, pbx_export_dir=pbx_export_dir, discovery=discovery
        )
        leadership = Leadership(lease_for(data_dir, db_url), leader.start)
        stack.push_async_callback(leadership.close)
        # The first process to ask leads at once, before serving: a lone serve starts
        # its PBX first, as it always did. The others ask again every second.
        await leadership.try_lead()
        leadership.follow()
        # Before the first handshake: tickets any worker or node issued open here.
        tickets = await SharedTicketKeys.load(ssl_context, platform.box)
        if tickets.apply(time.time()):
            rotation = asyncio.create_task(tickets.keep(), name="tls-ticket-keys")
            stack.callback(rotation.cancel)
        # SQLite is one host's, and one serve's (its lock): alone unless it has workers.
        shared = seat is not None or not db_url.startswith("sqlite:")
        provisioner = build_provisioner(
            platform, await cluster_nonce_key(platform.box), shared=shared
        )
        app = make_app(platform, provisioner, pbx=control)
        if seat is not None:
            # Read by this signal for aiohttp's responses, and by the phone lane.
            app[WORKER_INDEX] = str(seat.index)
            app.on_response_prepare.append(_worker_header)
        runner = await start_sites(
            app, settings, ssl_context, sockets=seat.sockets() if seat else None
        )
        stack.push_async_callback(runner.cleanup)
        leader.sites_up = True
        if seat is None:
            log.info("provd serving phones at %s", settings.provisioning_url)
        if leadership.leading:
            leader.announce()
        if seat is not None:
            seat.report_ready()
            watcher = asyncio.create_task(_watch_parent(seat, stop), name="parent-watch")
            stack.callback(watcher.cancel)
        if ready is not None:
            ready.set()
        await stop.wait()


async def _worker_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[WORKER_HEADER] = request.app[WORKER_INDEX]


async def _watch_parent(seat: WorkerSeat, stop: asyncio.Event) -> None:
    # A worker whose parent is gone (killed outright) stops too, cleanly.
    while seat.parent_alive():
        await asyncio.sleep(1.0)
    log.warning("worker %d: the parent process is gone; stopping", seat.index)
    stop.set()
