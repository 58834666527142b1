"""``python -m provd.media``: the media application, as provd's PBX supervisor runs it.

It reads its menus, mailboxes and sounds from ``--data`` (provd.media.catalogue) and
spools the messages it takes there (provd.media.spool), listens for Kamailio on
``--sip`` and places calls back through ``--proxy``. SIGTERM or SIGINT
ends every call with a BYE and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from provd.media.app import Address, MediaApp, MediaSettings
from provd.media.catalogue import Catalogue


def _address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _ports(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW-HIGH")
    lo, hi = int(low), int(high)
    if not 1024 <= lo < hi <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1024 <= LOW < HIGH <= 65535")
    return lo, hi


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m provd.media", description=__doc__)
    parser.add_argument("--sip", type=_address, required=True, help="HOST:PORT to listen on")
    parser.add_argument("--proxy", type=_address, required=True, help="Kamailio's HOST:PORT")
    parser.add_argument("--rtp-host", required=True, help="address for RTP")
    parser.add_argument("--rtp-ports", type=_ports, default=(40000, 44999), help="LOW-HIGH")
    parser.add_argument("--data", type=Path, required=True, help="where menus.json is; the spool")
    parser.add_argument("--sounds", type=Path, help="the sounds (default: DATA/sounds)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    settings = MediaSettings(args.sip, args.proxy, args.rtp_host, args.rtp_ports)
    app = MediaApp(settings, Catalogue(args.data, args.sounds))
    await app.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
