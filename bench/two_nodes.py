"""Two provd nodes on PostgreSQL against one: the boot storm's phones per second.

    python bench/two_nodes.py [--phones N] [--concurrency C] [--rounds R] [--no-sqlite]

Everything happens in a temporary directory that is removed afterwards: a private
PostgreSQL server (Debian's binaries, as tests/pg.py runs them), a fleet of N users and
N sealed T46G devices made on it by ``provd --db URL init`` and the services layer, and
a copy of that data directory for the second node (its keys and certificates, as a
second host needs). Each round then runs the boot storm's load generator against:

- one node: ``provd --db URL serve --workers 1`` on PostgreSQL;
- two nodes: two such serves, one per data directory, on two ports of the same
  database, the phones spread over both in turn (a phone's requests all go to one);
- for reference, unless ``--no-sqlite``: one ``serve --workers 1`` on its own SQLite
  fleet (made the same way), as boot_storm.py measures provd.

Each run starts from the database as the fleet left it (PostgreSQL: a copy of a
template database; SQLite: a copy of the file). See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import _fleet
import _pg
from _procs import (
    Children,
    free_port,
    group_cpu_seconds,
    provd_source,
    start_load_generators,
    tail,
    wait_for_port,
)
from boot_storm import Result

LOADGEN = Path(__file__).with_name("_loadgen.py")
_START_TIMEOUT = 30.0
_PHONE_TIMEOUT = 30.0
_TEMPLATE = "provd_fleet"
_DATABASE = "provd"
ONE, TWO, SQLITE = "PostgreSQL, 1 node", "PostgreSQL, 2 nodes", "SQLite, 1 node"


@dataclass(slots=True)
class Run(Result):
    round: int = 0
    provd_cpu: float = 0.0
    node_cpu: list[float] = field(default_factory=list)
    db_cpu: float = 0.0

    @property
    def provd_ms_per_phone(self) -> float:
        return 1000 * self.provd_cpu / self.ok if self.ok else math.nan


@dataclass(frozen=True, slots=True)
class Node:
    data_dir: Path
    port: int


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--phones", type=int, default=500, help="measured phones (default 500)")
    ap.add_argument(
        "--concurrency", type=int, default=50, help="phones booting at once (default 50)"
    )
    ap.add_argument(
        "--loadgen-processes",
        type=int,
        default=2,
        help="load-generator processes sharing the phones and the concurrency (default 2)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="one node, two nodes (and SQLite), that many times in turn (default 2)",
    )
    ap.add_argument("--no-sqlite", action="store_true", help="leave out the reference on SQLite")
    ap.add_argument(
        "--tls-key-type",
        choices=("rsa", "ecdsa"),
        default="rsa",
        help="provd init --tls-key-type: the server key (default rsa)",
    )
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured phones first (default 20)")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds after which a run starts no new phone (default 60)",
    )
    ap.add_argument("--tmp-dir", type=Path, help="where to make the temporary directory")
    ap.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (every log) afterwards"
    )
    args = ap.parse_args(argv)
    if not 1 <= args.phones <= 50000:
        ap.error("--phones must be between 1 and 50000")
    if not 1 <= args.concurrency <= 2000:
        ap.error("--concurrency must be between 1 and 2000")
    if not 1 <= args.loadgen_processes <= 16:
        ap.error("--loadgen-processes must be between 1 and 16")
    if not 1 <= args.rounds <= 20:
        ap.error("--rounds must be between 1 and 20")
    if not 0 <= args.warmup <= 1000:
        ap.error("--warmup must be between 0 and 1000")
    if _pg.bindir() is None:
        ap.error("PostgreSQL's server binaries are missing (scripts/install-system-deps)")
    return args


def _drive(
    name: str,
    round_: int,
    ports: list[int],
    cpu: Callable[[], tuple[list[float], float]],
    fleet: _fleet.Fleet,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Run:
    """The load generator against the nodes on ``ports``; ``cpu`` reads each node's and
    the database's CPU seconds so far."""
    processes = min(args.loadgen_processes, args.concurrency)
    phones, warmup = _fleet.as_json(fleet.phones), _fleet.as_json(fleet.warmup)
    tag = f"{round_}-{len(ports)}-{'pg' if name != SQLITE else 'sqlite'}"
    jobs: list[tuple[Path, Path]] = []
    for i in range(processes):
        job = workdir / f"job-{tag}-{i}.json"
        job.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": ports[0],
                    "ports": ports,
                    "cafile": str(fleet.ca),
                    "scheme": "digest",
                    "concurrency": args.concurrency // processes
                    + (i < args.concurrency % processes),
                    "phone_timeout": _PHONE_TIMEOUT,
                    "deadline": args.time_limit,
                    "warmup": warmup[i::processes],
                    "phones": phones[i::processes],
                }
            )
        )
        jobs.append((job, workdir / f"loadgen-{tag}-{i}.log"))
    workers = start_load_generators(children, LOADGEN, jobs)

    provd_before, db_before = cpu()
    for w in workers:
        assert w.stdin is not None
        w.stdin.write(b"go\n")
        w.stdin.close()
    reports = []
    for i, w in enumerate(workers):
        assert w.stdout is not None
        out = w.stdout.read()
        w.wait(args.time_limit + _PHONE_TIMEOUT + 30)
        try:
            reports.append(json.loads(out.splitlines()[-1]))
        except (IndexError, ValueError):
            raise RuntimeError(
                f"load generator {i} gave no result:\n" + tail(workdir / f"loadgen-{tag}-{i}.log")
            ) from None
    provd_after, db_after = cpu()

    run = Run(name, len(fleet.phones), 1, round=round_)
    began = min(r["began"] for r in reports)
    run.wall = max(r["ended"] for r in reports) - began
    for r in reports:
        run.started += r["started"]
        run.latencies_ms += r["latencies_ms"]
        for kind, n in r["errors"].items():
            run.errors[kind] = run.errors.get(kind, 0) + n
        run.samples += r["samples"]
        run.loadgen_cpu += r["cpu_seconds"]
        run.tls = r["tls"] or run.tls
        run.stale += r["stale"]
        if r["warmup_errors"]:
            run.errors["warm-up"] = run.errors.get("warm-up", 0) + r["warmup_errors"]
    run.node_cpu = [after - before for before, after in zip(provd_before, provd_after, strict=True)]
    run.provd_cpu = sum(run.node_cpu)
    run.db_cpu = db_after - db_before
    run.server_cpu = run.provd_cpu + run.db_cpu
    return run


def _serve(
    name: str,
    round_: int,
    nodes: list[Node],
    db_url: str | None,
    server: _pg.Server | None,
    fleet: _fleet.Fleet,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Run:
    """Start a serve per node (``--workers 1``), run the storm, stop them."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    db = ["--db", db_url] if db_url else []
    try:
        for i, node in enumerate(nodes):
            kind = "pg" if db_url else "sqlite"
            logs.append(workdir / f"provd-{round_}-{len(nodes)}-{kind}-{i}.log")
            command = _fleet.provd_command(node.data_dir, *db, "serve", "--bind", "127.0.0.1")
            command += ["--https-port", str(node.port), "--workers", "1"]
            procs.append(children.start(command, stderr=logs[-1].open("wb")))
        for node, proc in zip(nodes, procs, strict=True):
            wait_for_port(node.port, proc, "provd serve", _START_TIMEOUT)

        def cpu() -> tuple[list[float], float]:
            provd = [group_cpu_seconds(p.pid) for p in procs]
            return provd, server.cpu_seconds() if server is not None else 0.0

        ports = [node.port for node in nodes]
        return _drive(name, round_, ports, cpu, fleet, args, children, workdir)
    except RuntimeError:
        for log in logs:
            print(tail(log), file=sys.stderr)
        raise
    finally:
        for proc in procs:
            children.stop(proc)


def summary(runs: list[Run]) -> list[tuple[str, float, float, float]]:
    """Per round with both node counts: two nodes over one for throughput, server CPU
    per phone (PostgreSQL included) and provd's CPU per phone; then the medians."""
    rows = []
    for round_ in sorted({r.round for r in runs}):
        by_name = {r.name: r for r in runs if r.round == round_}
        one, two = by_name.get(ONE), by_name.get(TWO)
        if one is None or two is None or not one.rate or not one.ok or not two.ok:
            continue
        rows.append(
            (
                f"round {round_}",
                two.rate / one.rate,
                two.server_ms_per_phone / one.server_ms_per_phone,
                two.provd_ms_per_phone / one.provd_ms_per_phone,
            )
        )
    if len(rows) > 1:
        rows.append(
            (
                "median",
                statistics.median(r[1] for r in rows),
                statistics.median(r[2] for r in rows),
                statistics.median(r[3] for r in rows),
            )
        )
    return rows


def _report(
    args: argparse.Namespace, runs: list[Run], setup_seconds: float, load_before: float
) -> str:
    processes = min(args.loadgen_processes, args.concurrency)
    lines = [
        "",
        f"two nodes: {args.phones} Yealink T46G phones (sealed), concurrency "
        f"{args.concurrency}, {args.rounds} round(s); setup took {setup_seconds:.1f} s",
        "  each phone: a new TLS connection; GET boot file -> 401; then boot file, "
        "y000000000028.cfg and <mac>.cfg with Digest, MAC file checked",
        f"  load generator: {processes} process(es) of bench/_loadgen.py, "
        f"{args.concurrency} phones in flight; two nodes: phones to each port in turn; "
        f"{runs[0].tls}",
        f"  provd: {provd_source()}, serve --workers 1 per node; "
        f"{args.tls_key_type.upper()} server key; PostgreSQL: a private server "
        f"({_pg.bindir()}), default settings",
        f"  {os.cpu_count()} cores, load average {load_before:.2f} before the runs, "
        f"{os.getloadavg()[0]:.2f} after (other work on the machine skews the figures)",
        "",
        f"  {'run':<21}{'round':>6}{'phones/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'CPU/phone':>11}{'provd':>10}{'postgres':>10}{'% core':>8}{'loadgen':>9}",
    ]
    for r in runs:
        lines.append(
            f"  {r.name:<21}{r.round:>6}{r.rate:>10.1f}{r.percentile(50):>9.1f}"
            f"{r.percentile(99):>9.1f}{r.error_count:>7}{r.server_ms_per_phone:>8.2f} ms"
            f"{r.provd_ms_per_phone:>7.2f} ms{_db_ms_per_phone(r):>10}"
            f"{100 * r.server_cpu / r.wall:>7.0f}%{100 * r.loadgen_cpu / r.wall:>8.0f}%"
        )
    lines += [
        "",
        "  (CPU/phone: the servers' CPU over the run (every provd process and every "
        "PostgreSQL process) over the phones served; provd and postgres: its two parts; "
        "% core: the servers' and the load generator's CPU over the run's wall time)",
    ]
    rows = summary(runs)
    if rows:
        lines += ["", f"  two nodes / one node  {'phones/s':>9}{'CPU/phone':>11}{'provd':>8}"]
        lines += [
            f"  {label:<22}{rate:>8.2f}x{cpu:>10.2f}x{provd:>7.2f}x"
            for label, rate, cpu, provd in rows
        ]
    for r in runs:
        if r.error_count:
            lines.append(f"  {r.name}, round {r.round}, errors: {r.errors}")
            lines += [f"    e.g. {s}" for s in r.samples[:3]]
        if len(r.node_cpu) > 1:
            each = ", ".join(f"{seconds:.2f} s" for seconds in r.node_cpu)
            lines.append(f"  {r.name}, round {r.round}: provd CPU by node {each}")
        if r.stale:
            lines.append(f"  {r.name}, round {r.round}: {r.stale} stale nonces answered again")
        if r.started < r.phones:
            lines.append(
                f"  {r.name}, round {r.round}: the time limit stopped the run; "
                f"{r.phones - r.started} phones never started"
            )
    return "\n".join(lines)


def _db_ms_per_phone(run: Run) -> str:
    if run.name == SQLITE:
        return "-"  # in provd's own processes
    return f"{1000 * run.db_cpu / run.ok:.2f} ms" if run.ok else "-"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="provd-two-nodes-", dir=args.tmp_dir))
    children = Children(workdir, _fleet.child_environment())
    server: _pg.Server | None = None
    try:
        print(f"PostgreSQL in {workdir / 'pg'} ...")
        t0 = time.monotonic()
        server = _pg.start(workdir / "pg", children)
        server.sql(f'CREATE DATABASE "{_TEMPLATE}"')
        a = Node(workdir / "a" / "data", free_port())
        b = Node(workdir / "b" / "data", free_port())
        while b.port == a.port:
            b = Node(b.data_dir, free_port())
        print(f"setting up {args.phones} + {args.warmup} warm-up phones on PostgreSQL ...")
        a.data_dir.parent.mkdir()
        fleet = _fleet.create(
            a.data_dir,
            a.port,
            args.phones,
            args.warmup,
            sealed=True,
            key_type=args.tls_key_type,
            db_url=server.url(_TEMPLATE),
        )
        # A second host's data directory: the same keys and certificates.
        shutil.copytree(a.data_dir, b.data_dir, ignore=shutil.ignore_patterns("run", "*.pid"))
        sqlite: tuple[_fleet.Fleet, Node, Path] | None = None
        if not args.no_sqlite:
            print("and on SQLite ...")
            node = Node(workdir / "sqlite" / "data", a.port)
            node.data_dir.parent.mkdir()
            lite = _fleet.create(
                node.data_dir,
                node.port,
                args.phones,
                args.warmup,
                sealed=True,
                key_type=args.tls_key_type,
            )
            pristine = workdir / "pristine.sqlite3"
            shutil.copy(node.data_dir / "provd.sqlite3", pristine)
            sqlite = (lite, node, pristine)
        setup_seconds = time.monotonic() - t0
        load_before = os.getloadavg()[0]
        runs: list[Run] = []
        for round_ in range(1, args.rounds + 1):
            for name, nodes in ((ONE, [a]), (TWO, [a, b])):
                url = server.copy_database(_TEMPLATE, _DATABASE)
                print(f"round {round_}: {name} ...")
                runs.append(
                    _serve(name, round_, nodes, url, server, fleet, args, children, workdir)
                )
            if sqlite is not None:
                lite, node, pristine = sqlite
                database = node.data_dir / "provd.sqlite3"
                for side in ("-wal", "-shm"):
                    database.with_name(database.name + side).unlink(missing_ok=True)
                shutil.copy(pristine, database)
                print(f"round {round_}: {SQLITE} ...")
                runs.append(
                    _serve(SQLITE, round_, [node], None, None, lite, args, children, workdir)
                )
        print(_report(args, runs, setup_seconds, load_before))
        return 1 if any(r.error_count or r.started < r.phones for r in runs) else 0
    except KeyboardInterrupt:
        print("interrupted; stopping everything this benchmark started", file=sys.stderr)
        return 130
    except RuntimeError:
        if server is not None:
            print(tail(server.root / "log"), file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if server is not None:
            _pg.stop(server, children)
        children.stop_all()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
