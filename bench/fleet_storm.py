"""Fleet storm: a whole fleet booting at once against provd, phones retrying as real ones do.

    python bench/fleet_storm.py [--phones N] [--concurrency C] [--devices D] [--workers 1,2]

A provd data directory is made by ``provd init`` in a temporary directory with D users
and D T46G devices (sealed, as in an installed fleet); ``provd serve --workers N`` runs
on a free loopback port, and N phones picked at random among the D boot at once, at
most C in flight, spread over load-generator processes (``_storm_loadgen``). Each phone
comes from its own loopback address and retries a failed boot after a few seconds with
jitter, up to ``--attempts``; at the end every phone must be configured.

While the phones boot, the benchmark renames ``--renames`` of their users through
provd's REST API (with the admin token ``provd init`` printed). Every phone checks that
its MAC file sets its own account; the benchmark then checks that each phone whose
MAC-file request started after provd acknowledged its user's rename got the new name,
and that no phone got a name that was never its user's (``_freshness``). Meanwhile it
samples the resident memory of serve's parent and each worker (``_rss``).

Exit status 1 when a phone was not configured, got a wrong or stale file, or a rename
failed. See bench/README.md, "Fleet storm", for the figures and how to read them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import _fleet
from _freshness import Rename, Verdict, judge, must_be_new
from _procs import (
    Children,
    free_port,
    group_cpu_seconds,
    provd_source,
    start_load_generators,
    tail,
    wait_for_port,
)
from _rss import Peak, Sampler
from boot_storm import _split, _wait_for_workers, _worker_counts

LOADGEN = Path(__file__).with_name("_storm_loadgen.py")
_START_TIMEOUT = 60.0
_RSS_TARGET_MB = 150
_RENAME_THREADS = 4
_RENAME_ATTEMPTS = 3


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--phones", type=int, default=2000, help="phones booting (default 2000)")
    ap.add_argument(
        "--concurrency", type=int, default=200, help="boots in flight at once (default 200)"
    )
    ap.add_argument(
        "--devices",
        type=int,
        help="devices in the database, the phones picked among them at random "
        "(default: the phones and the warm-up phones)",
    )
    ap.add_argument(
        "--workers",
        type=_worker_counts,
        default=[1],
        metavar="N[,N...]",
        help="provd serve --workers N; several counts run one after the other on the same "
        "fleet (default 1)",
    )
    ap.add_argument(
        "--loadgen-processes",
        type=int,
        default=2,
        help="load-generator processes sharing the phones and the concurrency (default 2)",
    )
    ap.add_argument(
        "--renames",
        type=int,
        help="users renamed through the API during the storm (default: 1 in 50 phones)",
    )
    ap.add_argument(
        "--rename-after",
        type=float,
        default=1.0,
        help="seconds into the storm when the renames start (default 1)",
    )
    ap.add_argument(
        "--attempts", type=int, default=10, help="boot attempts per phone at most (default 10)"
    )
    ap.add_argument(
        "--retry-delay",
        type=_delay_range,
        default=(2.0, 6.0),
        metavar="MIN,MAX",
        help="seconds a phone waits before it boots again, uniform in MIN..MAX (default 2,6)",
    )
    ap.add_argument(
        "--phone-timeout",
        type=float,
        default=30.0,
        help="seconds a phone waits on its connection before it gives the attempt up (default 30)",
    )
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured phones first (default 20)")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=900.0,
        help="seconds after which no attempt starts (default 900)",
    )
    ap.add_argument(
        "--by-services",
        type=int,
        default=2000,
        metavar="N",
        help="users and devices of each tenant made through the services layer; the "
        "others are copies of the first one's rows (bench/_clone.py) (default 2000)",
    )
    ap.add_argument("--seed", type=int, help="seeds the random choices (default: random)")
    ap.add_argument(
        "--fleet-cache",
        type=Path,
        metavar="DIR",
        help="keep the fleet made (data directory and credentials) in DIR/fleet-D and "
        "reuse it next time: 100,000 devices take long to make",
    )
    ap.add_argument("--tmp-dir", type=Path, help="where to make the temporary directory")
    ap.add_argument(
        "--keep-logs",
        type=Path,
        metavar="DIR",
        help="copy provd's and the load generators' logs to DIR",
    )
    args = ap.parse_args(argv)
    if args.devices is None:
        args.devices = args.phones + args.warmup
    if args.renames is None:
        args.renames = max(1, args.phones // 50)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    if args.phones < 1 or args.phones + args.warmup > args.devices:
        ap.error("--devices must hold --phones plus --warmup")
    if args.devices > 1_000_000:
        ap.error("--devices must be at most 1000000")
    if not 1 <= args.concurrency <= 5000:
        ap.error("--concurrency must be between 1 and 5000")
    if not 1 <= args.loadgen_processes <= 16 or not all(1 <= n <= 16 for n in args.workers):
        ap.error("--loadgen-processes and --workers must be between 1 and 16")
    if not 0 <= args.renames <= args.phones - args.phones // 3:
        ap.error("--renames must be between 0 and two thirds of --phones")
    if args.attempts < 1:
        ap.error("--attempts must be at least 1")
    return args


def _delay_range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MIN,MAX") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: 0 <= MIN <= MAX")
    return low, high


def source_address(index: int) -> str:
    """A loopback address of its own for each phone, 127.10.0.1 onwards (none ending
    in .0 or .255), as real phones each have their own."""
    return f"127.{10 + index // 62500}.{index // 250 % 250 + 1}.{index % 250 + 1}"


# -- the fleet -------------------------------------------------------------------------


def _make_fleet(args: argparse.Namespace, workdir: Path, port: int) -> _fleet.Fleet:
    """The fleet in ``workdir/provd``, made or copied from the cache."""
    data_dir = workdir / "provd"
    name = f"fleet-{args.devices}-{args.by_services}"
    cached = args.fleet_cache / name if args.fleet_cache else None
    if cached is not None and (cached / "fleet.json").exists():
        print(f"copying the fleet of {args.devices} devices from {cached} ...")
        shutil.copytree(cached / "provd", data_dir)
        return _fleet.load(data_dir, cached / "fleet.json")
    print(f"making {args.devices} users and devices in {workdir} ...")
    fleet = _fleet.create(
        data_dir, port, args.devices, 0, sealed=True, render=False, by_services=args.by_services
    )
    if cached is not None:
        building = cached.with_name(cached.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        shutil.copytree(data_dir, building / "provd")
        _fleet.save(fleet, building / "fleet.json")
        building.rename(cached)
    return fleet


# -- one run ---------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    workers: int
    phones: list[_fleet.Phone]
    wall: float = 0.0
    done: list[list[Any]] = field(default_factory=list)
    causes: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    gave_up: int = 0
    unfinished: int = 0
    warmup_failures: int = 0
    server_cpu: float = 0.0
    loadgen_cpu: float = 0.0
    renames: dict[int, Rename] = field(default_factory=dict)
    rename_errors: list[str] = field(default_factory=list)
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    strict: int = 0
    saw_new: int = 0
    bad: list[str] = field(default_factory=list)
    peaks: list[Peak] = field(default_factory=list)
    load: float = 0.0

    def rename_errors_kinds(self) -> list[str]:
        return [e.split(": ", 1)[1] for e in self.rename_errors]

    def percentile(self, p: float) -> float:
        if not self.done:
            return math.nan
        ordered: list[float] = sorted(float(d[3] - d[1]) for d in self.done)
        return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    @property
    def failed(self) -> bool:
        return bool(
            len(self.done) < len(self.phones)
            or self.verdicts[Verdict.STALE]
            or self.verdicts[Verdict.WRONG]
            or any(r.acked_at is None for r in self.renames.values())
            or self.warmup_failures
        )


class _Renamer:
    """Renames users through the REST API, several at a time, noting when each rename
    was sent and when provd acknowledged it."""

    def __init__(self, port: int, fleet: _fleet.Fleet, run: Run, todo: list[int]) -> None:
        self._port = port
        self._context = ssl.create_default_context(cafile=str(fleet.ca))
        self._token = fleet.api_token
        self._run = run
        self._todo = list(todo)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._connections: list[http.client.HTTPSConnection] = []

    def start(self, delay: float) -> None:
        self._threads = [
            threading.Thread(target=self._work, args=(conn, delay), daemon=True)
            for conn in self._connections
        ]
        for t in self._threads:
            t.start()

    def join(self) -> None:
        for t in self._threads:
            t.join()
        for conn in self._connections:
            conn.close()

    def connect(self) -> None:
        """The connections the renames go on, opened (and each used once) before the
        storm, as an admin's session would be: a new connection during the storm would
        wait in the queue with a thousand phones' before its first rename."""
        phone = self._run.phones[0]
        for _ in range(_RENAME_THREADS):
            conn = self._new_connection()
            self._connections.append(conn)
            conn.request(
                "GET",
                f"/api/v1/users/{phone.tenant}/{phone.extension}",
                headers={"Authorization": f"Bearer {self._token}"},
            )
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"the API answered {response.status} to the admin token")

    def _new_connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self._port, context=self._context)

    def _work(self, conn: http.client.HTTPSConnection, delay: float) -> None:
        time.sleep(delay)
        while True:
            with self._lock:
                if not self._todo:
                    return
                index = self._todo.pop()
            phone = self._run.phones[index]
            new = f"Renamed {index} in storm {self._run.workers}"
            sent = time.monotonic()
            acked = None
            # An admin whose change failed tries again; each failure is reported.
            for _ in range(_RENAME_ATTEMPTS):
                if self._rename(conn, phone, new):
                    acked = time.monotonic()
                    break
            with self._lock:
                self._run.renames[index] = Rename(phone.name, new, sent, acked)

    def _rename(self, conn: http.client.HTTPSConnection, phone: _fleet.Phone, new: str) -> bool:
        try:
            conn.request(
                "PATCH",
                f"/api/v1/users/{phone.tenant}/{phone.extension}",
                body=json.dumps({"name": new}),
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            self._error(f"{phone.extension}: {type(e).__name__}: {e}")
            conn.close()  # http.client reconnects by itself on the next request
            return False
        if response.status != 200:
            self._error(f"{phone.extension}: HTTP {response.status} {body[:60]!r}")
            return False
        return True

    def _error(self, text: str) -> None:
        with self._lock:
            self._run.rename_errors.append(text)


def _start_loadgens(
    run: Run,
    fleet: _fleet.Fleet,
    warmup: list[_fleet.Phone],
    port: int,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> list[subprocess.Popen[bytes]]:
    processes = min(args.loadgen_processes, args.concurrency)
    indexed = list(range(len(run.phones)))
    jobs: list[tuple[Path, Path]] = []
    for i, share in enumerate(_split(indexed, processes)):
        warm = warmup[i::processes]
        job = workdir / f"job-{run.workers}-{i}.json"
        job.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "cafile": str(fleet.ca),
                    "concurrency": args.concurrency // processes
                    + (i < args.concurrency % processes),
                    "phone_timeout": args.phone_timeout,
                    "deadline": args.time_limit,
                    "attempts": args.attempts,
                    "retry_min": args.retry_delay[0],
                    "retry_max": args.retry_delay[1],
                    "warmup": _fleet.as_json(warm),
                    "phones": _fleet.as_json([run.phones[j] for j in share]),
                    "sources": [source_address(j) for j in share],
                    "warmup_sources": [
                        source_address(len(run.phones) + i + k * processes)
                        for k in range(len(warm))
                    ],
                }
            )
        )
        jobs.append((job, workdir / f"loadgen-{run.workers}-{i}.log"))
    procs = start_load_generators(children, LOADGEN, jobs)
    return procs


def _storm(
    fleet: _fleet.Fleet,
    phones: list[_fleet.Phone],
    warmup: list[_fleet.Phone],
    port: int,
    workers: int,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Run:
    run = Run(workers, phones)
    log = workdir / f"provd-{workers}.log"
    command = _fleet.provd_command(
        fleet.data_dir, "serve", "--bind", "127.0.0.1", "--https-port", str(port)
    )
    serve = children.start([*command, "--workers", str(workers)], stderr=log.open("wb"))
    try:
        wait_for_port(port, serve, "provd serve", _START_TIMEOUT)
        if workers > 1:
            _wait_for_workers(port, fleet, workers)
        loadgens = _start_loadgens(run, fleet, warmup, port, args, children, workdir)
        # Threads only now: every child is started (their pre-exec hook is unsafe with
        # threads running).
        rng = random.Random(args.seed + workers)
        # Among the phones of the last two thirds of the boot order, so that most of them
        # fetch their MAC file after the rename and the check has something to check.
        later = range(len(phones) // 3, len(phones))
        renamer = _Renamer(port, fleet, run, rng.sample(later, min(args.renames, len(later))))
        renamer.connect()
        sampler = Sampler(serve.pid)
        sampler.start()
        run.load = os.getloadavg()[0]
        cpu_before = group_cpu_seconds(serve.pid)
        for proc in loadgens:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.close()
        renamer.start(args.rename_after)
        reports = []
        for i, proc in enumerate(loadgens):
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.wait()
            try:
                reports.append(json.loads(out.splitlines()[-1]))
            except (IndexError, ValueError):
                raise RuntimeError(
                    f"load generator {i} gave no result:\n"
                    + tail(workdir / f"loadgen-{workers}-{i}.log")
                ) from None
        run.server_cpu = group_cpu_seconds(serve.pid) - cpu_before
        renamer.join()
        sampler.stop()
        run.peaks = list(sampler.peaks.values())
    except RuntimeError:
        print(tail(log), file=sys.stderr)
        raise
    finally:
        children.stop(serve)
    _gather(run, reports)
    return run


def _gather(run: Run, reports: list[dict[str, Any]]) -> None:
    began = min(r["began"] for r in reports)
    processes = len(reports)
    for p, r in enumerate(reports):
        # Each load generator numbers its share from 0; shares are dealt round-robin.
        for d in r["done"]:
            d[0] = d[0] * processes + p
        run.done += r["done"]
        run.causes.update(r["causes"])
        run.samples += r["samples"]
        run.gave_up += r["gave_up"]
        run.unfinished += r["unfinished"]
        run.warmup_failures += r["warmup_failures"]
        run.loadgen_cpu += r["cpu_seconds"]
    run.wall = max((d[3] for d in run.done), default=began) - began
    for index, _first, mac_start, _end, _attempts, seen, own in run.done:
        phone = run.phones[index]
        rename = run.renames.get(index)
        verdict = judge(seen, own, phone.name, mac_start, rename)
        run.verdicts[verdict] += 1
        run.strict += must_be_new(mac_start, rename)
        run.saw_new += rename is not None and seen == rename.new
        if verdict != Verdict.OK and len(run.bad) < 10:
            expected = rename.new if rename and must_be_new(mac_start, rename) else phone.name
            run.bad.append(f"{verdict}: {phone.mac} got {seen!r}, expected {expected!r}")


# -- the report ------------------------------------------------------------------------


def _report(args: argparse.Namespace, runs: list[Run], made: dict[str, float]) -> str:
    processes = min(args.loadgen_processes, args.concurrency)
    lines = [
        "",
        f"fleet storm: {args.phones} Yealink T46G phones (sealed) of {args.devices} devices, "
        f"concurrency {args.concurrency}, seed {args.seed}",
        f"  fleet: {made['services']:.0f} users and devices through the services layer in "
        f"{made['services_s']:.1f} s ({1000 * made['services_s'] / made['services']:.1f} ms "
        f"each: {made['services_s'] / made['services'] * args.devices / 60:.1f} min for all "
        f"{args.devices}), {made['copied']:.0f} copied from them in {made['copied_s']:.1f} s",
        f"  each phone: its own source address 127.x.y.z, a new TLS connection; boot file "
        "-> 401, then boot, common and MAC file with Digest; a failed boot is tried again "
        f"after {args.retry_delay[0]:g}-{args.retry_delay[1]:g} s, at most {args.attempts} "
        f"attempts; {processes} load-generator processes",
        f"  renames: {args.renames} users renamed through PATCH /api/v1/users from "
        f"{args.rename_after:g} s into the storm, {_RENAME_THREADS} at a time",
        f"  provd: {provd_source()}; {os.cpu_count()} cores",
    ]
    for run in runs:
        lines += _report_run(run)
    return "\n".join(lines)


def _report_run(run: Run) -> list[str]:
    attempts = Counter(d[4] for d in run.done)
    retried = sum(n for a, n in attempts.items() if a > 1)
    acked = [r.acked_at - r.sent_at for r in run.renames.values() if r.acked_at is not None]
    lines = [
        "",
        f"  serve --workers {run.workers} (load average {run.load:.2f} at the start)",
        f"    configured {len(run.done)} of {len(run.phones)} phones in {run.wall:.1f} s: "
        f"{len(run.done) / run.wall if run.wall else 0:.1f} phones/s; per phone (first "
        f"attempt to success) p50 {run.percentile(50):.0f} ms, p99 {run.percentile(99):.0f} ms",
        f"    retries: {sum(run.causes.values())} failed attempts; {retried} phones needed "
        f"more than one ({', '.join(f'{n} x {a}' for a, n in sorted(attempts.items()))})",
    ]
    if run.causes:
        lines.append("    causes: " + ", ".join(f"{c} {n}" for c, n in run.causes.most_common()))
        lines += [f"      e.g. {s}" for s in run.samples[:3]]
    if run.gave_up or run.unfinished:
        lines.append(
            f"    NOT CONFIGURED: {run.gave_up} gave up after every attempt, "
            f"{run.unfinished} still waiting at the time limit"
        )
    if run.warmup_failures:
        lines.append(f"    warm-up: {run.warmup_failures} phones failed")
    lines.append(
        f"    files: {run.verdicts[Verdict.OK]} right, {run.verdicts[Verdict.STALE]} stale, "
        f"{run.verdicts[Verdict.WRONG]} wrong; {len(run.renames)} renames "
        f"({len(acked)} acknowledged, median {_median_ms(acked):.0f} ms, max "
        f"{1000 * max(acked, default=0):.0f} ms); {run.strict} renamed phones fetched their MAC "
        f"file after the rename was acknowledged and had to have the new name, "
        f"{run.saw_new} had it"
    )
    lines += [f"      {b}" for b in run.bad]
    if run.rename_errors:
        unacked = sum(r.acked_at is None for r in run.renames.values())
        lines.append(
            f"    RENAME ATTEMPTS FAILED: {len(run.rename_errors)} (each tried again, at most "
            f"{_RENAME_ATTEMPTS} times; {unacked} renames never acknowledged)"
        )
        lines += [
            f"      {n} x {kind}" for kind, n in Counter(run.rename_errors_kinds()).most_common(5)
        ]
    lines.append(
        f"    CPU: server {run.server_cpu:.1f} s "
        f"({1000 * run.server_cpu / max(1, len(run.done)):.2f} ms per phone), load "
        f"generators {run.loadgen_cpu:.1f} s"
    )
    lines.append(
        f"    memory (target: at most {_RSS_TARGET_MB} MB per worker), peak over the storm:"
    )
    for peak in sorted(run.peaks, key=lambda p: p.role):
        verdict = (
            ""
            if peak.role == "parent"
            else ("  over target" if peak.rss_kb > _RSS_TARGET_MB * 1024 else "  within target")
        )
        lines.append(
            f"      {peak.role:<9} pid {peak.pid:<8} RSS {peak.rss_kb / 1024:6.1f} MB "
            f"(private {peak.private_kb / 1024:.1f}, anonymous {peak.anonymous_kb / 1024:.1f}; "
            f"{peak.first_kb / 1024:.1f} MB before the storm){verdict}"
        )
    return lines


def _median_ms(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return 1000 * ordered[len(ordered) // 2]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    # Ctrl-C and SIGTERM both end the run through the cleanup below, even when the
    # shell started the benchmark with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="provd-fleet-storm-", dir=args.tmp_dir))
    children = Children(workdir, _fleet.child_environment())
    try:
        port = free_port()
        fleet = _make_fleet(args, workdir, port)
        rng = random.Random(args.seed)
        chosen = rng.sample(fleet.phones, args.phones + args.warmup)
        phones, warmup = chosen[: args.phones], chosen[args.phones :]
        database = fleet.data_dir / "provd.sqlite3"
        with contextlib.closing(sqlite3.connect(database)) as db:
            # Everything into the main file: the copies below leave the WAL behind.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pristine = workdir / "pristine.sqlite3"
        shutil.copy(database, pristine)
        runs = []
        for count in args.workers:
            # Each run starts from the fleet as made: no rename, nothing noted yet.
            for side in ("-wal", "-shm"):
                database.with_name(database.name + side).unlink(missing_ok=True)
            shutil.copy(pristine, database)
            print(f"provd, {count} worker(s), on 127.0.0.1:{port} ...")
            runs.append(_storm(fleet, phones, warmup, port, count, args, children, workdir))
        print(_report(args, runs, fleet.made))
        return 1 if any(r.failed for r in runs) else 0
    except KeyboardInterrupt:
        print("interrupted; stopping everything this benchmark started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, args.keep_logs)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
