"""REGISTER storm: 1,000 phones re-registering with digest auth, through provd's Kamailio.

    python bench/register_storm.py [--users 1000] [--rate 3000] [--duration 10]

What runs, all on loopback and bounded in time:
1. a provd database with N users (SecretBox-encrypted passwords), synced into
   Kamailio's ``subscriber`` table by ``provd.pbx.subscribers.sync_subscribers``;
2. provd's PBX (``PbxSupervisor``: Kamailio with provd's config + rtpengine), and
   sipp sending REGISTER → 401 → REGISTER with Authorization → 200 for every user
   at a fixed rate;
3. the same load against a stock-style minimal registrar config
   (``register_storm_stock.cfg``) on the same database file, in the same run;
   the two alternate for ``--rounds`` rounds and medians are compared.

It prints registrations/s, failures, retransmissions and Kamailio CPU seconds
for both, and the ratio provd/stock. All load comes from one source address,
so provd's per-address flood limit is raised for the run (pike still runs:
its cost is part of what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provd.db.connection import database, db_url_for, upgrade_schema  # noqa: E402
from provd.db.models import Tenant, User  # noqa: E402
from provd.domain.passwords import generate_password  # noqa: E402
from provd.pbx.database import SqliteKamailioDb  # noqa: E402
from provd.pbx.process import ManagedProcess  # noqa: E402
from provd.pbx.schema import ensure_schema  # noqa: E402
from provd.pbx.settings import PbxSettings  # noqa: E402
from provd.pbx.subscribers import sync_subscribers, tenant_domains  # noqa: E402
from provd.pbx.supervisor import PbxSupervisor  # noqa: E402
from provd.security.secretbox import SecretBox  # noqa: E402

SCENARIO = ROOT / "tests" / "pbx" / "sipp" / "register.xml"
STOCK_CFG = Path(__file__).resolve().parent / "register_storm_stock.cfg"
DOMAIN = "storm.test"
# A loopback /24 of its own per run, so a concurrent test run cannot collide.
_NET = f"127.{random.Random(os.getpid()).randint(16, 250)}.{random.randint(1, 254)}"
PROXY_IP = f"{_NET}.1"
STOCK_IP = f"{_NET}.3"
LOADGEN = (f"{_NET}.2", 5062)
PROBE_IP = f"{_NET}.9"
SIP_PORT = 5060


@dataclass(frozen=True, slots=True)
class RunResult:
    name: str
    ok: int
    failed: int
    retransmissions: int
    elapsed_s: float
    kamailio_cpu_s: float

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def cpu_ms_per_reg(self) -> float:
        return 1000 * self.kamailio_cpu_s / self.ok if self.ok else float("nan")


def _group_cpu_seconds(pgid: int) -> float:
    """utime+stime of every process in Kamailio's process group (its workers too)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state ppid pgrp session ... utime(12) stime(13)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


async def _make_users(data_dir: Path, n: int) -> SecretBox:
    db_url = db_url_for(data_dir)
    await upgrade_schema(db_url)
    box = SecretBox.load_or_create(data_dir)
    async with database(db_url):
        tenant = await Tenant.create(
            slug="storm",
            name="Storm",
            sip_domain=DOMAIN,
            bootstrap_username="boot-storm",
            bootstrap_password_enc=box.seal(generate_password()),
        )
        await User.bulk_create(
            [
                User(
                    tenant=tenant,
                    extension=str(10000 + i),
                    display_name=f"Phone {i}",
                    sip_username=str(10000 + i),
                    sip_password_enc=box.seal(f"Pw-{i}-{generate_password(12)}"),
                )
                for i in range(n)
            ]
        )
    return box


async def _write_csv(data_dir: Path, box: SecretBox, path: Path) -> int:
    async with database(db_url_for(data_dir)):
        users = await User.all().order_by("extension")
        rows = [
            [
                u.extension,
                DOMAIN,
                f"[authentication username={u.sip_username} "
                f"password={box.open(u.sip_password_enc)}]",
                "3600",
                f"{LOADGEN[0]}:{LOADGEN[1]}",
            ]
            for u in users
        ]
    with path.open("w", newline="") as f:
        f.write("SEQUENTIAL\n")
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(rows)
    return len(rows)


def _sipp_stats(stat_file: Path) -> tuple[int, int, int, float]:
    with stat_file.open() as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    last = rows[-1]
    h, m, s = last["ElapsedTime(C)"].split(":")[:3]
    usec = last["ElapsedTime(C)"].split(":")[3] if last["ElapsedTime(C)"].count(":") == 3 else "0"
    elapsed = int(h) * 3600 + int(m) * 60 + int(s) + int(usec) / 1e6
    return (
        int(last["SuccessfulCall(C)"]),
        int(last["FailedCall(C)"]),
        int(last["Retransmissions(C)"]),
        elapsed,
    )


async def _storm(
    name: str, target: str, kamailio_pid: int, users_csv: Path, work: Path, rate: int, duration: int
) -> RunResult:
    total = rate * duration
    stat_file = work / f"{name}-stats.csv"
    argv = [
        "sipp", target, "-sf", str(SCENARIO), "-inf", str(users_csv),
        "-i", LOADGEN[0], "-p", str(LOADGEN[1]),
        "-r", str(rate), "-l", "2000", "-m", str(total),
        "-timeout", f"{duration + 20}s", "-nostdin",
        "-trace_stat", "-stf", str(stat_file), "-fd", "1",
    ]  # fmt: skip
    cpu_before = _group_cpu_seconds(kamailio_pid)
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=work, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(proc.communicate(), duration + 40)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
        raise SystemExit(f"{name}: sipp did not finish in time") from None
    cpu = _group_cpu_seconds(kamailio_pid) - cpu_before
    if not stat_file.exists():
        raise SystemExit(f"{name}: sipp failed (rc={proc.returncode}): {err.decode()[-2000:]}")
    ok, failed, retrans, elapsed = _sipp_stats(stat_file)
    return RunResult(name, ok, failed, retrans, elapsed, cpu)


async def _sip_ready(address: tuple[str, int]) -> bool:
    """Any answer to an OPTIONS means the stock Kamailio is listening."""
    loop = asyncio.get_running_loop()
    msg = "\r\n".join(
        [
            f"OPTIONS sip:{address[0]} SIP/2.0",
            f"Via: SIP/2.0/UDP {PROBE_IP}:5099;rport;branch=z9hG4bK-probe",
            f"From: <sip:probe@{DOMAIN}>;tag=p",
            f"To: <sip:{address[0]}>",
            f"Call-ID: probe-{time.time()}",
            "CSeq: 1 OPTIONS",
            "Max-Forwards: 5",
            "Content-Length: 0",
            "",
            "",
        ]
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((PROBE_IP, 0))
        s.setblocking(False)
        s.sendto(msg, address)
        try:
            data = await asyncio.wait_for(loop.sock_recv(s, 4096), 0.3)
        except TimeoutError:
            return False
    return data.startswith(b"SIP/2.0")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=3000, help="REGISTER transactions per second")
    parser.add_argument("--duration", type=int, default=8, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per config")
    parser.add_argument("--children", type=int, default=4, help="Kamailio UDP workers (both)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    for tool in ("kamailio", "rtpengine", "sipp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run scripts/install-system-deps")

    work = Path(tempfile.mkdtemp(prefix="provd-register-storm-"))
    try:
        t0 = time.monotonic()
        box = await _make_users(work, args.users)
        settings = PbxSettings(
            data_dir=work,
            sip_address=PROXY_IP,
            rpc_address=PROXY_IP,
            rtpengine_ng_address=PROXY_IP,
            media_address=PROXY_IP,
            children=args.children,
            flood_limit=10_000_000,
            # Measured without presence since it began; BLF is now on by default.
            with_blf=False,
        )
        kdb = SqliteKamailioDb(settings.sqlite_path)
        await ensure_schema(kdb)
        async with database(db_url_for(work)):
            t_sync = time.monotonic()
            report = await sync_subscribers(kdb, box)
            sync_s = time.monotonic() - t_sync
            domains = await tenant_domains()
        users_csv = work / "users.csv"
        await _write_csv(work, box, users_csv)
        print(
            f"setup: {args.users} users in provd's DB and synced to Kamailio "
            f"({report.written} subscriber rows in {sync_s * 1000:.0f} ms), "
            f"{time.monotonic() - t0:.1f} s"
        )

        stock_dir = work / "stock"
        stock_dir.mkdir()
        shutil.copy(STOCK_CFG, stock_dir / "kamailio.cfg")
        (stock_dir / "run").mkdir()
        (stock_dir / "stock-local.cfg").write_text(
            f'#!define DBURL "{settings.kamailio_db_url}"\n'
            f"#!define ULDBMODE {settings.usrloc_db_mode}\n"
            f'rundir="{stock_dir / "run"}"\n'
            f"children={args.children}\n"
            f"listen=udp:{STOCK_IP}:{SIP_PORT}\n"
        )
        stock = ManagedProcess(
            "kamailio-stock",
            ["kamailio", "-DD", "-E", "-f", str(stock_dir / "kamailio.cfg"), "-m", "64", "-M", "8"],
            cwd=stock_dir,
            log_path=stock_dir / "kamailio.log",
            ready=lambda: _sip_ready((STOCK_IP, SIP_PORT)),
        )
        # Both run side by side (the idle one costs nothing) and the rounds
        # alternate, so drift in machine load hits both configurations alike.
        results: dict[str, list[RunResult]] = {"stock": [], "provd": []}
        await stock.start()
        try:
            async with PbxSupervisor(settings, domains=domains) as pbx:
                assert stock.pid is not None
                assert pbx.kamailio is not None and pbx.kamailio.pid is not None
                targets = {
                    "stock": (f"{STOCK_IP}:{SIP_PORT}", stock.pid),
                    "provd": (f"{PROXY_IP}:{SIP_PORT}", pbx.kamailio.pid),
                }
                for _ in range(args.rounds):
                    for name, (target, pid) in targets.items():
                        results[name].append(
                            await _storm(
                                name, target, pid, users_csv, work, args.rate, args.duration
                            )
                        )
                registered = len(await pbx.control.registrations())
        finally:
            await stock.stop()

        print(
            f"\nload: {args.rate} REGISTER/s target for {args.duration} s per round, "
            f"{args.rounds} rounds each ({args.rate * args.duration} registrations per round; "
            f"digest, UDP, SQLite, usrloc db_mode {settings.usrloc_db_mode}, "
            f"{args.children} workers)"
        )
        print(f"{'config':8} {'round':>5} {'ok':>8} {'failed':>7} {'retrans':>8} {'reg/s':>8} "
              f"{'kamailio CPU s':>15} {'CPU ms/reg':>11}")  # fmt: skip
        for name, runs in results.items():
            for i, r in enumerate(runs, 1):
                print(
                    f"{name:8} {i:5d} {r.ok:8d} {r.failed:7d} {r.retransmissions:8d} "
                    f"{r.rate:8.0f} {r.kamailio_cpu_s:15.2f} {r.cpu_ms_per_reg:11.3f}"
                )
        stock_rate = statistics.median(r.rate for r in results["stock"])
        provd_rate = statistics.median(r.rate for r in results["provd"])
        stock_cpu = statistics.median(r.cpu_ms_per_reg for r in results["stock"])
        provd_cpu = statistics.median(r.cpu_ms_per_reg for r in results["provd"])
        failures = {n: sum(r.failed for r in runs) for n, runs in results.items()}
        print(f"\nprovd AoRs registered at the end: {registered} of {args.users}")
        print(f"failures: provd {failures['provd']}, stock {failures['stock']}")
        print(
            f"median reg/s: provd {provd_rate:.0f}, stock {stock_rate:.0f}; "
            f"median Kamailio CPU per registration: provd {provd_cpu:.3f} ms, "
            f"stock {stock_cpu:.3f} ms"
        )
        print(
            f"ratio provd/stock: throughput {provd_rate / stock_rate:.2f}, "
            f"CPU per registration {provd_cpu / stock_cpu:.2f}"
        )
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
