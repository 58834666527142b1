"""``provd init`` and ``provd serve``."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import click

from provd.cli.main import CliState, actor, cli, emit, fail, json_option
from provd.db.connection import database, db_url_for, upgrade_schema
from provd.domain.errors import ProvdError
from provd.security.secretbox import SecretBox
from provd.services import tenants, tokens
from provd.services.platform import Platform
from provd.settings import Settings, load_settings, save_settings


async def _initialise(state: CliState, settings: Settings) -> dict[str, Any]:
    from provd.web.server import tls_paths

    state.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state.data_dir, 0o700)
    save_settings(state.data_dir, settings)
    platform = Platform(state.data_dir, settings, SecretBox.load_or_create(state.data_dir))
    paths = tls_paths(state.data_dir, settings)
    url = db_url_for(state.data_dir, settings.db_url)
    await upgrade_schema(url)
    async with database(url):
        tenant, credential = await tenants.add_tenant(platform, actor(), tenants.DEFAULT_TENANT)
        token = await tokens.create_token(actor(), "admin")
    return {
        "data_dir": str(state.data_dir),
        "provisioning_url": settings.provisioning_url,
        "tenant": tenant.slug,
        "bootstrap_username": credential.username,
        "bootstrap_password": credential.password,
        "api_token": token,
        "ca_certificate": str(paths.ca) if paths.ca else "(admin-provided certificate)",
    }


def _init_text(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Initialised {info['data_dir']}",
            f"  provisioning URL:   {info['provisioning_url']}",
            f"  tenant:             {info['tenant']}",
            f"  bootstrap username: {info['bootstrap_username']}",
            f"  bootstrap password: {info['bootstrap_password']}",
            f"  admin API token:    {info['api_token']}   (shown once; keep it safe)",
            f"  CA certificate:     {info['ca_certificate']}",
        ]
    )


def _do_init(state: CliState, as_json: bool, settings: Settings) -> None:
    if state.db_url:
        settings = settings.with_overrides(db_url=state.db_url)
    try:
        info = asyncio.run(_initialise(state, settings))
    except ProvdError as e:
        fail(str(e), as_json=as_json)
        return
    emit(as_json, info, _init_text(info))


@cli.command()
@click.option("--public-host", help="Host name or address phones use to reach provd.")
@click.option("--https-port", type=int, default=8443, show_default=True)
@click.option("--sip-proxy-host", help="SIP proxy phones send to (default: the public host).")
@json_option
@click.pass_obj
def init(
    state: CliState,
    public_host: str | None,
    https_port: int,
    sip_proxy_host: str | None,
    as_json: bool,
) -> None:
    """Create the data directory: keys, certificates, database, default tenant, API token."""
    if state.initialised:
        fail(f"{state.data_dir} is already initialised", as_json=as_json)
    settings = Settings().with_overrides(
        public_host=public_host, https_port=https_port, sip_proxy_host=sip_proxy_host
    )
    _do_init(state, as_json, settings)


@cli.command()
@click.option("--https-port", type=int, help="Override the HTTPS port for this run.")
@click.option("--http-port", type=int, help="Also serve plain HTTP (still Digest-authenticated).")
@click.option("--bind", help="Address to listen on (default 0.0.0.0).")
@click.option("--public-host", help="Host name phones use (first run only).")
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True),
    help="Admin-provided certificate chain (PEM).",
)
@click.option(
    "--tls-key", type=click.Path(dir_okay=False, exists=True), help="Its private key (PEM)."
)
@click.option("-v", "--verbose", is_flag=True)
@click.pass_obj
def serve(
    state: CliState,
    https_port: int | None,
    http_port: int | None,
    bind: str | None,
    public_host: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    verbose: bool,
) -> None:
    """Serve phones (HTTPS) and the REST API. Initialises the data directory on first run."""
    from provd.web.server import serve as run_server

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not state.initialised:
        _do_init(state, False, Settings().with_overrides(public_host=public_host))
    settings = load_settings(state.data_dir).with_overrides(
        https_port=https_port,
        http_port=http_port,
        bind=bind,
        tls_cert=tls_cert,
        tls_key=tls_key,
        db_url=state.db_url,
    )
    try:
        asyncio.run(run_server(Path(state.data_dir), settings))
    except ProvdError as e:
        fail(str(e), as_json=False)
