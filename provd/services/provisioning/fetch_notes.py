"""When, from where and with which firmware each phone last fetched: written behind.

A boot fetches three or four files within a second; one note per boot (or when the
address, User-Agent or firmware changes) is enough to know when and from where the
phone last came. The notes are bookkeeping, nothing a phone's files depend on, so they
write no audit row; sealing, which decides who may fetch, is not one of them
(``Provisioner._note_use`` seals in the request, with its audit row).

How they are written: a note is written at once, in the request, when no write of
notes is under way, so on a quiet server the answer follows its note as before.
When a write is under way, the note joins the next batch and the answer goes out
without waiting: during a boot storm the notes of many phones are written together,
one statement per device in one transaction, batch after batch until none is left.
:meth:`FetchNotes.close` writes what is left when the server stops; a batch that
fails is kept and tried again a second later, merged under newer notes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from provd.db import direct
from provd.db.models import Device
from provd.services.provisioning.records import PhoneDevice

log = logging.getLogger("provd.provisioning")

NOTE_INTERVAL = timedelta(seconds=60)
_RETRY_SECONDS = 1.0
_REMEMBERED = 4096

# reported_firmware(_at) only when the User-Agent said a version: COALESCE keeps them.
_UPDATE = (
    f'UPDATE "{Device._meta.db_table}" SET "last_fetch_at" = ?, "last_fetch_ip" = ?, '
    '"last_user_agent" = ?, "reported_firmware" = COALESCE(?, "reported_firmware"), '
    '"reported_firmware_at" = COALESCE(?, "reported_firmware_at") WHERE "id" = ?'
)

_Seen = tuple[datetime | None, str | None, str | None, str | None]
"""When, from which address, with which User-Agent and firmware, as last noted."""
_Row = tuple[datetime, str, str, str | None, datetime | None, int]


class FetchNotes:
    def __init__(self) -> None:
        self._pending: dict[int, _Row] = {}
        self._seen: OrderedDict[int, _Seen] = OrderedDict()
        self._writing = False
        self._closing = False
        self._behind: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def note(
        self, device: PhoneDevice, client_ip: str, user_agent: str, firmware: str | None
    ) -> None:
        """An authenticated fetch of ``device``; ``firmware``: the version its
        User-Agent reported, if any."""
        now = datetime.now(UTC)
        seen = self._seen.get(device.id) or (
            device.last_fetch_at,
            device.last_fetch_ip,
            device.last_user_agent,
            device.reported_firmware,
        )
        at, ip, agent, reported = seen
        if (
            at is not None
            and now - at < NOTE_INTERVAL
            and ip == client_ip
            and agent == user_agent
            and reported == (firmware or reported)
        ):
            return
        self._pending[device.id] = (
            now,
            client_ip,
            user_agent,
            firmware,
            now if firmware else None,
            device.id,
        )
        self._seen[device.id] = (now, client_ip, user_agent, firmware or reported)
        self._seen.move_to_end(device.id)
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
        if self._writing:
            return  # the write under way is followed by one with this note
        self._writing = True
        try:
            await self._write()
        finally:
            if self._pending:
                # Notes that came in meanwhile: written behind, without this answer.
                self._behind = asyncio.get_running_loop().create_task(self._write_behind())
            else:
                self._writing = False

    async def _write(self) -> bool:
        batch, self._pending = self._pending, {}
        try:
            await direct.execute_many(_UPDATE, list(batch.values()))
        except Exception:
            log.exception(
                "provisioning: could not write the fetch notes of %d device(s)", len(batch)
            )
            # Kept for the next try; a newer note of the same device wins.
            self._pending = batch | self._pending
            return False
        return True

    async def _write_behind(self) -> None:
        try:
            while self._pending:
                if not await self._write():
                    if self._closing:
                        return
                    await asyncio.sleep(_RETRY_SECONDS)
        finally:
            self._writing = False
            self._behind = None

    async def close(self) -> None:
        """Write every pending note (the server is stopping)."""
        self._closing = True
        if self._behind is not None:
            # Not cancelled: a write stopped half-way would leave its transaction open.
            await asyncio.gather(self._behind, return_exceptions=True)
        if self._pending and not await self._write():
            log.error("provisioning: %d fetch note(s) not written at shutdown", len(self._pending))
