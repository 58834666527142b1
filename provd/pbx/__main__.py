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
from provd.domain.errors import ProvdError
from provd.pbx.database import open_kamailio_db
from provd.pbx.external import export_external
from provd.pbx.settings import PBX_OPTIONS, PbxSettings
from provd.pbx.subscribers import sync_subscribers, tenant_domains
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(path))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m provd.pbx", description=__doc__.split("\n")[0])
    # Absolute from here on, as in provd's own CLI: the daemons run in DATA/pbx.
    p.add_argument(
        "--data-dir",
        type=_absolute,
        default=_absolute(os.environ.get("PROVD_DATA_DIR", "data")),
    )
    p.add_argument("--db", default=os.environ.get("PROVD_DB"), help="provd's database URL")
    for option in PBX_OPTIONS:
        # Kept raw: PbxOption.parse reads the flag and the variable alike.
        env = os.environ.get(option.env)
        help = f"{option.help} Default {_shown(option.default)}; env {option.env}."
        if option.kind is bool:
            action = argparse.BooleanOptionalAction
            p.add_argument(
                f"--{option.flag}", dest=option.name, action=action, default=env, help=help
            )
        else:
            p.add_argument(f"--{option.flag}", dest=option.name, default=env, help=help)
    sub = p.add_subparsers(dest="command", required=True)
    export = sub.add_parser(
        "export", help="write config + tables for a Kamailio provd does not run"
    )
    export.add_argument("--target", type=_absolute, required=True)
    export.add_argument("--run-dir", type=_absolute, default=Path("/run/kamailio"))
    sub.add_parser("run", help="supervise Kamailio and rtpengine until SIGTERM")
    return p


def _shown(default: object) -> str:
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def settings_from_args(args: argparse.Namespace) -> PbxSettings:
    values = {o.name: o.parse(getattr(args, o.name)) for o in PBX_OPTIONS}
    return PbxSettings.for_provd(args.data_dir, args.db, **values)


async def _main(args: argparse.Namespace) -> None:
    settings = settings_from_args(args)
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
    options = parser()
    args = options.parse_args()
    try:
        settings_from_args(args)
    except ProvdError as e:
        options.error(str(e))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
