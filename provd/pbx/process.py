"""One supervised daemon: start, wait until it answers, restart when it dies, stop.

Each daemon gets a process group of its own (a new session), so stopping it
also reaches Kamailio's worker processes and nothing is left behind.
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
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
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
        self.ready_event = asyncio.Event()

    @property
    def pid(self) -> int | None:
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    async def start(self) -> None:
        """Start, wait until ready, then keep it running until :meth:`stop`."""
        self._stopping = False
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
        log.info("%s started, pid %d", self.name, self._proc.pid)

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
