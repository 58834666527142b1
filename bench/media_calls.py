"""provd-media: concurrent answered calls per core, with rtpengine as the reference.

    .venv/bin/python bench/media_calls.py [--calls 10,50,100] [--seconds 20] [--rate R]

For each N in ``--calls``, a fresh ``python -m provd.media`` on a private loopback
address answers N concurrent calls that sipp places at once (``-r N -l N -m N``,
bench/sipp/media_caller.xml; ``--rate`` offers them more slowly) to a menu whose
greeting is a tone longer than the calls (so every call is played to from answer to
hang-up; nobody presses a key). Each sipp
call offers PCMA, sends 50 packets a second of audio cut from sipp's g711a.pcap, and
offers its own media port, where the benchmark counts the RTP provd-media sends (see
_rtp_counts: counted by the kernel, not read).

Once the app has answered all N calls (its own log: "answered" minus "ended") and a
settling second has passed, the app's CPU time (utime + stime from /proc) is read over
``--seconds``; printed per N: calls up, calls that got RTP in the window (at least half
of the 50 packets a second due) and the mean packets a second per call, CPU % of one
core, CPU % per call, the calls one core would carry at that cost (100 / per-call %),
and RSS at the end of the window.

The reference, in the same run and after each N: Debian's rtpengine in user space
(``--table=-1``), N calls opened with ng offer/answer, and both directions of each
relayed at 50 packets a second (bench/_rtp_load.py); rtpengine's CPU per call (two
streams) over the same window, and provd-media's per-call CPU over it as a ratio.
The load generators (sipp, _rtp_load.py) run on the same cores and are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _procs import Children, group_cpu_seconds, provd_source, tail
from _rss import smaps_rollup
from _rtp_counts import (
    G711A_PCAP,
    counting_socket,
    pcap_payloads,
    udp_drops,
    write_audio_pcap,
)

from provd.domain import ivr
from provd.media import sounds
from provd.media.catalogue import SOUNDS_DIR, write_menus
from provd.pbx.rtpengine import ng_command

BENCH = Path(__file__).resolve().parent
SCENARIO = BENCH / "sipp" / "media_caller.xml"
RTP_LOAD = BENCH / "_rtp_load.py"
DOMAIN = "media.bench"  # the scenario's To domain
MENU = "700"
PPS = 50
_START_TIMEOUT = 15.0
_UP_TIMEOUT = 15.0
"""The longest all N calls may take to be answered, beyond the time sipp takes to offer
them at ``--rate``."""
_SETTLE = 1.0
_SIPP_MEDIA_BASE = 20000  # calls use base + 4 * k (k = 1..N), sipp itself base, base + 2
_RTPENGINE_PORTS = (30000, 39999)
_LOAD_PORTS = 40000  # the reference's senders: 40000 + 4 * i (A) and + 2 (B)
_PLAYED = 0.5
"""A call counts as played to when it got at least this share of the packets due."""


@dataclass(slots=True)
class Figures:
    calls: int
    up: int
    played: int
    pps: float
    """Mean packets a second per call, as counted at the receiving ports."""
    pps_min: float
    """The fewest packets a second a call got."""
    cpu_pct: float
    rss_kb: int
    seconds: float

    @property
    def per_call_pct(self) -> float:
        return self.cpu_pct / self.up if self.up else float("nan")

    @property
    def per_core(self) -> float:
        return 100 / self.per_call_pct if self.per_call_pct > 0 else float("nan")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--calls", default="10,50,100", help="concurrent calls, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window (default 20)")
    ap.add_argument(
        "--rate", type=float, help="calls offered a second (default: all N in one second)"
    )
    ap.add_argument("--no-reference", action="store_true", help="leave out rtpengine")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args(argv)
    args.calls = [int(n) for n in args.calls.split(",") if n.strip()]
    if not args.calls or min(args.calls) < 1 or max(args.calls) > 2000:
        ap.error("--calls: numbers from 1 to 2000")
    return args


def _private_net() -> str:
    """A 127.77.X. prefix of this run's own (the app .1, sipp .2, rtpengine .3, the
    reference's senders .4): the ports below are then free whatever else runs."""
    for _ in range(50):
        prefix = f"127.77.{random.randrange(1, 255)}."
        if not udp_drops(prefix + "1", range(1, 65536)) and not udp_drops(
            prefix + "2", range(1, 65536)
        ):
            return prefix
    raise RuntimeError("no free 127.77.X.0/24 on this machine")


def _udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {_START_TIMEOUT:.0f} s:\n{tail(log)}")


def _calls_up(log: Path) -> int:
    text = log.read_text(errors="replace")
    return len(re.findall(r" answered$", text, re.M)) - len(re.findall(r" ended: ", text))


def _prepare_media(workdir: Path, greeting_s: float, hold_s: float) -> Path:
    data = workdir / "media-data"
    (data / SOUNDS_DIR).mkdir(parents=True, exist_ok=True)
    sounds.write_wav(
        data / SOUNDS_DIR / "bench-tone.wav", sounds.tone(440.0, int(greeting_s * 1000))
    )
    menu = ivr.Menu(
        MENU, greeting="bench-tone", keys={"1": ivr.Transfer()}, timeout_s=600, max_attempts=1
    )
    write_menus(data, {DOMAIN: {MENU: menu}})
    # sipp looks for the pcap next to the scenario first: both in the working directory.
    shutil.copy(SCENARIO, workdir / SCENARIO.name)
    audio = b"".join(pcap_payloads(G711A_PCAP))
    write_audio_pcap(workdir / "caller_audio.pcap", hold_s + 2, audio)
    return data


def measure_media(
    n: int, rate: float | None, seconds: float, net: str, workdir: Path, children: Children
) -> Figures:
    app_ip, sipp_ip = net + "1", net + "2"
    rate = rate or n
    up_timeout = n / rate + _UP_TIMEOUT
    hold_s = up_timeout + _SETTLE + seconds + 2
    data = _prepare_media(workdir, hold_s + 10, hold_s)
    log = workdir / f"media-{n}.log"
    sip_port = _udp_port(app_ip)
    argv = [
        sys.executable, "-m", "provd.media",
        "--sip", f"{app_ip}:{sip_port}", "--proxy", f"{app_ip}:{sip_port + 1}",
        "--rtp-host", app_ip, "--rtp-ports", "20000-29999",
        "--data", str(data), "--log-level", "INFO",
    ]  # fmt: skip
    app = children.start(
        argv,
        stderr=log.open("wb"),
    )
    _wait_for_line(log, "media application listening", app, "provd-media")
    ports = [_SIPP_MEDIA_BASE + 4 * k for k in range(1, n + 1)]
    sinks = [counting_socket(sipp_ip, port) for port in ports]
    sipp_log = workdir / f"sipp-{n}.log"
    try:
        argv = [
            "sipp", f"{app_ip}:{sip_port}", "-sf", SCENARIO.name, "-s", f"ivr-{MENU}",
            "-i", sipp_ip, "-p", str(_udp_port(sipp_ip)),
            "-mi", sipp_ip, "-mp", str(_SIPP_MEDIA_BASE),
            "-r", f"{rate:g}", "-l", str(n), "-m", str(n), "-d", str(int(hold_s * 1000)),
            "-timeout", f"{hold_s + 60:.0f}s", "-nostdin", "-buff_size", str(4 << 20),
            "-trace_stat", "-stf", f"sipp-{n}.stat.csv", "-fd", "1",
            "-trace_err", "-error_file", f"sipp-{n}.errors.log",
        ]  # fmt: skip
        sipp = children.start(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=sipp_log.open("wb"),
        )
        deadline = time.monotonic() + up_timeout
        while _calls_up(log) < n:
            if time.monotonic() > deadline or sipp.poll() is not None:
                raise RuntimeError(
                    f"{_calls_up(log)} of {n} calls up after {up_timeout:.0f} s "
                    f"(sipp: {tail(workdir / f'sipp-{n}.errors.log', 5)})"
                )
            time.sleep(0.1)
        time.sleep(_SETTLE)
        cpu0, drops0, t0 = group_cpu_seconds(app.pid), udp_drops(sipp_ip, ports), time.monotonic()
        time.sleep(seconds)
        cpu1, drops1, t1 = group_cpu_seconds(app.pid), udp_drops(sipp_ip, ports), time.monotonic()
        rss = smaps_rollup(app.pid).get("Rss", 0)
        up = _calls_up(log)
        window = t1 - t0
        got = [drops1.get(p, 0) - drops0.get(p, 0) for p in ports]
        played = sum(1 for g in got if g >= _PLAYED * PPS * window)
        # Let the calls end as a caller ends them (BYE), then stop the app.
        try:
            sipp.wait(hold_s + 60)
        except subprocess.TimeoutExpired:
            raise RuntimeError("sipp did not finish its calls") from None
        failed = _sipp_failed(workdir / f"sipp-{n}.stat.csv")
        if failed:
            print(f"  note: sipp counted {failed} failed calls", file=sys.stderr)
    finally:
        for sink in sinks:
            sink.close()
        children.stop(app)
    return Figures(
        n, up, played, sum(got) / n / window, min(got) / window,
        100 * (cpu1 - cpu0) / window, rss, window,
    )  # fmt: skip


def _sipp_failed(stat_file: Path) -> int:
    try:
        rows = stat_file.read_text().splitlines()
    except OSError:
        return 0
    header, last = rows[0].split(";"), rows[-1].split(";")
    return int(last[header.index("FailedCall(C)")])


# -- the reference: rtpengine relaying the same number of calls -------------------------


_SDP = (
    "v=0\r\no=- {session} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n"
)


def _sdp_port(sdp: str) -> int:
    match = re.search(r"^m=audio (\d+) ", sdp, re.M)
    if match is None:
        raise RuntimeError(f"no audio port in rtpengine's SDP:\n{sdp}")
    return int(match.group(1))


async def _open_calls(ng: tuple[str, int], n: int, load_ip: str) -> list[list[Any]]:
    """N calls through rtpengine; the load's streams [local port, to host, to port]."""
    streams: list[list[Any]] = []
    for i in range(n):
        a, b = _LOAD_PORTS + 4 * i, _LOAD_PORTS + 4 * i + 2
        call = {"call-id": f"bench-{i}", "from-tag": f"a{i}"}
        offer = await ng_command(
            ng,
            {**call, "command": "offer", "sdp": _SDP.format(session=i, ip=load_ip, port=a)},
            timeout=5.0,
        )
        answer = await ng_command(
            ng,
            {
                **call,
                "command": "answer",
                "to-tag": f"b{i}",
                "sdp": _SDP.format(session=i, ip=load_ip, port=b),
            },
            timeout=5.0,
        )
        engine_ip = ng[0]
        streams.append([a, engine_ip, _sdp_port(str(answer["sdp"]))])
        streams.append([b, engine_ip, _sdp_port(str(offer["sdp"]))])
    return streams


async def _close_calls(ng: tuple[str, int], n: int) -> None:
    for i in range(n):
        await ng_command(ng, {"command": "delete", "call-id": f"bench-{i}"}, timeout=5.0)


def start_rtpengine(
    net: str, workdir: Path, children: Children
) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    ip = net + "3"
    ng = (ip, _udp_port(ip))
    log = workdir / "rtpengine.log"
    argv = [
        "rtpengine", "--table=-1", "--foreground", "--config-file=none",
        f"--interface={ip}", f"--listen-ng={ip}:{ng[1]}",
        f"--port-min={_RTPENGINE_PORTS[0]}", f"--port-max={_RTPENGINE_PORTS[1]}",
        "--log-stderr", "--log-level=6",
    ]  # fmt: skip
    proc = children.start(
        argv,
        stderr=log.open("wb"),
    )
    _wait_for_line(log, "Startup complete", proc, "rtpengine")
    return proc, ng


def measure_rtpengine(
    n: int,
    seconds: float,
    net: str,
    workdir: Path,
    children: Children,
    engine: subprocess.Popen[bytes],
    ng: tuple[str, int],
) -> Figures:
    load_ip = net + "4"
    streams = asyncio.run(_open_calls(ng, n, load_ip))
    job = workdir / f"rtp-load-{n}.json"
    job.write_text(json.dumps({"host": load_ip, "streams": streams}))
    load = children.start(
        [sys.executable, str(RTP_LOAD), str(job)],
        stdout=subprocess.PIPE,
        stderr=(workdir / f"rtp-load-{n}.log").open("wb"),
    )
    try:
        assert load.stdout is not None
        if load.stdout.readline().strip() != b"ready":
            load.wait()
            raise RuntimeError("the RTP load failed:\n" + tail(workdir / f"rtp-load-{n}.log"))
        time.sleep(_SETTLE + 1)
        ports = [s[0] for s in streams]
        cpu0, drops0, t0 = (
            group_cpu_seconds(engine.pid),
            udp_drops(load_ip, ports),
            time.monotonic(),
        )
        time.sleep(seconds)
        cpu1, drops1, t1 = (
            group_cpu_seconds(engine.pid),
            udp_drops(load_ip, ports),
            time.monotonic(),
        )
        rss = smaps_rollup(engine.pid).get("Rss", 0)
    finally:
        children.stop(load)
        asyncio.run(_close_calls(ng, n))
    window = t1 - t0
    got = [drops1.get(p, 0) - drops0.get(p, 0) for p in ports]
    # A call is relayed when both its directions arrive.
    relayed = sum(1 for i in range(n) if min(got[2 * i], got[2 * i + 1]) >= _PLAYED * PPS * window)
    # Per call, both directions: the fewer of the two, doubled, is the worst call's.
    worst = min(2 * min(got[2 * i], got[2 * i + 1]) for i in range(n))
    return Figures(
        n, n, relayed, sum(got) / n / window, worst / window,
        100 * (cpu1 - cpu0) / window, rss, window,
    )  # fmt: skip


# -- the report -------------------------------------------------------------------------


def report(media: list[Figures], reference: list[Figures], load_before: tuple[float, ...]) -> str:
    lines = [
        "provd-media: concurrent answered calls per core (G.711 20 ms, greeting played "
        "throughout, caller audio 50 packets/s)",
        f"  provd: {provd_source()}",
        f"  load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{os.cpu_count()} cores",
        "",
        f"{'calls':>6} {'up':>5} {'played':>7} {'pkt/s/call':>10} {'min':>5} {'CPU %':>7} "
        f"{'%/call':>7} {'calls/core':>10} {'RSS MiB':>8}"
        + ("  | rtpengine: relayed pkt/s/call  %/call calls/core  ratio" if reference else ""),
    ]
    by_n = {f.calls: f for f in reference}
    for f in media:
        line = (
            f"{f.calls:>6} {f.up:>5} {f.played:>7} {f.pps:>10.1f} {f.pps_min:>5.1f} "
            f"{f.cpu_pct:>7.1f} {f.per_call_pct:>7.3f} {f.per_core:>10.0f} {f.rss_kb / 1024:>8.1f}"
        )
        ref = by_n.get(f.calls)
        if ref is not None:
            ratio = f.per_call_pct / ref.per_call_pct if ref.per_call_pct > 0 else float("nan")
            line += (
                f"  | {ref.played:>18} {ref.pps:>10.1f} {ref.per_call_pct:>7.3f} "
                f"{ref.per_core:>10.0f} {ratio:>6.1f}x"
            )
        lines.append(line)
    lines += [
        "",
        "  up: calls the app had answered and not ended at the end of the window; played: "
        f"calls that got >= {_PLAYED:.0%} of {PPS} packets/s from it in the window;",
        "  pkt/s/call, min: packets a second a call got, the mean and the worst call's;",
        "  %/call: CPU % of one core per call; calls/core: 100 / %/call. rtpengine: user "
        "space (--table=-1), per call = two streams of 50 packets/s relayed;",
        "  ratio: provd-media's CPU per call over rtpengine's.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="provd-media-calls-"))
    children = Children(workdir, dict(os.environ))
    try:
        net = _private_net()
        load_before = os.getloadavg()
        engine: tuple[subprocess.Popen[bytes], tuple[str, int]] | None = None
        if not args.no_reference:
            engine = start_rtpengine(net, workdir, children)
        media: list[Figures] = []
        reference: list[Figures] = []
        for n in args.calls:
            print(f"{n} calls to provd-media ...", file=sys.stderr)
            media.append(measure_media(n, args.rate, args.seconds, net, workdir, children))
            if engine is not None:
                print(f"{n} calls through rtpengine ...", file=sys.stderr)
                reference.append(
                    measure_rtpengine(n, args.seconds, net, workdir, children, *engine)
                )
        print(report(media, reference, load_before))
        short = any(f.up < f.calls or f.played < f.calls for f in media + reference)
        return 1 if short else 0
    except KeyboardInterrupt:
        print("interrupted; stopping everything this benchmark started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
