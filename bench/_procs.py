"""The benchmark's child processes: started so that none of them outlives it.

Each child gets its own session (so Ctrl-C reaches only the benchmark, which then
stops the children in order) and, on Linux, a parent-death signal (so even a benchmark
killed with SIGKILL takes its children with it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def pre_exec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return pre_exec


class Children:
    """Processes this benchmark started, and only those."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._cwd = cwd
        self._env = env

    def start(
        self,
        args: Sequence[str],
        *,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            list(args),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=self._cwd,
            env=self._env,
            start_new_session=True,
            # preexec_fn is unsafe only with threads, and the benchmark starts none.
            preexec_fn=_die_with_parent(os.getpid()),
        )
        self._procs.append(proc)
        return proc

    def stop(
        self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 10.0
    ) -> None:
        """Signal the child's whole process group (nginx workers too), then wait; kill if
        it does not leave within ``grace`` seconds."""
        _signal_group(proc.pid, sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        # Members of the group may outlive its leader (an nginx worker after its master).
        deadline = time.monotonic() + grace
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(proc.pid, signal.SIGKILL)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, grace=5.0)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- CPU accounting from /proc -----------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields after it do not.
    return text[text.rfind(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            # fields[0] is the state (field 3 of stat); fields[2] the process group.
            if fields is not None and fields[2] == str(pgid) and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time so far of every live process in a process group."""
    ticks = 0
    for pid in group_members(pgid):
        fields = _stat(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and all its descendants, those that
    have exited and been waited for included (their parents' cutime and cstime). For a
    server whose children leave its process group (PostgreSQL's backends call setsid)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))  # fields[1]: ppid
    ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = stats.get(current)
        if fields is None:
            continue
        # utime, stime, cutime, cstime
        ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        pending += children.get(current, [])
    return ticks / _CLK_TCK


def start_load_generators(
    children: Children, script: Path, jobs: Sequence[tuple[Path, Path]]
) -> list[subprocess.Popen[bytes]]:
    """One load generator (``script JOB``) per job file and its log file, each waited for
    until it prints ``ready`` (its warm-up done); a failed one is an error with its log."""
    procs = []
    for job, log in jobs:
        procs.append(
            children.start(
                [sys.executable, str(script), str(job)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log.open("wb"),
            )
        )
    for i, (proc, (_, log)) in enumerate(zip(procs, jobs, strict=True)):
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            proc.wait()
            raise RuntimeError(f"load generator {i} failed during warm-up:\n" + tail(log))
    return procs


def provd_source() -> str:
    """Which provd was measured: the tree it was imported from, and its commit."""
    import provd

    root = Path(provd.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return str(root)
    dirty = (
        " + uncommitted changes in provd/" if git("status", "--porcelain", "--", "provd") else ""
    )
    return f"{root} at {head}{dirty}"
