"""Voicemail: the messages callers leave in users' mailboxes.

The media application records a message into its spool (provd.services.voicemail.
spool_io has the format); :func:`ingest` files each in provd's store, as
``voicemail/<tenant slug>/<extension>/<id>.wav`` under provd's data directory, with
its row and an audit row in one transaction, and only then deletes the spool's JSON:
a crash in between reads the message again and finds its row (the spool id is unique),
so a message is filed exactly once. The phones' voicemail lamps (message-summary
NOTIFY) and the e-mailed copies are the collector's (provd.services.voicemail.
collector), after the message is safe.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Sound, Tenant, User, VoicemailMessage
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput, NotFound
from provd.pbx import PbxControl
from provd.pbx.notify import CheckSyncResult
from provd.pbx.subscribers import aor_for
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.directory.users import get_user
from provd.services.menus.sounds import media_name
from provd.services.platform import Platform
from provd.services.voicemail import spool_io

log = logging.getLogger("provd.voicemail")

OBJECT = "voicemail"
STORE_DIR = "voicemail"
"""Under provd's data directory: ``<tenant slug>/<extension>/<spool id>.wav``."""
MAILBOX_OBJECTS = ("user", "tenant", "voicemail", "sound")
"""Audit object types whose changes change mailboxes.json (its messages are voicemail's,
its greetings sounds)."""
COLLECTOR = audit.Actor("system:voicemail")
MAX_EMAIL = 254


@dataclass(frozen=True, slots=True)
class Ingested:
    """A message filed by :func:`ingest`, with what its notices need."""

    message: VoicemailMessage
    tenant: Tenant
    user: User


def message_view(row: VoicemailMessage, extension: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "mailbox": extension,
        "caller": row.caller,
        "caller_name": row.caller_name,
        "caller_number": row.caller_number,
        "received_at": row.received_at.isoformat(),
        "duration_ms": row.duration_ms,
        "reason": row.reason,
        "heard": row.heard,
    }


async def ingest(media_dir: Path, data_dir: Path) -> list[Ingested]:
    """File every complete message of the media application's spool (``media_dir``)
    in provd's store under ``data_dir``; the ones filed now, oldest first."""
    filed: list[Ingested] = []
    for spooled, wav in spool_io.read_spool(media_dir):
        if await VoicemailMessage.filter(spool_id=spooled.id).exists():
            # Filed before a crash kept its JSON from being deleted.
            spool_io.remove(media_dir, spooled.id)
            continue
        tenant = await Tenant.get_or_none(sip_domain=spooled.domain)
        user = None
        if tenant is not None:
            user = await User.get_or_none(tenant=tenant, extension=spooled.mailbox)
        if tenant is None or user is None:
            log.error(
                "voicemail %s for %s@%s: no such mailbox; set aside in %s",
                spooled.id,
                spooled.mailbox,
                spooled.domain,
                spool_io.BAD_DIR,
            )
            spool_io.set_aside(media_dir, spooled.id)
            continue
        relative = Path(STORE_DIR) / tenant.slug / user.extension / f"{spooled.id}.wav"
        target = data_dir / relative
        if wav.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(wav, target)
        elif not target.exists():
            log.error("voicemail %s: its WAV is missing; set aside", spooled.id)
            spool_io.set_aside(media_dir, spooled.id)
            continue
        async with in_transaction():
            row = await VoicemailMessage.create(
                tenant=tenant,
                user=user,
                caller=spooled.caller[:64],
                caller_name=spooled.caller_name[:64],
                caller_number=(spooled.caller_number or None) and spooled.caller_number[:20],
                received_at=spooled.received_at,
                duration_ms=spooled.duration_ms,
                reason=spooled.reason[:32],
                spool_id=spooled.id,
                path=relative.as_posix(),
            )
            await audit.record(
                COLLECTOR,
                AuditAction.VOICEMAIL_RECEIVE,
                OBJECT,
                f"{tenant.slug}/{row.id}",
                after={**message_view(row, user.extension), "spool_id": spooled.id},
            )
        spool_io.remove(media_dir, spooled.id)
        log.info("voicemail %s filed for %s in %s", spooled.id, user.extension, tenant.slug)
        filed.append(Ingested(row, tenant, user))
    return filed


async def list_messages(tenant_slug: str, extension: str | None = None) -> list[dict[str, Any]]:
    """A tenant's messages (or one mailbox's), newest first."""
    tenant = await get_tenant(tenant_slug)
    rows = VoicemailMessage.filter(tenant=tenant)
    if extension is not None:
        user = await get_user(tenant, extension, field="user")
        rows = rows.filter(user=user)
    found = await rows.select_related("user").order_by("-received_at", "-id")
    return [message_view(r, r.user.extension) for r in found]


async def get_message(
    tenant: Tenant, message_id: int | str, *, field: str = "id"
) -> VoicemailMessage:
    try:
        number = int(message_id)
    except (TypeError, ValueError):
        raise NotFound("voicemail message", str(message_id), field=field) from None
    # Beyond the column: no such message (the ORM would refuse the look-up).
    row = None
    if 0 < number < 2**31:
        row = await VoicemailMessage.get_or_none(id=number, tenant=tenant).select_related("user")
    if row is None:
        raise NotFound("voicemail message", f"{message_id} in tenant {tenant.slug}", field=field)
    return row


async def show_message(tenant_slug: str, message_id: int | str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    row = await get_message(tenant, message_id)
    return message_view(row, row.user.extension)


async def message_audio(p: Platform, tenant_slug: str, message_id: int | str) -> Path:
    """The message's WAV file (NotFound when the file went missing)."""
    tenant = await get_tenant(tenant_slug)
    row = await get_message(tenant, message_id)
    path = p.data_dir / row.path
    if not path.is_file():
        raise NotFound("voicemail audio", f"{message_id} in tenant {tenant.slug}", field="id")
    return path


async def mark_heard(
    p: Platform, actor: audit.Actor, tenant_slug: str, message_id: int | str
) -> tuple[dict[str, Any], User]:
    """Mark a message heard; its view and its user (whose lamp may change)."""
    return await mark_stored_heard(actor, tenant_slug, message_id)


async def mark_stored_heard(
    actor: audit.Actor, tenant_slug: str, message_id: int | str
) -> tuple[dict[str, Any], User]:
    """:func:`mark_heard` without a Platform (the collector has none)."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_message(tenant, message_id)
        before = message_view(row, row.user.extension)
        row.heard = True
        await row.save(update_fields=["heard"])
        after = message_view(row, row.user.extension)
        await audit.record(
            actor,
            AuditAction.VOICEMAIL_HEARD,
            OBJECT,
            f"{tenant.slug}/{row.id}",
            before=before,
            after=after,
        )
    return after, row.user


async def remove_message(
    p: Platform, actor: audit.Actor, tenant_slug: str, message_id: int | str
) -> User:
    """Delete a message and its audio; its user (whose lamp may change)."""
    return await remove_stored(p.data_dir, actor, tenant_slug, message_id)


async def remove_stored(
    data_dir: Path, actor: audit.Actor, tenant_slug: str, message_id: int | str
) -> User:
    """:func:`remove_message` for a store under ``data_dir`` (the collector has no
    Platform)."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        row = await get_message(tenant, message_id)
        before = message_view(row, row.user.extension)
        await row.delete()
        await audit.record(
            actor, AuditAction.VOICEMAIL_REMOVE, OBJECT, f"{tenant.slug}/{row.id}", before=before
        )
    # After the commit: a failed delete leaves a row whose audio is gone otherwise.
    (data_dir / row.path).unlink(missing_ok=True)
    return row.user


async def expire(data_dir: Path, now: datetime, days: int) -> list[User]:
    """Delete messages received more than ``days`` ago (row, audit row, file); the
    users whose mailboxes changed."""
    cutoff = now - timedelta(days=days)
    old = await VoicemailMessage.filter(received_at__lt=cutoff).select_related("user", "tenant")
    users: dict[int, User] = {}
    for row in old:
        async with in_transaction():
            await row.delete()
            await audit.record(
                COLLECTOR,
                AuditAction.VOICEMAIL_EXPIRE,
                OBJECT,
                f"{row.tenant.slug}/{row.id}",
                before={**message_view(row, row.user.extension), "kept_days": days},
            )
        (data_dir / row.path).unlink(missing_ok=True)
        users[row.user.id] = row.user
    return list(users.values())


async def counts(user: User) -> tuple[int, int]:
    """The user's new (unheard) and old (heard) messages."""
    new = await VoicemailMessage.filter(user=user, heard=False).count()
    old = await VoicemailMessage.filter(user=user, heard=True).count()
    return new, old


async def notify_waiting(control: PbxControl, user: User) -> CheckSyncResult:
    """Tell the user's phones (message-summary NOTIFY) how many messages wait."""
    tenant = await Tenant.get(id=user.tenant_id)  # type: ignore[attr-defined]
    new, old = await counts(user)
    return await control.message_waiting(
        aor_for(user.extension, tenant.sip_domain), new=new, old=old
    )


async def media_mailboxes(data_dir: Path) -> dict[str, dict[str, spool_io.Mailbox]]:
    """Every user's mailbox by tenant domain, for mailboxes.json: the personal greeting,
    the PIN's hash and the messages filed under ``data_dir``, newest first (120 s
    messages, the default)."""
    tenants = {t.id: t for t in await Tenant.all()}
    people = await User.all().order_by("extension")
    wanted = {u.voicemail_greeting_id for u in people} - {None}  # type: ignore[attr-defined]
    greetings = {
        s.id: media_name(tenants[s.tenant_id], s)  # type: ignore[attr-defined]
        for s in await Sound.filter(id__in=wanted)
    }
    messages: dict[int, list[spool_io.MailboxMessage]] = {}
    for row in await VoicemailMessage.all().order_by("-received_at", "-id"):
        path = str((data_dir / row.path).absolute())
        messages.setdefault(row.user_id, []).append(  # type: ignore[attr-defined]
            spool_io.MailboxMessage(row.id, path, row.heard)
        )
    boxes: dict[str, dict[str, spool_io.Mailbox]] = {t.sip_domain: {} for t in tenants.values()}
    for user in people:
        domain = tenants[user.tenant_id].sip_domain  # type: ignore[attr-defined]
        boxes[domain][user.extension] = spool_io.Mailbox(
            greeting=greetings.get(user.voicemail_greeting_id),  # type: ignore[attr-defined]
            pin=user.voicemail_pin,
            messages=tuple(messages.get(user.id, ())),
        )
    return boxes


async def set_email(
    p: Platform, actor: audit.Actor, tenant_slug: str, extension: str, address: str | None
) -> dict[str, Any]:
    """Where copies of the user's messages are e-mailed; None (or empty) stops them."""
    cleaned = (address or "").strip() or None
    if cleaned is not None and (
        len(cleaned) > MAX_EMAIL
        or cleaned.count("@") != 1
        or any(c.isspace() or ord(c) < 32 for c in cleaned)
        or not all(cleaned.split("@"))
    ):
        raise InvalidInput("email", f"{address!r} is not an e-mail address")
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        user = await get_user(tenant, extension, field="user")
        before = {"extension": user.extension, "email": user.voicemail_email}
        user.voicemail_email = cleaned
        await user.save(update_fields=["voicemail_email"])
        after = {"extension": user.extension, "email": cleaned}
        await audit.record(
            actor,
            AuditAction.VOICEMAIL_EMAIL,
            "user",
            f"{tenant.slug}/{user.extension}",
            before=before,
            after=after,
        )
    return after


async def update_lamp(control: PbxControl | None, user: User) -> str:
    """Send the user's phones their mailbox's counts after a change; what came of it
    (``delivered``, ``not_registered``, …, ``no_pbx``, ``failed``). The change is made
    already: a PBX that is down must not turn it into an error."""
    if control is None:
        return "no_pbx"
    try:
        result = await notify_waiting(control, user)
    except Exception:
        log.exception("voicemail: the lamp NOTIFY for user %s failed", user.extension)
        return "failed"
    return result.outcome.value
