"""Sampling provd with py-spy during the measured run, and reading the samples.

py-spy's raw format is one line per distinct stack: ``frame;frame;...;frame COUNT``,
outermost first, each frame ``function (file:line)``; with ``--threads`` the first
frame names the thread, and with ``--subprocesses`` a frame before it the process.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

PY_SPY = shutil.which("py-spy")
RATE = 100
_UNOWNED = (
    "(no provd frame: event loop, TLS and HTTP in aiohttp, tasks the ORM spawns, database thread)"
)
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def command(pid: int, output: Path) -> list[str]:
    if PY_SPY is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    return [
        PY_SPY,
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(RATE),
        "--format",
        "raw",
        "--threads",
        # Only samples that hold the GIL: what keeps provd's one process busy. Waits (the
        # event loop's epoll, the database thread's queue) would otherwise be counted.
        "--gil",
        # serve --workers: the workers are the parent's children.
        "--subprocesses",
        # Not --nonblocking: reading a running process gives torn stacks, which would
        # hide the very frames that say which provd line a cost belongs to.
        "--output",
        str(output),
    ]


def _parse(raw: str) -> list[tuple[str, list[str], int]]:
    stacks = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        parts = stack.split(";")
        if parts[0].startswith("process "):  # --subprocesses: which process, then thread
            parts = parts[1:]
        if not parts:
            continue
        thread, *frames = parts
        stacks.append((thread, frames, int(count)))
    return stacks


def _where(frame: str) -> tuple[str, str, str]:
    m = _FRAME.match(frame)
    if m is None:
        return frame, "?", ""
    return m["func"], m["file"], m["line"] or ""


def _package(file: str) -> str:
    if file.startswith("<"):
        return "python internals"
    head = file.split("/", 1)[0]
    return head.removesuffix(".py")


def _outside_provd(thread: str, frames: list[str]) -> str:
    """Who owns a sample with no provd frame: the event-loop callback or task it runs
    under (aiohttp's protocol, the TLS transport, tasks the ORM spawns), or its thread."""
    for i in range(len(frames) - 1, 0, -1):
        if _where(frames[i - 1])[0] == "Handle._run":
            func, file, _ = _where(frames[i])
            return f"[loop callback/task] {func} ({file})"
    name = thread.split(": ", 1)[-1]
    if frames:
        func, file, _ = _where(frames[-1])
        return f"[{name}] {func} ({file})"
    return f"[{name}]"


def summarise(raw_path: Path, top: int = 15) -> str:
    stacks = _parse(raw_path.read_text())
    total = sum(count for _, _, count in stacks)
    if total == 0:
        return "profile: no samples (py-spy could not read the process?)"
    threads: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    leaf_package: Counter[str] = Counter()
    provd_lines: Counter[str] = Counter()
    owner: Counter[str] = Counter()
    for thread, frames, count in stacks:
        threads[thread] += count
        if not frames:
            continue
        func, file, line = _where(frames[-1])
        leaf[f"{func} ({file}:{line})"] += count
        leaf_package[_package(file)] += count
        # Inclusive time of each provd line on the stack, counted once per stack; and
        # the innermost provd line, which owns everything the libraries do below it.
        seen = []
        for frame in frames:
            func, file, line = _where(frame)
            # The entry point and the CLI are on every stack and say nothing.
            if file.startswith("provd/") and not file.startswith(("provd/cli/", "provd/__")):
                seen.append(f"{file}:{line} in {func}")
        for key in set(seen):
            provd_lines[key] += count
        owner[seen[-1] if seen else _outside_provd(thread, frames)] += count

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    out = [
        f"profile: {total} samples of provd holding the GIL (py-spy --gil, {RATE} Hz); "
        "percentages are of those"
    ]
    out.append("  by thread:")
    out += [f"    {pct(n)}  {name}" for name, n in threads.most_common(4)]
    out.append("  where the CPU is, by package of the innermost frame:")
    out += [f"    {pct(n)}  {name}" for name, n in leaf_package.most_common(top)]
    out.append("  hottest innermost frames (self time):")
    out += [f"    {pct(n)}  {name}" for name, n in leaf.most_common(top)]
    out.append(
        "  owners: the innermost provd line on the stack (it owns the library work below "
        "it), else the loop callback or task, else the thread. tortoise runs "
        "fetch_related's queries as tasks (BaseExecutor._do_prefetch): their cost is "
        "listed there, not under the provd line that called fetch_related."
    )
    out += [f"    {pct(n)}  {name}" for name, n in owner.most_common(top + 5)]
    out.append("  provd lines on the stack (inclusive time):")
    out += [f"    {pct(n)}  {name}" for name, n in provd_lines.most_common(top)]
    return "\n".join(out)
