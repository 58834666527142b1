"""One supervised daemon: start, wait until it answers, restart when it dies, stop.

Each daemon gets a process group of its own (a new session), so stopping it
also reaches Kamailio's worker processes and nothing is left behind.

A provd that is killed outright (SIGKILL, OOM killer) cannot stop its daemons, and
they keep their ports. The next provd would then find its own Kamailio unable to
bind while the old one, with the old configuration, answered the readiness probe.
So each daemon's pid is kept in ``<name>.pid`` beside its log, and a start first
stops a daemon that file names if it is still running the same program.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from provd.pbx.errors import PbxError

log = logging.getLogger(__name__)

ReadyProbe = Callable[[], Awaitable[bool]]

_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_STABLE_AFTER_S = 60.0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _write_pid(path: Path, pid: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def _stat(pid: int | str) -> tuple[str, int] | None:
    """State and process group of a process, from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) S ppid pgrp ...": comm may hold anything, so split after its ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[0], int(fields[2])


def _group_running(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        stat = _stat(entry.name) if entry.name.isdigit() else None
        if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
            return True
    return False


def _leftover(pid_path: Path, program: str) -> int | None:
    """The pid in ``pid_path`` if that process still runs ``program`` as the leader of
    its own process group, as this module starts daemons; None for anything else (no
    file, a pid reused by an unrelated process)."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    stat = _stat(pid) if pid > 1 else None
    if stat is None or stat[0] in ("Z", "X") or stat[1] != pid:
        return None
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return None
    return pid if os.path.basename(argv0) == os.path.basename(program).encode() else None


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_path: Path,
        ready: ReadyProbe,
        ready_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        """``on_restart``: called each time the daemon is back after dying (not after
        :meth:`restart`, which is a configuration change)."""
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self.pid_path = log_path.with_suffix(".pid")
        self._ready = ready
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._started_at = 0.0
        self.restarts = 0
        self._on_restart = on_restart
        self.ready_event = asyncio.Event()

    @property
    def pid(self) -> int | None:
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    async def start(self) -> None:
        """Start, wait until ready, then keep it running until :meth:`stop`."""
        self._stopping = False
        await self._stop_leftover()
        await self._spawn()
        await self._wait_ready()
        self._watcher = asyncio.create_task(self._watch(), name=f"watch-{self.name}")

    async def _spawn(self) -> None:
        self.ready_event.clear()
        if self.log_path.exists() and self.log_path.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
        with open(self.log_path, "ab") as logf:
            logf.write(f"--- provd starting {self.name}: {' '.join(self.argv)}\n".encode())
            logf.flush()
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    cwd=self.cwd,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=logf,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise PbxError(f"{self.argv[0]} not found: install the Debian package") from None
        self._started_at = time.monotonic()
        _write_pid(self.pid_path, self._proc.pid)
        log.info("%s started, pid %d", self.name, self._proc.pid)

    async def _stop_leftover(self) -> None:
        pid = _leftover(self.pid_path, self.argv[0])
        if pid is None:
            return
        log.warning(
            "%s (pid %d) was left running by a provd that did not stop; stopping it",
            self.name,
            pid,
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        while _group_running(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        # Whatever ignored SIGTERM; the ports are free only once every worker is gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _group_running(pid):
            if time.monotonic() > deadline + self._stop_timeout:
                raise PbxError(f"{self.name} (pid {pid}) left by an earlier provd would not stop")
            await asyncio.sleep(0.05)

    async def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise PbxError(
                    f"{self.name} exited with rc={proc.returncode} while starting; "
                    f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
                )
            with contextlib.suppress(PbxError, OSError):
                if await self._ready():
                    self.ready_event.set()
                    return
            await asyncio.sleep(0.1)
        await self._terminate()
        raise PbxError(
            f"{self.name} did not become ready in {self._ready_timeout:.0f} s; "
            f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
        )

    async def _watch(self) -> None:
        backoff = self._min_backoff
        while not self._stopping:
            proc = self._proc
            assert proc is not None
            rc = await proc.wait()
            await self._reap_group(proc.pid)
            if self._stopping:
                return
            self.ready_event.clear()
            if time.monotonic() - self._started_at > _STABLE_AFTER_S:
                backoff = self._min_backoff
            log.warning(
                "%s (pid %d) died with rc=%s; restarting in %.1f s",
                self.name,
                proc.pid,
                rc,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
            if self._stopping:
                return
            try:
                await self._spawn()
                await self._wait_ready()
            except PbxError as e:
                log.error("restarting %s failed: %s", self.name, e)
                continue
            self.restarts += 1
            if self._on_restart is not None:
                self._on_restart()

    async def restart(self) -> None:
        """Stop and start again now (a configuration change), without backoff."""
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._terminate()

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout)
            except TimeoutError:
                log.warning(
                    "%s ignored SIGTERM for %.0f s; killing it", self.name, self._stop_timeout
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        await self._reap_group(proc.pid)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()
        self.ready_event.clear()

    async def _reap_group(self, pgid: int) -> None:
        """Kamailio's workers leave after their parent; give them a moment, then kill."""
        for _ in range(20):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
