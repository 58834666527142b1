"""For browser tests against ``provd serve --pbx``: sipp run from synchronous tests
(playwright's API is synchronous) and the PBX processes a served provd leaves behind."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.pbx.sippctl import SCENARIOS, write_csv

SIPP_TIMEOUT_S = 15


def pbx_pids(data_dir: Path, proxy: str) -> list[int]:
    """Kamailio and rtpengine processes of this data dir (or rtpengine on ``proxy``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.split(b"\0")[0].endswith((b"kamailio", b"rtpengine")) and (
            str(data_dir).encode() in cmdline or f"--listen-ng={proxy}:".encode() in cmdline
        ):
            pids.append(int(entry.name))
    return pids


def start_sipp(
    work: Path,
    scenario: str,
    local: tuple[str, int],
    rows: list[list[str]],
    *,
    remote: str | None = None,
    media: int | None = None,
) -> subprocess.Popen[str]:
    """sipp in the background for one call, bounded in time, its messages in a file."""
    name = f"{Path(scenario).stem}-{local[1]}-{time.monotonic_ns()}"
    argv = ["sipp"] + ([remote] if remote else [])
    argv += ["-sf", str(SCENARIOS / scenario), "-i", local[0], "-p", str(local[1])]
    if rows:
        argv += ["-inf", str(write_csv(work / f"{name}.csv", rows))]
    if media is not None:
        argv += ["-mi", local[0], "-mp", str(media)]
    argv += ["-m", "1", "-timeout", f"{SIPP_TIMEOUT_S}s", "-nostdin", "-trace_msg"]
    argv += ["-message_file", str(work / f"{name}.msg")]
    return subprocess.Popen(
        argv,
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sipp_done(proc: subprocess.Popen[str]) -> str:
    """Wait for sipp; its message trace. A non-zero exit fails the test with both."""
    out, _ = proc.communicate(timeout=SIPP_TIMEOUT_S * 2)
    message_file = next(str(a) for a in proc.args if str(a).endswith(".msg"))  # type: ignore[union-attr]
    trace = Path(message_file).read_text(errors="replace")
    assert proc.returncode == 0, out + trace
    return trace


class Gateway:
    """A carrier's gateway (sipp, uas_gateway.xml) up for a whole test: it answers the
    calls sent to it and the OPTIONS of serve's carrier prober, which would break a
    one-call sipp (the probe takes its only call). ``stop`` ends it: its trace."""

    def __init__(self, work: Path, local: tuple[str, int], *, media: int) -> None:
        self.message_file = work / f"gateway-{local[1]}-{time.monotonic_ns()}.msg"
        argv = ["sipp", "-sf", str(SCENARIOS / "uas_gateway.xml"), "-i", local[0]]
        argv += ["-p", str(local[1]), "-mi", local[0], "-mp", str(media)]
        argv += ["-m", "1000", "-nostdin", "-trace_msg", "-message_file", str(self.message_file)]
        self.proc = subprocess.Popen(
            argv,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)  # bound before the first call

    def trace(self) -> str:
        return self.message_file.read_text(errors="replace") if self.message_file.exists() else ""

    def stop(self) -> str:
        self.proc.kill()
        self.proc.wait(timeout=10)
        return self.trace()
