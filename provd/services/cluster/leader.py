"""The leader lease: what must run once per platform runs in the process holding it.

The PBX (Kamailio and rtpengine, or the export for an external one), its route
listener and audit watcher, the rollout engine, discovery and the shared tables'
housekeeping are started by whichever worker or node takes the lease, and stopped
when it lets go. Every other process tries again every second, so when the holder
dies another one takes over.

Two kinds of lease, by database:

- SQLite (one host, the workers of one ``serve``): an exclusive ``flock`` on
  ``leader.lock`` in the data directory. The kernel releases it when the process
  dies, however it dies.
- PostgreSQL (workers, and nodes on several hosts): a session advisory lock,
  ``pg_try_advisory_lock``, on a connection kept for it alone. PostgreSQL releases it
  when that session ends: at once when the holder's process dies (its socket closes),
  and after the TCP keepalive set here (about 25 s) when its host vanishes. The
  holder checks its connection every second and steps down (stops the services)
  when it no longer answers, sooner than the server drops the session, so two
  leaders never run at once through a network cut. Chosen over a lease row renewed
  with an expiry: no clocks to trust, no renewal writes, and a crash is taken over at
  the next try instead of after an expiry. A holder that hangs without dying keeps
  the lease; restart it (the PBX would not be served by a hung process anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("provd.cluster")

LOCK_FILE = "leader.lock"
# Advisory lock keys are shared by every application on the database: one of our own.
_ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"provd leader").digest()[:8], "big", signed=True)
_PING_TIMEOUT_S = 3.0
# Seconds idle, then probes apart, then how many: a vanished holder's session ends in 25 s.
_KEEPALIVE = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


class Lease(Protocol):
    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it."""
        ...

    async def held(self) -> bool:
        """Whether the lease is still this process's (asked every second while held)."""
        ...

    async def release(self) -> None: ...


class FileLease:
    """The workers of one ``serve`` on one host: an exclusive lock on a file."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class PostgresLease:
    """Workers and nodes sharing a PostgreSQL database: a session advisory lock."""

    def __init__(self, db_url: str) -> None:
        # asyncpg's own spelling; tortoise's options (?minsize=...) mean nothing to it.
        self._dsn = "postgresql://" + db_url.split("://", 1)[1].split("?", 1)[0]
        self._conn: Any = None
        self._holding = False

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            asyncpg = importlib.import_module("asyncpg")
            self._conn = await asyncpg.connect(
                self._dsn,
                timeout=_PING_TIMEOUT_S,
                # The server notices a vanished host by these, and frees the lock.
                server_settings={
                    **_KEEPALIVE,
                    "application_name": "provd leader",
                },
            )
        return self._conn

    async def acquire(self) -> bool:
        if self._holding:
            return True
        try:
            conn = await self._connection()
            got = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", _ADVISORY_KEY, timeout=_PING_TIMEOUT_S
            )
        except Exception as e:  # unreachable, refused, timed out: not the leader now
            log.debug("leader lease: the database did not answer: %s", e)
            await self._drop()
            return False
        self._holding = bool(got)
        return self._holding

    async def held(self) -> bool:
        if not self._holding:
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=_PING_TIMEOUT_S)
        except Exception as e:
            log.error("leader lease: the database no longer answers (%s)", e)
            self._holding = False
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        # Ending the session releases the lock; nothing else is kept on it.
        self._holding = False
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), _PING_TIMEOUT_S)
            if not conn.is_closed():
                conn.terminate()


def lease_for(data_dir: Path, db_url: str) -> Lease:
    if db_url.startswith("sqlite:"):
        return FileLease(data_dir)
    return PostgresLease(db_url)


Stop = Callable[[], Awaitable[None]]
Start = Callable[[], Awaitable[Stop]]


class Leadership:
    """Runs ``start`` while this process holds the lease, and the ``Stop`` it returned
    when the lease is lost or the process stops."""

    def __init__(
        self,
        lease: Lease,
        start: Start,
        *,
        every_s: float = 1.0,
        retry_after_failure_s: float = 10.0,
    ) -> None:
        self._lease = lease
        self._start = start
        self._every_s = every_s
        self._retry_after_failure_s = retry_after_failure_s
        self._stop: Stop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self._stop is not None

    async def try_lead(self) -> bool:
        """Take the lease and start the services if it is free; errors of ``start``
        propagate (the lease is released first)."""
        if self._stop is not None:
            return True
        if not await self._lease.acquire():
            return False
        try:
            self._stop = await self._start()
        except BaseException:
            await self._lease.release()
            raise
        return True

    def follow(self) -> None:
        """From now on, try every second (and check the lease while holding it)."""
        self._task = asyncio.create_task(self._run(), name="leader-lease")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            if self._stop is not None:
                if not await self._lease.held():
                    log.error("lost the leader lease: stopping the services only the leader runs")
                    await self._step_down()
                continue
            try:
                if await self.try_lead():
                    log.info("took over as leader (pid %d)", os.getpid())
            except Exception:
                log.exception("could not start the leader's services; trying again later")
                await asyncio.sleep(self._retry_after_failure_s)

    async def _step_down(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            try:
                await stop()
            except Exception:
                log.exception("stopping the leader's services failed")
        await self._lease.release()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._step_down()
