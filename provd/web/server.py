"""Running provd: database, TLS, the phone-facing and API listeners."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import signal
from pathlib import Path

from aiohttp import web

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.discovery import runner as discovery_runner
from provd.discovery.runner import DiscoveryOptions
from provd.security.digest import DigestAuthenticator
from provd.security.ratelimit import AuthThrottle
from provd.security.secretbox import SecretBox
from provd.security.tls import (
    TlsPaths,
    ensure_certificates,
    load_admin_certificates,
    server_ssl_context,
)
from provd.services.pbx import PbxRuntime, clear_runtime, effective_settings
from provd.services.pbx_serve import ServedPbx
from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.services.rollout_engine import RolloutEngine
from provd.settings import Settings
from provd.web.app import make_app

log = logging.getLogger("provd.server")
REALM = "provd"


def build_provisioner(platform: Platform) -> Provisioner:
    # A fresh nonce key per process: after a restart, phones simply get a
    # stale=true challenge and retry, so nothing needs to persist.
    authenticator = DigestAuthenticator(secrets.token_bytes(32), REALM)
    return Provisioner(platform, authenticator, AuthThrottle())


def tls_paths(data_dir: Path, settings: Settings) -> TlsPaths:
    if settings.tls_cert and settings.tls_key:
        return load_admin_certificates(Path(settings.tls_cert), Path(settings.tls_key))
    names, ips = [], []
    try:
        ipaddress.ip_address(settings.public_host)
        ips.append(settings.public_host)
    except ValueError:
        names.append(settings.public_host)
    return ensure_certificates(data_dir, names, ips)


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
    db_url = db_url_for(data_dir, settings.db_url)
    await upgrade_schema(db_url)
    if pbx is None:
        clear_runtime(data_dir)
    settings = effective_settings(settings, pbx)
    platform = Platform(data_dir, settings, SecretBox.load_or_create(data_dir))
    ssl_context = server_ssl_context(tls_paths(data_dir, settings))
    # Before the PBX starts: a signal during its start must still stop it cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with database(db_url), contextlib.AsyncExitStack() as stack:
        control = None
        if pbx is not None:
            served_pbx = ServedPbx(platform, pbx, export_dir=pbx_export_dir)
            control = await served_pbx.start()
            stack.push_async_callback(served_pbx.stop)
            # Rollouts need the PBX to notify phones; the engine resumes any left running.
            engine = RolloutEngine(platform, control)
            await engine.start()
            stack.push_async_callback(engine.stop)
        if discovery is not None and discovery.enabled:
            await discovery_runner.start(platform, discovery, stack)
        app = make_app(platform, build_provisioner(platform), pbx=control)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        sites = [web.TCPSite(runner, settings.bind, settings.https_port, ssl_context=ssl_context)]
        if settings.http_port:
            log.warning(
                "plain HTTP enabled on port %d (still Digest-authenticated)", settings.http_port
            )
            sites.append(web.TCPSite(runner, settings.bind, settings.http_port))
        for site in sites:
            await site.start()
        log.info("provd serving phones at %s", settings.provisioning_url)
        if pbx is not None:
            host, port = pbx.sip_proxy
            log.info("phones register at %s port %d (%s PBX)", host, port, pbx.mode.value)
        if ready is not None:
            ready.set()
        await stop.wait()
