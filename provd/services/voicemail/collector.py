"""While serve runs the media application: voicemail collected from its spool every
second, each new message's notices sent, what users did from the phone applied
(provd.services.voicemail.mailbox_actions), old messages removed. When a mailbox
changed, mailboxes.json is written again at once (``on_mailboxes_changed``) so that the
user's next call to their mailbox lists what is there.

Notices come after the message is filed (provd.services.voicemail.ingest): the phones'
lamps by a message-summary NOTIFY, and a copy with the recording to the user's e-mail
address when it has one and SMTP is configured. A notice that fails is logged and not
retried: the message itself is safe, and the next change to the mailbox sends the lamp
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from provd.db.models import Tenant, User
from provd.pbx import PbxControl
from provd.services.limits.mail import Attachment, Smtp
from provd.services.voicemail import Ingested, expire, ingest, notify_waiting
from provd.services.voicemail.mailbox_actions import apply_actions

log = logging.getLogger("provd.voicemail")

DEFAULT_INTERVAL_S = 1.0
EXPIRE_EVERY_S = 600.0


def email_text(filed: Ingested) -> tuple[str, str]:
    """A copy's subject and body."""
    m = filed.message
    who = m.caller_name or m.caller or "an unknown caller"
    if m.caller_name and m.caller:
        who = f"{m.caller_name} ({m.caller})"
    seconds = round(m.duration_ms / 1000)
    subject = f"Voicemail for {filed.user.extension} from {who}"
    body = (
        f"{who} left a message of {seconds} s for {filed.user.display_name}"
        f" ({filed.user.extension}) at {m.received_at.isoformat()}.\n"
        "The recording is attached.\n"
    )
    return subject, body


async def email_copy(smtp: Smtp, data_dir: Path, filed: Ingested) -> bool:
    """Sent when the user has an address; False when not sent (none, or it failed)."""
    address = filed.user.voicemail_email
    if not address:
        return False
    subject, body = email_text(filed)
    wav = (data_dir / filed.message.path).read_bytes()
    name = f"voicemail-{filed.message.received_at:%Y%m%d-%H%M%S}.wav"
    try:
        await smtp.send(address, subject, body, attachments=[Attachment(name, wav, "audio", "wav")])
    except Exception:
        log.exception("voicemail %s: the e-mail to %s failed", filed.message.id, address)
        return False
    return True


class VoicemailCollector:
    def __init__(
        self,
        media_dir: Path,
        data_dir: Path,
        *,
        control: PbxControl | None,
        smtp: Smtp | None,
        retention_days: int,
        on_mailboxes_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.media_dir = media_dir
        self.on_mailboxes_changed = on_mailboxes_changed
        self.data_dir = data_dir
        self.control = control
        self.smtp = smtp
        self.retention_days = retention_days
        self._task: asyncio.Task[None] | None = None

    async def collect(self) -> list[Ingested]:
        filed = await ingest(self.media_dir, self.data_dir)
        for one in filed:
            if self.smtp is not None:
                await email_copy(self.smtp, self.data_dir, one)
        applied = await apply_actions(self.media_dir, self.data_dir)
        if (filed or applied.changed) and self.on_mailboxes_changed is not None:
            await self.on_mailboxes_changed()
        await self._lamps([f.user for f in filed] + applied.users)
        return filed

    async def expire(self, now: datetime | None = None) -> int:
        users = await expire(self.data_dir, now or datetime.now(UTC), self.retention_days)
        if users and self.on_mailboxes_changed is not None:
            await self.on_mailboxes_changed()
        await self._lamps(users)
        return len(users)

    async def _lamps(self, users: list[User]) -> None:
        if self.control is None:
            return
        for user in {u.id: u for u in users}.values():
            try:
                result = await notify_waiting(self.control, user)
            except Exception:
                log.exception("voicemail: the lamp NOTIFY for user %s failed", user.extension)
                continue
            if not result.ok:
                tenant = await Tenant.get(id=user.tenant_id)  # type: ignore[attr-defined]
                log.info(
                    "voicemail lamp of %s@%s: %s %s",
                    user.extension,
                    tenant.sip_domain,
                    result.status,
                    result.reason,
                )

    def start(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._task = asyncio.create_task(self._loop(interval_s), name="voicemail-collector")

    async def _loop(self, interval_s: float) -> None:
        failing = False
        expired_at = time.monotonic() - EXPIRE_EVERY_S
        while True:
            try:
                await self.collect()
                if time.monotonic() - expired_at >= EXPIRE_EVERY_S:
                    expired_at = time.monotonic()
                    await self.expire()
            except Exception:
                # The spool waits: nothing is lost, the next round reads it again.
                if not failing:
                    log.exception("voicemail: collecting failed; retrying")
                failing = True
            else:
                if failing:
                    log.info("voicemail: collecting works again")
                failing = False
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
