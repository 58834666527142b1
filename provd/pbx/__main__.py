"""``python -m provd.pbx``: the PBX on its own, for containers and for admins.

    python -m provd.pbx --data-dir D [--db URL] export --target DIR   # external Kamailio
    python -m provd.pbx --data-dir D [--db URL] run                   # supervised, like serve --pbx

Both read tenants and users from provd's database (``provd init`` first),
sync Kamailio's subscriber table and render the configuration. Options
default to ``PROVD_PBX_*`` environment variables so a compose file can set them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from provd.db.connection import database, db_url_for
from provd.pbx.database import open_kamailio_db
from provd.pbx.external import export_external
from provd.pbx.settings import PbxSettings
from provd.pbx.subscribers import sync_subscribers, tenant_domains
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox

_ENV = "PROVD_PBX_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(_ENV + name.upper().replace("-", "_"), default)


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(path))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m provd.pbx", description=__doc__.split("\n")[0])
    # Absolute from here on, as in provd's own CLI: the daemons run in DATA/pbx.
    p.add_argument(
        "--data-dir",
        type=_absolute,
        default=_absolute(os.environ.get("PROVD_DATA_DIR", "data")),
    )
    p.add_argument("--db", default=os.environ.get("PROVD_DB"), help="provd's database URL")
    for name, default in [
        ("sip-address", "127.0.0.1"),
        ("sip-port", "5060"),
        ("advertised-address", None),
        ("rpc-address", "127.0.0.1"),
        ("rpc-port", "5081"),
        ("rtpengine-ng-address", "127.0.0.1"),
        ("rtpengine-ng-port", "2223"),
        ("media-address", "127.0.0.1"),
        ("media-advertised-address", None),
        ("rtp-port-min", "30000"),
        ("rtp-port-max", "30999"),
        ("flood-limit", "200"),
        ("children", "4"),
    ]:
        p.add_argument(f"--{name}", default=_env(name, default))
    p.add_argument("--with-blf", action="store_true", default=_env("with-blf") == "1")
    sub = p.add_subparsers(dest="command", required=True)
    export = sub.add_parser(
        "export", help="write config + tables for a Kamailio provd does not run"
    )
    export.add_argument("--target", type=_absolute, required=True)
    export.add_argument("--run-dir", type=_absolute, default=Path("/run/kamailio"))
    sub.add_parser("run", help="supervise Kamailio and rtpengine until SIGTERM")
    return p


_INTS = ("sip_port", "rpc_port", "rtpengine_ng_port", "rtp_port_min", "rtp_port_max", "children")
_STRS = (
    "sip_address",
    "advertised_address",
    "rpc_address",
    "rtpengine_ng_address",
    "media_address",
    "media_advertised_address",
)


def _settings(args: argparse.Namespace) -> PbxSettings:
    values: dict[str, object] = {k: int(getattr(args, k)) for k in _INTS}
    # Compose passes unset optional addresses as empty strings.
    values.update({k: getattr(args, k) or None for k in _STRS})
    limit = args.flood_limit
    values["flood_limit"] = None if limit in (None, "", "0", "off") else int(limit)
    values["with_blf"] = args.with_blf
    return PbxSettings.for_provd(args.data_dir, args.db, **values)


async def _main(args: argparse.Namespace) -> None:
    settings = _settings(args)
    box = SecretBox.load_or_create(args.data_dir)
    async with database(db_url_for(args.data_dir, args.db)):
        domains = await tenant_domains()
        if args.command == "export":
            files = await export_external(settings, domains, args.target, run_dir=args.run_dir)
            kdb = open_kamailio_db(settings)
            try:
                report = await sync_subscribers(kdb, box)
            finally:
                await kdb.close()
            print(f"wrote {files.main} and {files.local}; {report.written} subscribers written")
            return
        supervisor = PbxSupervisor(settings, domains=domains)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with supervisor:
            await supervisor.control.sync_subscribers(box)
            print(f"PBX running: SIP {settings.sip_hostport}, RPC {settings.rpc_url}", flush=True)
            await stop.wait()


def main() -> None:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
