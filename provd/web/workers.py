"""``provd serve --workers N``: a parent process and N workers serving one port.

The parent binds the listening sockets itself and hands them to each worker it starts
(``provd serve --worker-of ...``, the same command line otherwise). Every worker serves
phones, the API and the console on them; the kernel gives each new connection to
whichever worker accepts it first, so a busy worker takes fewer. Chosen over
SO_REUSEPORT, where each worker binds on its own: the port stays bound while a worker
restarts, connections waiting to be accepted are not lost with a worker that dies (with
SO_REUSEPORT they are reset), and a second ``serve`` on the same port still fails at
bind instead of silently sharing it.

What may run only once (the PBX, rollouts, discovery, the audit watcher) runs in the
worker holding the leader lease (``services/cluster/leader``), whoever that is.

The parent restarts a worker that dies (with a back-off while it keeps dying), passes
SIGTERM and SIGINT on (and waits for the workers to stop), and SIGHUP too, so every
worker reloads its certificate. A worker stops by itself when its parent is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from provd.domain.errors import ProvdError
from provd.settings import Settings

log = logging.getLogger("provd.workers")

SERVE_LOCK = "serve.lock"
LISTEN_BACKLOG = 1024
"""Connections the kernel queues before provd accepts them, with one worker or many. A
site's own default (128) overflowed when a thousand phones booted at once: the rest saw
resets and timeouts (bench/fleet_storm.py, one process); the kernel caps it at
net.core.somaxconn."""
WORKER_HEADER = "Provd-Worker"
"""Response header naming the worker (1..N) that answered: diagnostics only."""
STOP_GRACE_S = 30.0
"""How long stopping workers may take (the leader stops the PBX and the rollout engine)."""
_RESTART_BACKOFF_S = (0.5, 30.0)
_STEADY_S = 10.0
"""A worker that ran this long before dying is restarted at once again."""
_READY_TIMEOUT_S = 120.0
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """One worker per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class WorkerSeat:
    """How the parent started this worker: ``--worker-of PID:INDEX:READY:HTTPS[:HTTP]``."""

    parent: int
    index: int
    ready_fd: int
    https_fd: int
    http_fd: int | None = None

    def __str__(self) -> str:
        fds = [self.ready_fd, self.https_fd] + ([self.http_fd] if self.http_fd else [])
        return ":".join(str(n) for n in (self.parent, self.index, *fds))

    @classmethod
    def parse(cls, text: str) -> WorkerSeat:
        try:
            numbers = [int(part) for part in text.split(":")]
        except ValueError:
            numbers = []
        if len(numbers) not in (4, 5):
            raise ProvdError(f"--worker-of {text!r}: not PID:INDEX:READY:HTTPS[:HTTP]")
        return cls(*numbers)

    def keep_to_self(self) -> None:
        """Make the descriptors the parent passed this worker's alone: not inherited by
        what it starts (Kamailio, rtpengine), which would otherwise hold the port, and the
        readiness pipe, past the worker's death (uvloop's subprocesses inherit them)."""
        for fd in (self.ready_fd, self.https_fd, self.http_fd):
            if fd is not None:
                os.set_inheritable(fd, False)

    def sockets(self) -> tuple[socket.socket, socket.socket | None]:
        https = socket.socket(fileno=self.https_fd)
        http = socket.socket(fileno=self.http_fd) if self.http_fd else None
        return https, http

    def report_ready(self) -> None:
        os.write(self.ready_fd, b"ready\n")
        os.close(self.ready_fd)

    def parent_alive(self) -> bool:
        return os.getppid() == self.parent

    def stop_with_parent(self) -> None:
        """Be sent SIGTERM the moment the parent dies (Linux), so a parent killed
        outright takes its workers down cleanly and frees the port at once."""
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if not self.parent_alive():  # it died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def serve_lock(data_dir: Path) -> Iterator[None]:
    """One ``serve`` per data directory (its workers share it): a second is refused."""
    path = data_dir / SERVE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise ProvdError(
                f"another provd serve is already running with {data_dir} (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, as asyncio would make it for the site."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        raise ProvdError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def worker_argv(argv: Sequence[str], seat: WorkerSeat) -> list[str]:
    """The command line a worker runs: provd's own, told whose worker it is."""
    return [sys.executable, "-m", "provd", *argv, "--worker-of", str(seat)]


class _Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.backoff = _RESTART_BACKOFF_S[0]


class WorkerPool:
    """The parent's side: starts, watches, restarts and stops the workers."""

    def __init__(
        self,
        argv: Sequence[str],
        count: int,
        https: socket.socket,
        http: socket.socket | None,
        env: dict[str, str],
    ) -> None:
        self._argv = list(argv)
        self._https, self._http = https, http
        self._env = env
        self.workers = [_Worker(i + 1) for i in range(count)]

    async def _spawn(self, worker: _Worker) -> asyncio.Future[bool]:
        """Start one worker; the future says whether it reported ready."""
        read_fd, write_fd = os.pipe()
        fds = [write_fd, self._https.fileno()] + ([self._http.fileno()] if self._http else [])
        seat = WorkerSeat(
            os.getpid(),
            worker.index,
            write_fd,
            self._https.fileno(),
            self._http.fileno() if self._http else None,
        )
        try:
            worker.proc = await asyncio.create_subprocess_exec(
                *worker_argv(self._argv, seat), pass_fds=fds, env=self._env
            )
        finally:
            os.close(write_fd)
        worker.started_at = time.monotonic()
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[bool] = loop.create_future()

        def readable() -> None:
            data = b""
            with contextlib.suppress(OSError):
                data = os.read(read_fd, 64)
            loop.remove_reader(read_fd)
            os.close(read_fd)
            if not ready.done():
                ready.set_result(data.startswith(b"ready"))

        loop.add_reader(read_fd, readable)
        pid = worker.proc.pid

        def said(done: asyncio.Future[bool]) -> None:
            if done.result():
                log.info("worker %d (pid %d) serving", worker.index, pid)

        ready.add_done_callback(said)
        return ready

    async def start(self) -> None:
        """Start every worker and wait until each serves; one that fails to start
        stops the others, and its error (on the common stderr) is the reason."""
        readies = [await self._spawn(w) for w in self.workers]
        try:
            async with asyncio.timeout(_READY_TIMEOUT_S):
                results = await asyncio.gather(*readies)
        except TimeoutError:
            results = [False]
        if not all(results):
            await self.stop()
            raise ProvdError("a worker failed to start (its error is above); nothing is served")

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the workers until ``stop``; restart those that die meanwhile."""
        watchers = {asyncio.create_task(self._keep(w, stop)) for w in self.workers}
        try:
            await stop.wait()
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _keep(self, worker: _Worker, stop: asyncio.Event) -> None:
        while not stop.is_set():
            assert worker.proc is not None
            rc = await worker.proc.wait()
            if stop.is_set():
                return
            ran = time.monotonic() - worker.started_at
            worker.backoff = (
                _RESTART_BACKOFF_S[0]
                if ran >= _STEADY_S
                else min(worker.backoff * 2, _RESTART_BACKOFF_S[1])
            )
            how = f"signal {-rc}" if rc < 0 else f"rc {rc}"
            log.warning(
                "worker %d (pid %d) ended with %s; starting it again in %.1f s",
                worker.index,
                worker.proc.pid,
                how,
                worker.backoff,
            )
            await asyncio.sleep(worker.backoff)
            if not stop.is_set():
                await self._spawn(worker)

    def signal_all(self, sig: int) -> None:
        for worker in self.workers:
            if worker.proc is not None and worker.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.send_signal(sig)

    async def stop(self) -> bool:
        """SIGTERM every worker and wait; True when all ended cleanly."""
        # One that died before (its restart still waiting) was reported when it died.
        running = [w for w in self.workers if w.proc is not None and w.proc.returncode is None]
        self.signal_all(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                codes = await asyncio.gather(*(w.proc.wait() for w in running if w.proc))
        except TimeoutError:
            log.error("workers still running %.0f s after SIGTERM: killing them", STOP_GRACE_S)
            self.signal_all(signal.SIGKILL)
            await asyncio.gather(*(w.proc.wait() for w in running if w.proc))
            return False
        clean = True
        for worker, code in zip(running, codes, strict=True):
            # A worker still starting has no handler yet: SIGTERM ends it before it did
            # anything.
            if code not in (0, -signal.SIGTERM):
                assert worker.proc is not None
                log.error(
                    "worker %d (pid %d) stopped with rc %d", worker.index, worker.proc.pid, code
                )
                clean = False
        return clean


async def run_workers(settings: Settings, count: int, *, argv: Sequence[str] | None = None) -> None:
    """The parent: bind, start ``count`` workers, keep them running until SIGTERM or
    SIGINT. The caller holds the serve lock and brought the schema up to date."""
    https = listen(settings.bind, settings.https_port)
    http = None
    if settings.http_port:
        http = listen(settings.bind, settings.http_port)
        log.warning(
            "plain HTTP enabled on port %d (still Digest-authenticated)", settings.http_port
        )
    env = dict(os.environ)
    metrics_dir = None
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        # Counters of every worker add up in any worker's /metrics answer.
        metrics_dir = tempfile.mkdtemp(prefix="provd-metrics-")
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    pool = WorkerPool(sys.argv[1:] if argv is None else argv, count, https, http, env)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, pool.signal_all, signal.SIGHUP)
    try:
        await pool.start()
        log.info("provd serving phones at %s with %d workers", settings.provisioning_url, count)
        await pool.run(stop)
        if not await pool.stop():
            raise ProvdError("a worker did not stop cleanly")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        https.close()
        if http is not None:
            http.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
