"""Resident memory of ``provd serve`` and its workers, sampled from /proc during a run.

``serve --workers N`` starts its workers as new programs (not forks), so each worker's
RSS is its own: nothing is shared with the parent but the file cache of the libraries.
Each sample reads /proc/PID/smaps_rollup, which also splits RSS into what only that
process holds (private) and what it shares with others (shared libraries).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Peak:
    pid: int
    role: str
    rss_kb: int = 0
    private_kb: int = 0
    """Private_Clean + Private_Dirty at the sample of the peak RSS."""
    anonymous_kb: int = 0
    first_kb: int = 0
    """RSS at the first sample (after the warm-up, before the storm)."""
    samples: int = 0


@dataclass(slots=True)
class Sampler:
    """Samples the serve parent and its python children every ``interval`` seconds, in a
    thread of its own, from :meth:`start` to :meth:`stop`."""

    serve_pid: int
    interval: float = 0.25
    peaks: dict[int, Peak] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for pid, role in self._processes():
            rollup = smaps_rollup(pid)
            if not rollup:
                continue
            peak = self.peaks.setdefault(pid, Peak(pid, role, first_kb=rollup["Rss"]))
            peak.samples += 1
            if rollup["Rss"] > peak.rss_kb:
                peak.rss_kb = rollup["Rss"]
                peak.private_kb = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
                peak.anonymous_kb = rollup.get("Anonymous", 0)

    def _processes(self) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = [(self.serve_pid, "serve")]
        workers = sorted(p for p in children(self.serve_pid) if _is_provd(p))
        if workers:
            found[0] = (self.serve_pid, "parent")
            found += [(p, f"worker {i}") for i, p in enumerate(workers, start=1)]
        return found


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after it do not.
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[1] == str(pid) and fields[0] != "Z":  # state, then the parent's pid
            found.append(int(entry))
    return found


def _is_provd(pid: int) -> bool:
    try:
        return b"provd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def smaps_rollup(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/smaps_rollup; empty if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    figures = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            figures[name.strip()] = int(parts[0])
    return figures
