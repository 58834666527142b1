"""Running sipp from tests: always bounded (-m, -timeout, an outer timeout), always reaped.

A sipp left running holds its port and answers the next test's call, so every
run goes through :func:`sipp` (an async context manager) or :func:`run_sipp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"
_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class SippResult:
    rc: int
    messages: str
    """Every message sent and received (-trace_msg)."""
    output: str

    def received(self, start_line: str) -> list[str]:
        """The received messages whose first line starts with ``start_line``."""
        out = []
        for block in re.split(r"\n-{5,}[^\n]*\n", "\n" + self.messages):
            if "message received" not in block:
                continue
            body = block.split("\n", 1)[1] if "\n" in block else ""
            if body.lstrip().startswith(start_line):
                out.append(body.strip())
        return out

    def status_codes(self) -> list[int]:
        return [int(m) for m in re.findall(r"^SIP/2\.0 (\d{3}) ", self.messages, re.M)]


class SippRun:
    def __init__(self, proc: asyncio.subprocess.Process, msg_file: Path, timeout_s: float) -> None:
        self.proc = proc
        self.msg_file = msg_file
        self.timeout_s = timeout_s

    async def finish(self) -> SippResult:
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(), self.timeout_s + 5)
        except TimeoutError:
            self.proc.kill()
            out, _ = await self.proc.communicate()
        text = out.decode(errors="replace")
        assert "Unable to bind" not in text, f"sipp could not bind its socket:\n{text}"
        messages = self.msg_file.read_text(errors="replace") if self.msg_file.exists() else ""
        messages = messages.replace("\r\n", "\n")
        assert self.proc.returncode is not None
        return SippResult(self.proc.returncode, messages, text)


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    path.write_text("SEQUENTIAL\n" + "".join(";".join(r) + "\n" for r in rows))
    return path


@contextlib.asynccontextmanager
async def sipp(
    scenario: str,
    workdir: Path,
    *,
    local: tuple[str, int],
    remote: str | None = None,
    rows: Sequence[Sequence[str]] = (),
    calls: int = 1,
    timeout_s: float = 8.0,
    media: tuple[str, int] | None = None,
    extra: Sequence[str] = (),
) -> AsyncIterator[SippRun]:
    """Start sipp; the body may run other things; leaving always reaps the process."""
    n = next(_counter)
    msg_file = workdir / f"{Path(scenario).stem}-{n}.msg"
    argv = ["sipp"]
    if remote:
        argv.append(remote)
    argv += ["-sf", str(SCENARIOS / scenario), "-i", local[0], "-p", str(local[1])]
    if rows:
        argv += ["-inf", str(write_csv(workdir / f"{Path(scenario).stem}-{n}.csv", rows))]
    if media:
        argv += ["-mi", media[0], "-mp", str(media[1])]
    argv += [
        "-m",
        str(calls),
        "-timeout",
        f"{timeout_s:.0f}s",
        "-nostdin",
        "-trace_msg",
        "-message_file",
        str(msg_file),
        *extra,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    run = SippRun(proc, msg_file, timeout_s)
    try:
        if remote is None:
            # One that waits for calls must hear the first: under load sipp takes longer
            # to bind than the pauses tests leave it (a carrier's INVITE then timed out).
            await _until_bound(proc, local)
        yield run
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.communicate()


async def _until_bound(proc: asyncio.subprocess.Process, local: tuple[str, int]) -> None:
    """Until sipp's UDP socket on ``local`` exists (from /proc/net/udp), or sipp ended,
    within 10 s; after that the test goes on and its own checks speak."""
    a, b, c, d = (int(part) for part in local[0].split("."))
    wanted = f"{d:02X}{c:02X}{b:02X}{a:02X}:{local[1]:04X}"
    deadline = asyncio.get_running_loop().time() + 10.0
    while proc.returncode is None and asyncio.get_running_loop().time() < deadline:
        table = Path("/proc/net/udp").read_text()
        if any(line.split()[1] == wanted for line in table.splitlines()[1:]):
            return
        await asyncio.sleep(0.02)


async def run_sipp(
    scenario: str,
    workdir: Path,
    *,
    local: tuple[str, int],
    remote: str | None = None,
    rows: Sequence[Sequence[str]] = (),
    calls: int = 1,
    timeout_s: float = 8.0,
    media: tuple[str, int] | None = None,
) -> SippResult:
    async with sipp(
        scenario,
        workdir,
        local=local,
        remote=remote,
        rows=rows,
        calls=calls,
        timeout_s=timeout_s,
        media=media,
    ) as run:
        return await run.finish()
