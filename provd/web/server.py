"""Running provd: database, TLS, the phone-facing and API listeners."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import secrets
import signal
import ssl
from pathlib import Path

from aiohttp import web

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.discovery import runner as discovery_runner
from provd.discovery.runner import DiscoveryOptions
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
from provd.services.cluster.housekeeping import Housekeeping
from provd.services.cluster.nonce_key import nonce_key as cluster_nonce_key
from provd.services.cluster.nonces import DatabaseClaims
from provd.services.cluster.throttle import shared_limiters
from provd.services.pbx import PbxRuntime, clear_runtime, effective_settings
from provd.services.pbx.serve import ServedPbx
from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.services.rollouts.engine import RolloutEngine
from provd.services.routing import LiveTable
from provd.services.service_codes import ServiceCodes
from provd.settings import Settings
from provd.web.app import make_app
from provd.web.connections import ConnectionGuard, ConnectionLimits, GuardedSite
from provd.web.pbx_routing import start_routing_site

log = logging.getLogger("provd.server")
REALM = "provd"


def build_provisioner(platform: Platform, nonce_key: bytes | None = None) -> Provisioner:
    """The phone path. ``serve`` passes the platform's nonce key (services/cluster): every
    worker and node then accepts the others' nonces, and the nonces' first uses are
    claimed in the database, so a replay is refused by all of them. Without one (a
    test's app) the key and the replay memory are this process's own."""
    if nonce_key is None:
        authenticator = DigestAuthenticator(secrets.token_bytes(32), REALM)
    else:
        authenticator = DigestAuthenticator(nonce_key, REALM, claims=DatabaseClaims())
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
    )


async def start_sites(
    app: web.Application, settings: Settings, ssl_context: ssl.SSLContext
) -> web.AppRunner:
    """The HTTPS site (and plain HTTP if enabled), bounded as ``settings`` say."""
    # aiohttp keeps an idle keep-alive connection for an hour by default; phones fetch
    # their few files back to back, so seconds are plenty.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.keepalive_seconds)
    await runner.setup()
    # One guard for both sites: the per-source cap counts HTTPS and HTTP together.
    guard = ConnectionGuard(connection_limits(settings))
    sites = [
        GuardedSite(runner, settings.bind, settings.https_port, guard, ssl_context=ssl_context)
    ]
    if settings.http_port:
        log.warning(
            "plain HTTP enabled on port %d (still Digest-authenticated)", settings.http_port
        )
        sites.append(GuardedSite(runner, settings.bind, settings.http_port, guard))
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
) -> None:
    """Serve until SIGINT/SIGTERM; with ``pbx``, Kamailio and rtpengine run (or are
    driven) alongside, and phones are told to register there (see ``effective_settings``)."""
    raise_file_limit()
    db_url = db_url_for(data_dir, settings.db_url)
    await upgrade_schema(db_url)
    if pbx is None:
        clear_runtime(data_dir)
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
    async with database(db_url), contextlib.AsyncExitStack() as stack:
        control = None
        if pbx is not None:
            routing = LiveTable(keep_answers=True)
            served_pbx = ServedPbx(platform, pbx, export_dir=pbx_export_dir, routing=routing)
            control = await served_pbx.start()
            stack.push_async_callback(served_pbx.stop)
            # Kamailio asks this listener where each call goes. Started once the PBX is
            # ours (a second serve on this data dir stops at the PBX lock, before binding);
            # a call in the moment between gets a fast 503, never a guess.
            pbx_settings = pbx.settings
            route_runner = await start_routing_site(
                routing,
                PbxSecrets.load_or_create(pbx_settings.pbx_dir).route_token,
                pbx_settings.route_host,
                pbx_settings.route_port,
                ServiceCodes(platform, routing.refresh),
            )
            stack.push_async_callback(route_runner.cleanup)
            # Rollouts need the PBX to notify phones; the engine resumes any left running.
            engine = RolloutEngine(platform, control)
            await engine.start()
            stack.push_async_callback(engine.stop)
        if discovery is not None and discovery.enabled:
            await discovery_runner.start(platform, discovery, stack)
        housekeeping = Housekeeping()
        housekeeping.start()
        stack.push_async_callback(housekeeping.stop)
        provisioner = build_provisioner(platform, await cluster_nonce_key(platform.box))
        app = make_app(platform, provisioner, pbx=control)
        runner = await start_sites(app, settings, ssl_context)
        stack.push_async_callback(runner.cleanup)
        log.info("provd serving phones at %s", settings.provisioning_url)
        if pbx is not None:
            host, port = pbx.sip_proxy
            log.info("phones register at %s port %d (%s PBX)", host, port, pbx.mode.value)
        if ready is not None:
            ready.set()
        await stop.wait()
