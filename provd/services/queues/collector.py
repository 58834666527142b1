"""While serve runs the media application: its callers' records
(``queue/calls/<id>.json``, provd.media.queue_files) filed as QueueCall rows every
second, the figures the queues' statistics and ``/metrics`` count.

Each record is one transaction, and its file is removed only after the row is
committed: a crash in between reads the record again and finds its row (the id is
unique), so a caller counts exactly once. A record provd cannot use (unreadable, or for
a tenant it does not have) is moved to ``queue/bad`` for an operator to look at. The
rows are observed facts like the call records, not an admin's change: they write no
audit row. A record whose queue is gone since is still filed (with no queue) so the
tenant's totals stay whole; one whose agent is gone keeps the agent's extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from tortoise.transactions import in_transaction

from provd.db.models import Queue, QueueCall, Tenant, User
from provd.media import queue_files

log = logging.getLogger("provd.queues")

DEFAULT_INTERVAL_S = 1.0
BAD_DIR = "queue/bad"
"""Under the media application's directory: records provd could not file."""
MAX_ID = 64
"""QueueCall.spool_id's length: the media application's ids are far shorter."""


def _set_aside(media_dir: Path, path: Path) -> None:
    bad = media_dir / BAD_DIR
    bad.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, bad / path.name)


async def collect(media_dir: Path) -> list[QueueCall]:
    """File every record in ``media_dir``'s queue spool; the rows filed now, oldest first."""
    filed: list[QueueCall] = []
    for path, record in queue_files.read_queue_calls(media_dir):
        if isinstance(record, queue_files.QueueFileError):
            log.error("queue record %s is unreadable, moved to %s: %s", path.name, BAD_DIR, record)
            _set_aside(media_dir, path)
            continue
        if await QueueCall.filter(spool_id=record.id).exists():
            # Filed before a crash kept its file from being removed.
            path.unlink(missing_ok=True)
            continue
        if len(record.id) > MAX_ID:
            log.error("queue record %s: an id longer than %d; set aside", path.name, MAX_ID)
            _set_aside(media_dir, path)
            continue
        tenant = await Tenant.get_or_none(sip_domain=record.domain.lower())
        if tenant is None:
            log.error("queue record %s: no tenant %s; set aside", path.name, record.domain)
            _set_aside(media_dir, path)
            continue
        queue = await Queue.get_or_none(tenant=tenant, extension=record.queue[:5])
        agent = None
        if record.agent:
            agent = await User.get_or_none(tenant=tenant, extension=record.agent[:5])
        async with in_transaction():
            row = await QueueCall.create(
                tenant=tenant,
                queue=queue,
                queue_extension=record.queue[:5],
                spool_id=record.id,
                call_id=record.call_id[:255],
                caller=record.caller[:64],
                caller_number=(record.caller_number or None) and record.caller_number[:20],
                entered_at=record.entered_at,
                left_at=record.left_at,
                outcome=record.outcome,
                agent=agent,
                agent_extension=record.agent[:5] if record.agent else None,
                wait_ms=round(max(0.0, record.wait_s) * 1000),
                talk_ms=round(max(0.0, record.talk_s) * 1000),
            )
        path.unlink(missing_ok=True)
        filed.append(row)
    return filed


class QueueCollector:
    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self._task: asyncio.Task[None] | None = None

    async def collect(self) -> list[QueueCall]:
        return await collect(self.media_dir)

    def start(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._task = asyncio.create_task(self._loop(interval_s), name="queue-collector")

    async def _loop(self, interval_s: float) -> None:
        failing = False
        while True:
            try:
                await self.collect()
            except Exception:
                # The spool waits: nothing is lost, the next round reads it again.
                if not failing:
                    log.exception("queues: collecting the callers' records failed; retrying")
                failing = True
            else:
                if failing:
                    log.info("queues: collecting works again")
                failing = False
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
