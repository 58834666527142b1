"""sipp as a benchmark's load: bounded runs, their totals and every call's timings.

Totals (calls that succeeded or failed, retransmissions) come from sipp's statistics
file (``-trace_stat``). Per-call times come from its short message log
(``-trace_shortmsg``): one line per message sent or received, stamped with
``gettimeofday`` when sipp sends or reads it. sipp's own response-time counters
(``rtd``, ``-trace_rtt``) tick in whole milliseconds of its event loop's clock, too coarse
for a setup that takes one or two milliseconds on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import resource
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "sipp"
_OUTER_GRACE_S = 30.0
# sipp's default receive buffer (64 KiB) overflows in the bursts of a saturated proxy,
# and every datagram lost costs a call a 500 ms retransmission.
_SOCKET_BUFFER = str(4 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class CallTimes:
    """Milliseconds per call, from the caller's message log."""

    setup: list[float] = field(default_factory=list)
    """The INVITE Kamailio routes (the authenticated one), first sent → its 200."""
    challenge: list[float] = field(default_factory=list)
    """The first INVITE → its 407 (only calls that are challenged)."""
    full: list[float] = field(default_factory=list)
    """The first INVITE → the 200: what the caller waits for, challenge included."""


@dataclass(frozen=True, slots=True)
class SippRun:
    ok: int
    failed: int
    retransmissions: int
    elapsed_s: float
    """From the first INVITE sent to the last call's 200 (sipp's own totals count whole
    seconds)."""
    times: CallTimes
    errors: list[str]
    """The first lines of sipp's error log, when calls failed."""

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    path.write_text("SEQUENTIAL\n" + "".join(";".join(r) + "\n" for r in rows))
    return path


def _totals(stat_file: Path) -> tuple[int, int, int]:
    with stat_file.open() as f:
        last = list(csv.DictReader(f, delimiter=";"))[-1]
    return (
        int(last["SuccessfulCall(C)"]),
        int(last["FailedCall(C)"]),
        int(last["Retransmissions(C)"]),
    )


def call_times(short_log: Path, routed_cseq: int) -> tuple[CallTimes, float]:
    """Per-call times, and the span from the first INVITE sent to the last 200 read.

    ``routed_cseq`` is the CSeq of the INVITE Kamailio routes: 2 after a challenge, 1
    for a carrier's call. A retransmitted INVITE counts from its first sending.
    """
    first_invite: dict[str, float] = {}
    routed_invite: dict[str, float] = {}
    challenged: set[str] = set()
    times = CallTimes()
    first_sent = last_answer = None
    with short_log.open(errors="replace") as f:
        for line in f:
            # date, time, epoch, S/R, Call-ID, "CSeq:N METHOD", first line
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 7 or not cols[5].endswith(" INVITE"):
                continue
            at, direction, call_id, first = float(cols[2]), cols[3], cols[4], cols[6]
            cseq = int(cols[5].removeprefix("CSeq:").split()[0])
            if direction == "S" and first.startswith("INVITE "):
                first_invite.setdefault(call_id, at)
                if cseq == routed_cseq:
                    routed_invite.setdefault(call_id, at)
                if first_sent is None:
                    first_sent = at
            elif direction == "R" and first.startswith("SIP/2.0 407 "):
                if call_id in first_invite and call_id not in challenged:
                    challenged.add(call_id)
                    times.challenge.append(1000 * (at - first_invite[call_id]))
            elif direction == "R" and first.startswith("SIP/2.0 200 ") and cseq == routed_cseq:
                sent = routed_invite.pop(call_id, None)
                if sent is not None:  # a retransmitted 200 is not a second answer
                    times.setup.append(1000 * (at - sent))
                    times.full.append(1000 * (at - first_invite[call_id]))
                    last_answer = at
    span = (last_answer - first_sent) if first_sent is not None and last_answer else 0.0
    return times, span


def udp_receive_drops() -> int:
    """Datagrams the kernel dropped for a full socket buffer, every socket of this
    network namespace (RcvbufErrors in /proc/net/snmp)."""
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    names, values = [r for r in rows if r[0] == "Udp:"][:2]
    return int(values[names.index("RcvbufErrors")])


def children_cpu() -> float:
    """CPU seconds of this process's children that have been reaped (the sipps)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Answerer:
    """A sipp that answers every call sent to it until stopped (the callee, a gateway)."""

    def __init__(
        self, workdir: Path, local: tuple[str, int], media_port: int, timeout_s: float
    ) -> None:
        self._argv = [
            "sipp", "-sf", str(SCENARIOS / "uas_answer.xml"),
            "-i", local[0], "-p", str(local[1]), "-mi", local[0], "-mp", str(media_port),
            "-timeout", f"{timeout_s:.0f}s", "-nostdin", "-buff_size", _SOCKET_BUFFER,
        ]  # fmt: skip
        self._workdir = workdir
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Answerer:
        self._proc = await asyncio.create_subprocess_exec(
            *self._argv,
            cwd=self._workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        # sipp binds at once; a caller started sooner could meet a closed port.
        await asyncio.sleep(0.3)
        if self._proc.returncode is not None:
            _, err = await self._proc.communicate()
            raise SystemExit(f"answering sipp exited at once: {err.decode()[-1000:]}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            await proc.communicate()


@dataclass(frozen=True, slots=True)
class Finished:
    """The files of a caller sipp that has exited."""

    name: str
    stat_file: Path
    short_log: Path
    error_file: Path

    def summary(self, routed_cseq: int) -> SippRun:
        ok, failed, retransmissions = _totals(self.stat_file)
        times, span = call_times(self.short_log, routed_cseq)
        errors: list[str] = []
        if failed and self.error_file.exists():
            # Why calls were aborted; not the warnings about late 180s (see run_caller)
            # nor the messages that still came for calls already over.
            errors = [
                line.strip()
                for line in self.error_file.read_text(errors="replace").splitlines()
                if line.startswith("'") and "abort" in line.lower() and "Dead call" not in line[:60]
            ][:4]
        return SippRun(ok, failed, retransmissions, span, times, errors)


async def run_caller(
    name: str,
    scenario: str,
    *,
    remote: str,
    local: tuple[str, int],
    media_port: int,
    rows: Sequence[Sequence[str]],
    workdir: Path,
    calls: int,
    rate: float,
    limit: int,
    hold_ms: int,
    timeout_s: float,
) -> Finished:
    """``calls`` calls offered at ``rate`` per second, at most ``limit`` at once; returns
    when sipp has exited (read its figures with :meth:`Finished.summary`)."""
    stat_file = workdir / f"{name}.stat.csv"
    short_log = workdir / f"{name}.short.log"
    error_file = workdir / f"{name}.errors.log"
    argv = [
        "sipp", remote, "-sf", str(SCENARIOS / scenario),
        "-inf", str(write_csv(workdir / f"{name}.csv", rows)),
        "-i", local[0], "-p", str(local[1]), "-mi", local[0], "-mp", str(media_port),
        "-r", f"{rate:g}", "-l", str(limit), "-m", str(calls), "-d", str(hold_ms),
        # A call whose answer was lost for good fails instead of holding the run.
        "-recv_timeout", "8000",
        # Kamailio's workers may pass on a 180 after the 200 that followed it: a phone
        # ignores the late 180, and so does this caller (sipp would abort the call).
        "-default_behaviors", "bye,pingreply",
        "-timeout", f"{timeout_s:.0f}s", "-nostdin", "-buff_size", _SOCKET_BUFFER,
        "-trace_stat", "-stf", str(stat_file), "-fd", "1",
        "-trace_shortmsg", "-shortmessage_file", str(short_log),
        "-trace_err", "-error_file", str(error_file),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout_s + _OUTER_GRACE_S)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
        raise SystemExit(f"{name}: sipp did not finish in time") from None
    if not stat_file.exists() or not short_log.exists():
        raise SystemExit(f"{name}: sipp failed (rc={proc.returncode}): {err.decode()[-2000:]}")
    return Finished(name, stat_file, short_log, error_file)
