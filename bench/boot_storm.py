"""Boot storm: N Yealink T46G phones provisioning at once, provd against nginx.

    python bench/boot_storm.py [--phones N] [--concurrency C] [--workers 1,2]

Everything happens in a temporary directory that is removed afterwards: a provd data
directory made by ``provd init``, N users and N T46G devices, ``provd serve`` on a free
loopback port, then nginx serving the same pre-rendered files over TLS with the same
certificate and as many worker processes. The same load generator drives both, one
after the other, in the same run, once per worker count. Each simulated phone opens a
new TLS connection, takes a 401 on its boot file, then fetches its boot file, the
common file and its MAC file with its credentials (Digest for provd, Basic for nginx,
which has no Digest), and checks that the MAC file sets its own account. See
bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import _fleet
import _nginx
import _profile
from _procs import (
    Children,
    free_port,
    group_cpu_seconds,
    provd_source,
    start_load_generators,
    tail,
    wait_for_port,
)

LOADGEN = Path(__file__).with_name("_loadgen.py")
_START_TIMEOUT = 30.0
_PHONE_TIMEOUT = 30.0


@dataclass(slots=True)
class Result:
    name: str
    phones: int
    workers: int = 1
    started: int = 0
    wall: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    server_cpu: float = 0.0
    loadgen_cpu: float = 0.0
    tls: str = "?"
    connections: int = 0
    resumed: int = 0
    stale: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_ms_per_phone(self) -> float:
        return 1000 * self.server_cpu / self.ok if self.ok else math.nan

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


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
        "--workers",
        type=_worker_counts,
        default=[1],
        metavar="N[,N...]",
        help="processes of provd serve (--workers N) and of nginx (worker_processes N); "
        "several counts run one after the other (default 1)",
    )
    ap.add_argument(
        "--tls-key-type",
        choices=("rsa", "ecdsa"),
        default="rsa",
        help="provd init --tls-key-type: the server key both servers use (default rsa)",
    )
    ap.add_argument(
        "--reconnect",
        action="store_true",
        help="each request on a new connection, resuming the TLS session of the one "
        "before (phones that keep their session); default: one connection per phone",
    )
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured phones first (default 20)")
    ap.add_argument(
        "--first-boot",
        action="store_true",
        help="devices not yet sealed: each phone's first fetch seals it (default: sealed, "
        "as after a power cut in an installed fleet)",
    )
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="sample provd with py-spy during its run; raw stacks to FILE, summary printed",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds after which a run starts no new phone (default 60)",
    )
    ap.add_argument("--tmp-dir", type=Path, help="where to make the temporary directory")
    args = ap.parse_args(argv)
    if not 1 <= args.phones <= 50000:
        ap.error("--phones must be between 1 and 50000")
    if not 1 <= args.concurrency <= 2000:
        ap.error("--concurrency must be between 1 and 2000")
    if not 1 <= args.loadgen_processes <= 16 or not all(1 <= n <= 16 for n in args.workers):
        ap.error("--loadgen-processes and --workers must be between 1 and 16")
    if not 0 <= args.warmup <= 1000:
        ap.error("--warmup must be between 0 and 1000")
    if args.profile is not None and _profile.PY_SPY is None:
        ap.error("--profile needs py-spy (pip install py-spy)")
    return args


def _worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from None
    return counts


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts)]


def _drive(
    name: str,
    scheme: str,
    port: int,
    server_pgid: int,
    server_workers: int,
    fleet: _fleet.Fleet,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Result:
    """Run the load generator against one server and collect its figures."""
    processes = min(args.loadgen_processes, args.concurrency)
    phone_shares = _split(_fleet.as_json(fleet.phones), processes)
    warmup_shares = _split(_fleet.as_json(fleet.warmup), processes)
    jobs: list[tuple[Path, Path]] = []
    for i in range(processes):
        job = workdir / f"{name}-job-{i}.json"
        job.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "cafile": str(fleet.ca),
                    "scheme": scheme,
                    "concurrency": args.concurrency // processes
                    + (i < args.concurrency % processes),
                    "phone_timeout": _PHONE_TIMEOUT,
                    "deadline": args.time_limit,
                    "warmup": warmup_shares[i],
                    "phones": phone_shares[i],
                    "reconnect": args.reconnect,
                }
            )
        )
        jobs.append((job, workdir / f"{name}-loadgen-{i}.log"))
    workers = start_load_generators(children, LOADGEN, jobs)

    profiler = None
    if args.profile is not None and name == "provd" and server_workers == args.workers[0]:
        profiler = children.start(
            _profile.command(server_pgid, args.profile),
            stdout=(workdir / "py-spy.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(1.0)  # let py-spy attach before the storm starts

    cpu_before = group_cpu_seconds(server_pgid)
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
                f"load generator {i} gave no result:\n" + tail(workdir / f"{name}-loadgen-{i}.log")
            ) from None
    server_cpu = group_cpu_seconds(server_pgid) - cpu_before
    if profiler is not None:
        children.stop(profiler, signal.SIGINT, grace=30.0)

    result = Result(name, len(fleet.phones), server_workers)
    began = min(r["began"] for r in reports)
    result.wall = max(r["ended"] for r in reports) - began
    for r in reports:
        result.started += r["started"]
        result.latencies_ms += r["latencies_ms"]
        for kind, n in r["errors"].items():
            result.errors[kind] = result.errors.get(kind, 0) + n
        result.samples += r["samples"]
        result.loadgen_cpu += r["cpu_seconds"]
        result.tls = r["tls"] or result.tls
        result.connections += r["connections"]
        result.resumed += r["resumed"]
        result.stale += r["stale"]
        if r["warmup_errors"]:
            result.errors["warm-up"] = result.errors.get("warm-up", 0) + r["warmup_errors"]
    result.server_cpu = server_cpu
    return result


def _serve_takes_workers(data_dir: Path) -> bool:
    """Whether the measured provd has ``serve --workers`` (older trees do not)."""
    done = subprocess.run(
        _fleet.provd_command(data_dir, "serve", "--help"),
        capture_output=True,
        text=True,
        check=False,
        # Not from the current directory, which python -m would put first on the path.
        cwd=data_dir.parent,
        env=_fleet.child_environment(),
    )
    return "--workers" in done.stdout


def _wait_for_workers(port: int, fleet: _fleet.Fleet, workers: int) -> None:
    """Until each of serve's workers has answered (the parent listens before they are
    up), by the Provd-Worker header naming the one that answered a request."""
    context = ssl.create_default_context(cafile=str(fleet.ca))
    seen: set[str] = set()
    deadline = time.monotonic() + _START_TIMEOUT
    attempts = 0
    while len(seen) < workers and time.monotonic() < deadline:
        attempts += 1
        if attempts > 50 and not seen:
            return  # a provd that does not name its workers: the warm-up will have to do
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            ):
                sock.sendall(b"GET /y000000000000.boot HTTP/1.1\r\nHost: x\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    data = sock.recv(4096)
                    if not data:
                        break
                    head += data
        except OSError:
            time.sleep(0.1)
            continue
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "provd-worker":
                seen.add(value.strip())
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of provd's {workers} workers answered")


def _run_provd(
    fleet: _fleet.Fleet,
    port: int,
    workers: int,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Result:
    log = workdir / f"provd-{workers}.log"
    command = _fleet.provd_command(fleet.data_dir, "serve", "--bind", "127.0.0.1")
    if args.serve_workers:
        command += ["--workers", str(workers)]
    proc = children.start(command, stderr=log.open("wb"))
    try:
        wait_for_port(port, proc, "provd serve", _START_TIMEOUT)
        if args.serve_workers and workers > 1:
            # The parent listens before its workers are up: wait until every one answers.
            _wait_for_workers(port, fleet, workers)
        return _drive("provd", "digest", port, proc.pid, workers, fleet, args, children, workdir)
    except RuntimeError:
        print(tail(log), file=sys.stderr)
        raise
    finally:
        children.stop(proc)


def _run_nginx(
    fleet: _fleet.Fleet,
    port: int,
    workers: int,
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
) -> Result:
    root = workdir / f"nginx-{workers}"
    command = _nginx.prepare(root, fleet, port, workers)
    proc = children.start(command, stderr=(workdir / "nginx.stderr").open("wb"))
    try:
        wait_for_port(port, proc, "nginx", _START_TIMEOUT)
        return _drive("nginx", "basic", port, proc.pid, workers, fleet, args, children, workdir)
    except RuntimeError:
        print(tail(root / "error.log"), tail(workdir / "nginx.stderr"), file=sys.stderr)
        raise
    finally:
        children.stop(proc)


def _report(
    args: argparse.Namespace, results: list[Result], setup_seconds: float, load_before: float
) -> str:
    processes = min(args.loadgen_processes, args.concurrency)
    state = "first boot: unsealed, sealed by the first fetch" if args.first_boot else "sealed"
    each = (
        "a new TLS connection per request, each after the first resuming the session"
        if args.reconnect
        else "a new TLS connection"
    )
    workers = (
        "serve --workers N"
        if args.serve_workers
        else "one process (this provd has no serve --workers: only N = 1 was run)"
    )
    lines = [
        "",
        f"boot storm: {args.phones} Yealink T46G phones ({state}), concurrency "
        f"{args.concurrency}; setup took {setup_seconds:.1f} s",
        f"  each phone: {each}; GET boot file -> 401; then boot file, "
        "y000000000028.cfg and <mac>.cfg with its credentials, MAC file checked",
        f"  load generator: {processes} separate process(es) of bench/_loadgen.py, one thread "
        f"per phone in flight ({args.concurrency} split between them), blocking stdlib ssl, "
        f"raw HTTP/1.1; {results[0].tls}, server certificate verified as a phone would",
        f"  provd: {provd_source()}, {workers}; nginx: worker_processes N; "
        f"{args.tls_key_type.upper()} server key",
        f"  {os.cpu_count()} cores, load average {load_before:.2f} before the runs "
        "(other work on the machine skews the figures)",
    ]
    for count in args.workers:
        lines += _report_workers(args, [r for r in results if r.workers == count], count)
    lines += [
        "",
        "  (server CPU per phone: the server's CPU time over the run, all its processes, "
        "divided by the phones served, the figure least disturbed by other load; % of core: "
        "over the run's wall time)",
        "",
        f"  {'N':>3}{'provd phones/s':>16}{'nginx phones/s':>16}{'ratio':>8}"
        f"{'provd CPU/phone':>17}{'nginx CPU/phone':>17}{'ratio':>8}",
    ]
    for count in args.workers:
        by_name = {r.name: r for r in results if r.workers == count}
        provd, nginx = by_name.get("provd"), by_name.get("nginx")
        if provd is None or nginx is None or not nginx.rate or not nginx.ok:
            continue
        lines.append(
            f"  {count:>3}{provd.rate:>16.1f}{nginx.rate:>16.1f}{provd.rate / nginx.rate:>7.2f}x"
            f"{provd.server_ms_per_phone:>14.2f} ms{nginx.server_ms_per_phone:>14.2f} ms"
            f"{provd.server_ms_per_phone / nginx.server_ms_per_phone:>7.1f}x"
        )
    return "\n".join(lines)


def _report_workers(args: argparse.Namespace, results: list[Result], workers: int) -> list[str]:
    lines = [
        "",
        f"  {workers} worker(s) each",
        f"  {'server':<16}{'phones/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'server CPU':>12}{'server CPU':>12}{'loadgen CPU':>13}",
        f"  {'':<16}{'':>9}{'':>9}{'':>9}{'':>7}{'per phone':>12}{'% of core':>12}"
        f"{'% of core':>13}",
    ]
    labels = {"provd": "provd (Digest)", "nginx": "nginx (Basic)"}
    for r in results:
        lines.append(
            f"  {labels[r.name]:<16}{r.rate:>9.1f}{r.percentile(50):>9.1f}"
            f"{r.percentile(99):>9.1f}{r.error_count:>7}{r.server_ms_per_phone:>9.2f} ms"
            f"{100 * r.server_cpu / r.wall:>11.0f}%{100 * r.loadgen_cpu / r.wall:>12.0f}%"
        )
    by_name = {r.name: r for r in results}
    provd, nginx = by_name.get("provd"), by_name.get("nginx")
    if provd and nginx and nginx.rate > 0 and nginx.percentile(50) > 0:
        lines.append(
            f"  provd/nginx: throughput {provd.rate / nginx.rate:.3f}x, "
            f"p50 latency {provd.percentile(50) / nginx.percentile(50):.1f}x, "
            f"server CPU per phone {provd.server_ms_per_phone / nginx.server_ms_per_phone:.1f}x"
        )
    if args.reconnect:
        for r in results:
            lines.append(
                f"  {r.name}: {r.resumed} of {r.connections} connections resumed a TLS session"
                + (f"; {r.stale} stale nonces answered again" if r.stale else "")
            )
    for r in results:
        if r.error_count:
            lines.append(f"  {r.name} errors: {r.errors}")
            lines += [f"    e.g. {s}" for s in r.samples[:3]]
        if r.started < r.phones:
            lines.append(
                f"  {r.name}: the time limit stopped the run; {r.phones - r.started} phones "
                "never started (raise --time-limit or lower --phones)"
            )
    if nginx and nginx.server_cpu / nginx.wall < 0.9 * workers:
        lines.append(
            "  note: nginx's workers were not saturated, so the load generator or the shared "
            "cores limited its figure; nginx's real capacity is higher than shown"
        )
    return lines


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    # Ctrl-C and SIGTERM both end the run through the cleanup below, even when the
    # shell started the benchmark with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="provd-boot-storm-", dir=args.tmp_dir))
    children = Children(workdir, _fleet.child_environment())
    try:
        provd_port = free_port()
        nginx_port = free_port()
        while nginx_port == provd_port:
            nginx_port = free_port()
        print(f"setting up {args.phones} + {args.warmup} warm-up phones in {workdir} ...")
        t0 = time.monotonic()
        fleet = _fleet.create(
            workdir / "provd",
            provd_port,
            args.phones,
            args.warmup,
            sealed=not args.first_boot,
            key_type=args.tls_key_type,
        )
        setup_seconds = time.monotonic() - t0
        args.serve_workers = _serve_takes_workers(fleet.data_dir)
        if not args.serve_workers:
            if args.workers != [1]:
                print("this provd has no serve --workers: running one process only")
            args.workers = [1]
        database = fleet.data_dir / "provd.sqlite3"
        pristine = workdir / "pristine.sqlite3"
        shutil.copy(database, pristine)
        load_before = os.getloadavg()[0]
        results = []
        for count in args.workers:
            # Each run starts from the fleet as made: sealed or not, nothing noted yet.
            for side in ("-wal", "-shm"):
                database.with_name(database.name + side).unlink(missing_ok=True)
            shutil.copy(pristine, database)
            print(f"provd, {count} worker(s), on 127.0.0.1:{provd_port} ...")
            results.append(_run_provd(fleet, provd_port, count, args, children, workdir))
            print(f"nginx, {count} worker(s), on 127.0.0.1:{nginx_port} ...")
            results.append(_run_nginx(fleet, nginx_port, count, args, children, workdir))
        print(_report(args, results, setup_seconds, load_before))
        if args.profile is not None:
            print()
            print(_profile.summarise(args.profile))
        return 1 if any(r.error_count or r.started < r.phones for r in results) else 0
    except KeyboardInterrupt:
        print("interrupted; stopping everything this benchmark started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
