"""``provd init`` and ``provd serve``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from provd.cli.logs import configure_logging
from provd.cli.main import CliState, actor, cli, emit, fail, json_option
from provd.db.connection import database, db_url_for, upgrade_schema
from provd.discovery.runner import DiscoveryOptions
from provd.domain.access import Role
from provd.domain.errors import ProvdError
from provd.domain.network import parse_network
from provd.domain.passwords import generate_password
from provd.pbx.settings import PBX_OPTIONS, PbxOption
from provd.security.secretbox import SecretBox
from provd.security.tls import KEY_TYPES
from provd.services.access import accounts, tokens
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.settings import LOG_FORMATS, Settings, load_settings, save_settings

if TYPE_CHECKING:
    from provd.services.pbx import PbxRuntime

F = TypeVar("F", bound=Callable[..., Any])


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
        admin_password = generate_password(20)
        await accounts.add_account(actor(), "admin", admin_password, role=Role.ADMIN)
    return {
        "data_dir": str(state.data_dir),
        "provisioning_url": settings.provisioning_url,
        "tenant": tenant.slug,
        "bootstrap_username": credential.username,
        "bootstrap_password": credential.password,
        "api_token": token,
        "console_url": settings.provisioning_url + "login",
        "console_username": "admin",
        "console_password": admin_password,
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
            f"  web console:        {info['console_url']}",
            f"  console sign-in:    {info['console_username']} / {info['console_password']}"
            "   (shown once; change it with 'provd account passwd admin')",
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


_tls_key_type_option = click.option(
    "--tls-key-type",
    type=click.Choice(KEY_TYPES),
    help="The key of the server certificate provd makes: rsa (RSA-2048, every phone; the "
    "default) or ecdsa (P-256: cheaper handshakes, for fleets whose phones all support it). "
    "Kept in the settings (tls_key_type).",
)


@cli.command()
@click.option("--public-host", help="Host name or address phones use to reach provd.")
@click.option("--https-port", type=int, default=8443, show_default=True)
@click.option("--sip-proxy-host", help="SIP proxy phones send to (default: the public host).")
@_tls_key_type_option
@json_option
@click.pass_obj
def init(
    state: CliState,
    public_host: str | None,
    https_port: int,
    sip_proxy_host: str | None,
    tls_key_type: str | None,
    as_json: bool,
) -> None:
    """Create the data directory: keys, certificates, database, default tenant, API token
    and the console's first admin account."""
    if state.initialised:
        fail(f"{state.data_dir} is already initialised", as_json=as_json)
    settings = Settings().with_overrides(
        public_host=public_host,
        https_port=https_port,
        sip_proxy_host=sip_proxy_host,
        tls_key_type=tls_key_type,
    )
    _do_init(state, as_json, settings)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run serve on uvloop when it is installed, else on asyncio's own loop.

    uvloop's transports and TLS layer are compiled code where asyncio's are Python:
    less CPU for every connection and request (bench/README.md has the figures).
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _pbx_option(name: str, help: str, **kw: Any) -> Callable[[F], F]:
    env = "PROVD_PBX_" + name.removeprefix("pbx-").upper().replace("-", "_")
    shown = "default" in kw
    return click.option(
        f"--{name}", envvar=env, show_envvar=True, show_default=shown, help=help, **kw
    )


def _pbx_options(f: F) -> F:
    """Where Kamailio and rtpengine listen; the names and environment variables are
    those of ``python -m provd.pbx``."""
    for option in reversed(
        [
            click.option(
                "--pbx/--no-pbx",
                default=False,
                help="Also run Kamailio and rtpengine, with a subscriber for every user.",
            ),
            click.option(
                "--pbx-external",
                is_flag=True,
                help="Drive a Kamailio provd does not run: write its configuration "
                "(--pbx-export-dir) and tables, and reach it by RPC (--pbx-rpc-url).",
            ),
            _pbx_option("pbx-rpc-url", "The external Kamailio's JSON-RPC URL."),
            _pbx_option(
                "pbx-export-dir",
                "Where --pbx-external writes kamailio.cfg (default: DATA/pbx/external).",
                type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
            ),
            *(_pbx_site_option(o) for o in PBX_OPTIONS),
        ]
    ):
        f = option(f)
    return f


_SERVE_DEFAULTS = {"sip_address": "this host's", "media_address": "the SIP address"}
"""Where ``serve`` has a better default than the table's: the host it runs on."""


def _pbx_site_option(o: PbxOption) -> Callable[[F], F]:
    """One of the table's options, named and defaulted as ``python -m provd.pbx`` has it."""
    if o.kind is bool:
        flags = f"--{o.serve_flag}/--no-{o.serve_flag}"
        return click.option(
            flags,
            o.name,
            default=o.default,
            envvar=o.env,
            show_envvar=True,
            show_default=True,
            help=o.help,
        )
    if o.name in _SERVE_DEFAULTS:
        return _pbx_option(o.serve_flag, f"{o.help[:-1]} (default: {_SERVE_DEFAULTS[o.name]}).")
    if o.default is None:
        return _pbx_option(o.serve_flag, o.help)
    # Typed only when every value is a number: an optional one also takes "off".
    kind = int if o.kind is int and not o.nullable else str
    return _pbx_option(o.serve_flag, o.help, type=kind, default=o.default)


def pbx_runtime(
    data_dir: Path, settings: Settings, options: dict[str, Any]
) -> tuple[PbxRuntime | None, Path | None]:
    """The PBX ``serve`` was asked for, validated before anything starts."""
    from provd.pbx import PbxSettings
    from provd.services.pbx import PbxMode, PbxRuntime
    from provd.services.pbx.serve import default_sip_address

    external = options["pbx_external"]
    if not (options["pbx"] or external):
        return None, None
    values = {o.name: o.parse(options[o.name]) for o in PBX_OPTIONS}
    values["sip_address"] = options["sip_address"] or default_sip_address(settings)
    values["media_address"] = options["media_address"] or values["sip_address"]
    pbx = PbxSettings.for_provd(data_dir, settings.db_url, **values)
    mode = PbxMode.EXTERNAL if external else PbxMode.SUPERVISED
    return PbxRuntime(mode, pbx, options["pbx_rpc_url"] or None), options["pbx_export_dir"]


def _discovery_options(f: F) -> F:
    """Finding phones on the LAN (docs/discovery.md); both need CAP_NET_RAW."""
    for option in reversed(
        [
            click.option(
                "--pnp/--no-pnp",
                default=False,
                help="Answer phones' SIP plug-and-play SUBSCRIBEs (224.0.1.75) with the "
                "provisioning URL.",
            ),
            click.option(
                "--pnp-interface",
                metavar="IFACE",
                help="Interface to answer PnP on (default: the default route's).",
            ),
            click.option(
                "--pnp-answer-unknown",
                is_flag=True,
                help="Also answer MACs that are not devices (bare URL, no credential).",
            ),
            click.option(
                "--dhcp-observe",
                metavar="IFACE",
                help="Record phones' DHCP requests seen on IFACE as discovered.",
            ),
        ]
    ):
        f = option(f)
    return f


@cli.command()
@click.option(
    "--https-port",
    type=int,
    help="HTTPS port: kept in the settings on the first run, for this run only later.",
)
@click.option("--http-port", type=int, help="Also serve plain HTTP (still Digest-authenticated).")
@click.option("--bind", help="Address to listen on (default 0.0.0.0).")
@click.option("--public-host", help="Host name phones use (first run only).")
@click.option(
    "--tls-cert",
    # Absolute, since the settings file keeps it for runs from other directories.
    type=click.Path(dir_okay=False, exists=True, resolve_path=True),
    help="Admin-provided certificate chain (PEM).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True, resolve_path=True),
    help="Its private key (PEM).",
)
@_tls_key_type_option
@_pbx_options
@_discovery_options
@click.option(
    "--proxy-protocol-from",
    metavar="NETWORK",
    multiple=True,
    envvar="PROVD_PROXY_PROTOCOL_FROM",
    show_envvar=True,
    help="A TCP balancer in front of provd (address or network; repeatable): its "
    "connections must start with a PROXY protocol header naming the client. For this "
    "run; proxy_protocol_from in provd.json keeps it.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    envvar="PROVD_WORKERS",
    show_envvar=True,
    help="Processes serving the port: phones, API and console in each; the PBX, "
    "rollouts and discovery in one. Default: one per CPU.",
)
@click.option("--worker-of", hidden=True, help="Set by serve for the workers it starts.")
@click.option("-v", "--verbose", is_flag=True)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    envvar="PROVD_LOG_FORMAT",
    show_envvar=True,
    help="Log as text lines, or as one JSON object per line (time, level, logger, "
    "message, exc, extras). Default: log_format in provd.json, else text.",
)
@click.pass_obj
def serve(
    state: CliState,
    /,
    https_port: int | None,
    http_port: int | None,
    bind: str | None,
    public_host: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    tls_key_type: str | None,
    pnp: bool,
    pnp_interface: str | None,
    pnp_answer_unknown: bool,
    dhcp_observe: str | None,
    proxy_protocol_from: tuple[str, ...],
    workers: int | None,
    worker_of: str | None,
    verbose: bool,
    log_format: str | None,
    **pbx_options: Any,
) -> None:
    """Serve phones (HTTPS) and the REST API. Initialises the data directory on first run.

    With --pbx, Kamailio and rtpengine run as supervised children: every user can
    register and call, and phones are told to register there unless the admin set
    a SIP proxy (init --sip-proxy-host). Users and tenants changed by other provd
    commands reach Kamailio within a second or two.

    SIGHUP reloads the TLS certificate and key (--tls-cert/--tls-key, or the data
    directory's) without dropping connections; if they are unusable, the error is
    logged and the old certificate stays. SIGINT or SIGTERM stop serve.

    With several workers (--workers), one parent process holds the port and restarts
    a worker that dies; whatever runs once (the PBX, rollouts, discovery) moves to
    another worker when the one running it dies. Several serves on one PostgreSQL
    database (--db) behave as one server the same way (docs/architecture.md).
    """
    from provd.web.server import serve as run_server
    from provd.web.workers import WorkerSeat, default_workers

    stored = load_settings(state.data_dir).log_format if state.initialised else None
    configure_logging(verbose, log_format or stored or LOG_FORMATS[0])
    # Checked before anything starts: a missing capability is one line, not a traceback.
    discovery = DiscoveryOptions(pnp, pnp_interface, pnp_answer_unknown, dhcp_observe)
    try:
        discovery = discovery.resolved()
    except ProvdError as e:
        fail(str(e), as_json=False)
    if not state.initialised:
        # The URLs the first run prints must be the ones it serves.
        _do_init(
            state,
            False,
            Settings().with_overrides(
                public_host=public_host, https_port=https_port, tls_key_type=tls_key_type
            ),
        )
    settings = load_settings(state.data_dir).with_overrides(
        https_port=https_port,
        http_port=http_port,
        bind=bind,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_key_type=tls_key_type,
        db_url=state.db_url,
        proxy_protocol_from=proxy_protocol_from or None,
    )
    try:
        for network in proxy_protocol_from:
            parse_network(network, field="proxy-protocol-from")
        seat = WorkerSeat.parse(worker_of) if worker_of else None
        pbx, export_dir = pbx_runtime(Path(state.data_dir), settings, pbx_options)
        _run(
            run_server(
                Path(state.data_dir),
                settings,
                pbx=pbx,
                pbx_export_dir=export_dir,
                discovery=discovery,
                workers=workers or default_workers(),
                seat=seat,
            )
        )
    except ProvdError as e:
        fail(str(e), as_json=False)
