"""Call setup through provd's route plans: internal, outbound and inbound calls, one run.

    .venv/bin/python bench/call_setup.py [--calls 2000] [--concurrency 40] [--rate 20]

Every initial INVITE asks provd's route listener over HTTP (the cfg's route PLAN) and
Kamailio executes the plan. This measures what that costs, against the internal-call
path as it was before plans (lookup("location") straight away), in one run:

1. a provd database with one tenant, N calling and N called users, a number each and a
   carrier row, synced into Kamailio's subscriber table (``_call_pbx.py``);
2. provd's PBX (``PbxSupervisor``: Kamailio with provd's cfg and production's settings
   but for the flood limit, the RTP port range and shared memory, and rtpengine) and
   provd's route listener in this process, as ``serve`` runs it;
3. a reference Kamailio: provd's cfg with route PLAN skipped for calls between users,
   the same settings, rtpengine and subscribers, on an address of its own;
4. sipp as the phones (INVITE, 407, INVITE with credentials, 200, ACK, BYE), the called
   phones and the carrier (its gateway for outbound calls, its caller for inbound ones):
   each case first at a fixed offered rate (setup latency without queueing), then with
   ``--concurrency`` calls always in flight (call setups per second at saturation);
5. provd's route listener alone: POSTs of each case's facts from this process.

Everything listens on a loopback /24 picked at random per run, beside any test run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import re
import resource
import shutil
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from _call_pbx import (
    CALLEES,
    CARRIER_CALLER,
    CARRIER_IP,
    DOMAIN,
    GATEWAY,
    MOBILE_BASE,
    NET,
    PHONES,
    PROXY_IP,
    ROUTE_PORT,
    Account,
    Pbx,
    Proxy,
    running_pbx,
)
from _procs import group_cpu_seconds, provd_source
from _sipp import Answerer, SippRun, children_cpu, run_caller, udp_receive_drops

from provd.web.pbx_routing import ROUTE_PATH, ROUTE_USER

PRODUCTION_SHM_MB = 64
_ERROR_SOURCE = re.compile(r"ERROR: (?:\{[^}]*\} )?(.+?\]: \w+\(\):)(.*)")


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    proxy: Proxy
    scenario: str
    caller: tuple[str, int]
    answerer: tuple[str, int]
    rows: list[list[str]]
    routed_cseq: int
    """The CSeq of the INVITE Kamailio routes: 2 after the challenge, 1 from a carrier."""

    @property
    def path(self) -> str:
        return "provd plan" if self.proxy.name == "provd" else self.proxy.name


@dataclass(frozen=True, slots=True)
class Load:
    label: str
    calls: int
    rate: float
    limit: int


@dataclass(frozen=True, slots=True)
class Measured:
    case: Case
    load: Load
    sipp: SippRun
    kamailio_cpu_s: float
    rtpengine_cpu_s: float
    provd_cpu_s: float
    sipp_cpu_s: float
    handler_ms: list[float]
    http_ms: list[float]
    """Time in http_connect per INVITE, seen from Kamailio (--time-http only)."""
    shm_used_mb: float
    """Kamailio's shared memory in use just after the run (core.shmmem real_used)."""
    kamailio_errors: list[str]
    udp_drops: int
    """Datagrams dropped for a full socket buffer during the run, on any socket."""

    def per_call_ms(self, cpu_s: float) -> float:
        return 1000 * cpu_s / self.sipp.ok if self.sipp.ok else float("nan")


def _pct(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cases(pbx: Pbx) -> list[Case]:
    """The reference first, then provd's internal path: they run next to each other."""

    def dialling(dial: Callable[[int], str]) -> list[list[str]]:
        return [[c.extension, DOMAIN, c.auth(), dial(i), DOMAIN] for i, c in enumerate(pbx.callers)]

    internal = dialling(lambda i: pbx.callees[i].extension)
    outbound = dialling(lambda i: f"0{MOBILE_BASE + i}")
    inbound = [[c.national, f"0{MOBILE_BASE + i}"] for i, c in enumerate(pbx.callees)]
    auth, carrier = "call_auth.xml", "call_carrier.xml"
    return [
        Case("internal", pbx.reference, auth, PHONES, CALLEES, internal, 2),
        Case("internal", pbx.provd, auth, PHONES, CALLEES, internal, 2),
        Case("outbound", pbx.provd, auth, PHONES, GATEWAY, outbound, 2),
        Case("inbound", pbx.provd, carrier, CARRIER_CALLER, CALLEES, inbound, 1),
    ]


async def measure(pbx: Pbx, case: Case, load: Load, hold_ms: int, work: Path, tag: str) -> Measured:
    kamailio_pid, rtpengine_pid = case.proxy.pid(), pbx.rtpengine_pid()
    log_offset = case.proxy.log_offset()
    pbx.handler_ms.clear()
    kamailio_before = group_cpu_seconds(kamailio_pid)
    rtpengine_before = group_cpu_seconds(rtpengine_pid)
    sipp_before = children_cpu()
    drops_before = udp_receive_drops()
    provd_before = time.process_time()
    # Bounded by the offered rate's duration, or by 20 calls/s at worst, and a margin.
    timeout_s = 30 + load.calls / min(load.rate, 20.0)
    async with Answerer(work, case.answerer, 16000, timeout_s + 30):
        finished = await run_caller(
            f"{case.name}-{case.proxy.name}-{tag}",
            case.scenario,
            remote=case.proxy.address,
            local=case.caller,
            media_port=17000,
            rows=case.rows,
            workdir=work,
            calls=load.calls,
            rate=load.rate,
            limit=load.limit,
            hold_ms=hold_ms,
            timeout_s=timeout_s,
        )
        provd_cpu = time.process_time() - provd_before
        kamailio_cpu = group_cpu_seconds(kamailio_pid) - kamailio_before
        rtpengine_cpu = group_cpu_seconds(rtpengine_pid) - rtpengine_before
        handler_ms = list(pbx.handler_ms)
        drops = udp_receive_drops() - drops_before
    errors, http_ms = case.proxy.log_since(log_offset)
    return Measured(
        case,
        load,
        finished.summary(case.routed_cseq),
        kamailio_cpu,
        rtpengine_cpu,
        provd_cpu,
        children_cpu() - sipp_before,
        handler_ms,
        http_ms,
        (await case.proxy.shm_mb())[0],
        errors,
        drops,
    )


# -- the route listener alone ------------------------------------------------------------


def facts(case: str, caller: Account, callee: Account) -> dict[str, str]:
    """The form the cfg's route PLAN posts for a call of ``case``, values hex-encoded."""

    def form(**values: str) -> dict[str, str]:
        plain = ("src", "si")
        return {k: v if k in plain else v.encode().hex() for k, v in values.items()}

    mobile = f"0{MOBILE_BASE}"
    if case == "inbound":
        return form(
            src="peer", si=CARRIER_IP, domain=CARRIER_IP, ext="", ru=callee.national,
            fu=mobile, fn="", pai=mobile, privacy="",
        )  # fmt: skip
    return form(
        src="user", si=PHONES[0], domain=DOMAIN, ext=caller.extension,
        ru=callee.extension if case == "internal" else mobile,
        fu=caller.extension, fn="", pai="", privacy="",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostTimes:
    case: str
    round_trip_ms: list[float]
    handler_ms: list[float]
    elapsed_s: float


async def post_directly(pbx: Pbx, case: str, n: int) -> PostTimes:
    """``n`` POSTs one after the other on one kept connection, as a Kamailio worker sends
    them; the first answer is checked to be the plan the case expects."""
    url = f"http://{PROXY_IP}:{ROUTE_PORT}{ROUTE_PATH}"
    body = facts(case, pbx.callers[0], pbx.callees[0])
    basic = base64.b64encode(f"{ROUTE_USER}:{pbx.route_token}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {basic}"}) as session:
        async with session.post(url, data=body) as response:
            answer = await response.text()
        if response.status != 200 or f'"kind":"{case}"' not in answer:
            raise SystemExit(f"route listener: unexpected answer for {case}: {answer}")
        pbx.handler_ms.clear()
        times = []
        started = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            async with session.post(url, data=body) as response:
                await response.read()
            times.append(1000 * (time.perf_counter() - t0))
        elapsed = time.perf_counter() - started
    return PostTimes(case, times, list(pbx.handler_ms), elapsed)


# -- report ------------------------------------------------------------------------------


_HEAD = (
    f"{'case':9} {'path':10} {'ok':>5} {'fail':>4} {'retr':>4} {'calls/s':>7} "
    f"{'setup':>6} {'setup':>6} {'full':>6} {'kam.':>5} {'rtpe':>5} {'provd':>5} {'sipp':>5} "
    f"{'handler':>6} {'http':>5} {'shm':>4} {'udp':>5}\n"
    f"{'':9} {'':10} {'':>5} {'':>4} {'':>4} {'':>7} "
    f"{'p50':>6} {'p95':>6} {'p50':>6} {'CPU ms per call':^23} "
    f"{'p50':>6} {'p50':>5} {'MB':>4} {'drops':>5}"
)


def _row(m: Measured) -> str:
    t, s = m.sipp.times, m.sipp
    full = f"{_median(t.full):6.2f}" if t.challenge else f"{'':6}"
    http = f"{_median(m.http_ms):5.2f}" if m.http_ms else f"{'':5}"
    handler = f"{_median(m.handler_ms):6.3f}" if m.handler_ms else f"{'':6}"
    return (
        f"{m.case.name:9} {m.case.path:10} {s.ok:5d} {s.failed:4d} {s.retransmissions:4d} "
        f"{s.rate:7.1f} {_median(t.setup):6.2f} {_pct(t.setup, 95):6.2f} {full} "
        f"{m.per_call_ms(m.kamailio_cpu_s):5.2f} {m.per_call_ms(m.rtpengine_cpu_s):5.2f} "
        f"{m.per_call_ms(m.provd_cpu_s):5.2f} {m.per_call_ms(m.sipp_cpu_s):5.2f} "
        f"{handler} {http} {m.shm_used_mb:4.0f} {m.udp_drops:5d}"
    )


def _error_kind(line: str) -> str:
    """``module [file.c:123]: function(): message`` of a Kamailio ERROR line, the message
    cut before its first word with a digit (a Call-ID, an ETag)."""
    found = _ERROR_SOURCE.search(line)
    if found is None:
        return line
    words = itertools.takewhile(lambda w: not any(c.isdigit() for c in w), found[2].split())
    return " ".join([found[1], *words])


def report(results: Sequence[Measured], loads: Sequence[Load], posts: Sequence[PostTimes]) -> str:
    lines: list[str] = []
    for load in loads:
        lines += ["", load.label, _HEAD]
        ran = [m for m in results if m.load == load]
        lines += [_row(m) for m in ran]
        for m in ran:
            if m.sipp.errors:
                lines.append(
                    f"  {m.case.name} via {m.case.path}, sipp: " + " | ".join(m.sipp.errors)
                )
            if m.kamailio_errors:
                kinds = Counter(_error_kind(e) for e in m.kamailio_errors).most_common(3)
                lines.append(
                    f"  {m.case.name} via {m.case.path}: Kamailio logged "
                    f"{len(m.kamailio_errors)} errors: "
                    + "; ".join(f"{n} x {kind}" for kind, n in kinds)
                )

    lines += [
        "",
        "route listener alone: POSTs one after the other on one connection, from this "
        "process (client and server share its one core)",
        f"{'case':9} {'POSTs':>6} {'round trip p50':>15} {'p95':>6} {'handler p50':>12} "
        f"{'p95':>6} {'POSTs/s':>8}",
    ]
    for p in posts:
        lines.append(
            f"{p.case:9} {len(p.round_trip_ms):6d} {_median(p.round_trip_ms):12.3f} ms "
            f"{_pct(p.round_trip_ms, 95):6.3f} {_median(p.handler_ms):9.3f} ms "
            f"{_pct(p.handler_ms, 95):6.3f} {len(p.round_trip_ms) / p.elapsed_s:8.0f}"
        )

    def internal(load: Load, path: str, value: Callable[[Measured], float]) -> float:
        picked = [
            value(m)
            for m in results
            if m.load == load and m.case.name == "internal" and m.case.path == path
        ]
        return statistics.median(picked) if picked else float("nan")

    fixed, saturated = loads
    lines += ["", "internal calls, provd plan / reference (the median of the rounds):"]
    for what, load, value in (
        ("calls/s at saturation", saturated, lambda m: m.sipp.rate),
        ("setup p50 at the fixed rate, ms", fixed, lambda m: _median(m.sipp.times.setup)),
        ("setup p50 at saturation, ms", saturated, lambda m: _median(m.sipp.times.setup)),
        ("Kamailio CPU per call, ms", saturated, lambda m: m.per_call_ms(m.kamailio_cpu_s)),
        (
            "Kamailio + rtpengine + provd CPU per call, ms",
            saturated,
            lambda m: m.per_call_ms(m.kamailio_cpu_s + m.rtpengine_cpu_s + m.provd_cpu_s),
        ),
    ):
        plan, ref = internal(load, "provd plan", value), internal(load, "reference", value)
        lines.append(f"  {what:46} {plan:8.2f} / {ref:8.2f} = {plan / ref:5.2f}x")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--calls", type=int, default=2000, help="calls per case at saturation")
    add("--concurrency", type=int, default=40, help="calls in flight at saturation (sipp -l)")
    add("--offered-rate", type=float, default=5000, help="calls/s sipp offers at saturation")
    add("--rate", type=float, default=20, help="the fixed offered rate, calls/s")
    add("--rate-calls", type=int, default=200, help="calls per case at the fixed rate")
    add("--rounds", type=int, default=1, help="rounds of every case, alternating")
    add("--users", type=int, default=100, help="calling users (and as many called ones)")
    add("--hold-ms", type=int, default=100, help="from the ACK to the BYE")
    add("--posts", type=int, default=2000, help="direct POSTs to the route listener per case")
    add("--children", type=int, default=4, help="Kamailio workers (both Kamailios)")
    add("--blf", action=argparse.BooleanOptionalAction, default=True, help="presence, as serve")
    add(
        "--shm-mb",
        type=int,
        default=512,
        help=f"Kamailio's shared memory (production: {PRODUCTION_SHM_MB}, which BLF's "
        "PUBLISH transactions exhaust at a few dozen calls/s; see bench/README.md)",
    )
    add("--time-http", action="store_true", help="log http_connect's time per INVITE")
    add("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args()


async def run(args: argparse.Namespace, work: Path) -> None:
    t0 = time.monotonic()
    fixed = Load(
        f"fixed offered rate: {args.rate:g} calls/s, {args.rate_calls} calls per case",
        args.rate_calls,
        args.rate,
        max(10, int(args.rate)),
    )
    saturated = Load(
        f"saturation: {args.concurrency} calls in flight, {args.calls} calls per case",
        args.calls,
        args.offered_rate,
        args.concurrency,
    )
    async with running_pbx(
        work,
        args.users,
        time_http=args.time_http,
        children=args.children,
        with_blf=args.blf,
        shm_mb=args.shm_mb,
    ) as pbx:
        print(
            f"setup: {2 * args.users} users with a number each and a carrier; both Kamailios "
            f"up, {args.users} phones registered at each; {time.monotonic() - t0:.1f} s "
            f"(loopback {NET}.0/24, work directory {work})",
            flush=True,
        )
        all_cases = cases(pbx)
        # Every Kamailio worker opens its connection to the listener; caches warm up.
        for case in all_cases:
            await measure(pbx, case, Load("warm-up", 20, args.rate, 20), args.hold_ms, work, "w")
        results = []
        for n in range(args.rounds):
            for load in (fixed, saturated):
                for case in all_cases:
                    print(f"round {n + 1}: {case.name} via {case.path}; {load.label}", flush=True)
                    tag = f"{n}-{load.calls}-{load.limit}"
                    results.append(await measure(pbx, case, load, args.hold_ms, work, tag))
        posts = [
            await post_directly(pbx, name, args.posts)
            for name in ("internal", "outbound", "inbound")
        ]
        restarts = pbx.restarts
        peaks = {p.name: (await p.shm_mb())[1] for p in (pbx.provd, pbx.reference)}

    load_avg = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nprovd: {provd_source()}\n"
        f"Kamailio: {args.children} workers, BLF {'on' if args.blf else 'off'}, shm "
        f"{args.shm_mb} MB; rtpengine; sipp over UDP, {args.hold_ms} ms from ACK to BYE; "
        f"{os.cpu_count()} CPUs, load average {load_avg}"
        + f"; shm peak: provd's Kamailio {peaks['provd']:.0f} MB, the reference "
        f"{peaks['reference']:.0f} MB"
        + (f"\nKAMAILIO DIED AND WAS RESTARTED {restarts} TIMES" if restarts else "")
    )
    print(
        "setup: the INVITE Kamailio routes (with credentials) to its 200; full: the first "
        "INVITE to the 200, the 407 included. CPU ms per successful call: kam. the case's "
        "Kamailio, rtpe rtpengine, provd this process (the route listener), sipp both "
        "sipps. handler: provd's route handler, ms per request during the run; http: "
        "Kamailio's wait in http_connect (--time-http); shm: Kamailio's after the run."
    )
    print(report(results, (fixed, saturated), posts))


def main() -> None:
    args = _args()
    for tool in ("kamailio", "rtpengine", "sipp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run scripts/install-system-deps")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    work = Path(tempfile.mkdtemp(prefix="provd-call-setup-"))
    try:
        asyncio.run(_main(args, work))
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


async def _main(args: argparse.Namespace, work: Path) -> None:
    # SIGTERM ends the run through the same cleanup as Ctrl-C.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await run(args, work)


if __name__ == "__main__":
    main()
