"""Sounds: the recordings a tenant's IVR menus play, converted on upload to what the
media application plays (8 kHz mono 16-bit PCM WAV).

An upload in any format ffmpeg reads (WAV, MP3, OGG, …) is converted by ffmpeg run as
a child process with a time limit; what it cannot read, an empty upload, one over
:data:`MAX_UPLOAD` bytes and one longer than :data:`MAX_DURATION_MS` are refused with
nothing stored. The WAV is a file of the data directory, ``sounds/<tenant>/<name>.wav``
(:func:`sound_file`), written under a temporary name and renamed into place; its row
holds the name, duration and size. A sound a menu, an announcement or a mailbox plays,
or one of the tenant's music on hold, cannot be removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import struct
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Announcement, Menu, Queue, Sound, Tenant, User
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform

OBJECT = "sound"
SOUNDS_DIR = "sounds"
"""Under the data directory: one folder per tenant (its slug)."""
MAX_UPLOAD = 20 * 1024 * 1024
MAX_DURATION_MS = 10 * 60 * 1000
MAX_NAME = 64
RATE = 8000
SAMPLE_BYTES = 2
FFMPEG = "ffmpeg"
FFMPEG_TIMEOUT_S = 120.0
"""Ten minutes of MP3 decode in a few seconds; the limit only stops a stuck process."""
# One segment of provd.domain.ivr's sound-name rule: the name is the file's, so no
# slash and no leading dot.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Stops ffmpeg a little past the limit, so a long upload is refused without converting
# all of it.
_DECODE_LIMIT_S = MAX_DURATION_MS / 1000 + 1


def check_sound_name(name: str, *, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(field, "must not be empty")
    name = name.strip()
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise InvalidInput(
            field,
            f"{name!r} is not a sound name: letters, digits, _ . and -, not starting with"
            f" . or -, at most {MAX_NAME} characters",
        )
    return name


def media_name(tenant: Tenant, sound: Sound) -> str:
    """The sound as provd.domain.ivr's menus name it: ``<tenant slug>/<name>``."""
    return f"{tenant.slug}/{sound.name}"


def sound_file(data_dir: Path, name: str) -> Path:
    """The WAV of a sound named as the media application's menus name it (:func:`media_name`)."""
    return data_dir / SOUNDS_DIR / f"{name}.wav"


def _path(p: Platform, tenant: Tenant, name: str) -> Path:
    return p.data_dir / SOUNDS_DIR / tenant.slug / f"{name}.wav"


@dataclass(frozen=True, slots=True)
class Converted:
    wav: bytes
    duration_ms: int


async def convert(data: bytes, *, field: str = "file") -> Converted:
    """``data`` in any format ffmpeg reads, as 8 kHz mono 16-bit PCM WAV; InvalidInput
    naming ``field`` for what is empty, too large, unreadable or too long."""
    if not data:
        raise InvalidInput(field, "is empty")
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(field, f"is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    try:
        process = await asyncio.create_subprocess_exec(
            FFMPEG,
            *("-hide_banner", "-loglevel", "error", "-i", "pipe:0", "-t", f"{_DECODE_LIMIT_S:g}"),
            *("-ac", "1", "-ar", str(RATE), "-sample_fmt", "s16", "-f", "wav", "pipe:1"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        # The machine's fault, not the upload's: a logged 500 names the fix.
        raise RuntimeError(
            f"{FFMPEG} is not installed (scripts/install-system-deps installs it)"
        ) from None
    try:
        out, err = await asyncio.wait_for(process.communicate(data), FFMPEG_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise InvalidInput(field, "took too long to convert") from None
    except BrokenPipeError:
        # ffmpeg gave up before reading all of it (not audio); its status says so below.
        out, err = b"", b""
        await process.wait()
    if process.returncode != 0:
        first = err.decode(errors="replace").strip().splitlines()[:1]
        detail = f" ({first[0][:200]})" if first else ""
        raise InvalidInput(field, f"is not audio that can be read{detail}")
    pcm = _pcm(out)
    if pcm is None:
        raise InvalidInput(field, "is not audio that can be read")
    frames = len(pcm) // SAMPLE_BYTES
    if frames == 0:
        raise InvalidInput(field, "holds no sound")
    duration_ms = frames * 1000 // RATE
    if duration_ms > MAX_DURATION_MS:
        raise InvalidInput(field, f"is longer than {MAX_DURATION_MS // 60_000} minutes")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_BYTES)
        w.setframerate(RATE)
        w.writeframes(pcm[: frames * SAMPLE_BYTES])
    return Converted(buffer.getvalue(), duration_ms)


def _pcm(wav: bytes) -> bytes | None:
    """The samples of ffmpeg's WAV. Written to a pipe, ffmpeg cannot go back to fill in
    the sizes in its header, so the data chunk runs to the end whatever it says."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return None
    at = 12
    while at + 8 <= len(wav):
        chunk, size = wav[at : at + 4], struct.unpack("<I", wav[at + 4 : at + 8])[0]
        if chunk == b"data":
            return wav[at + 8 :]
        at += 8 + size + (size & 1)
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


async def write_sound_file(data_dir: Path, tenant: Tenant, name: str, wav: bytes) -> None:
    """Put a sound's WAV (already 8 kHz mono 16-bit) in place under ``data_dir``, whole
    or not at all; last in the caller's transaction, as :func:`add_sound` does."""
    path = data_dir / SOUNDS_DIR / tenant.slug / f"{check_sound_name(name)}.wav"
    await asyncio.to_thread(_write_atomically, path, wav)


def sound_view(sound: Sound, tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant": tenant.slug,
        "name": sound.name,
        "duration_ms": sound.duration_ms,
        "size": sound.size,
        "created_at": sound.created_at.isoformat(),
    }


async def get_sound(tenant: Tenant, name: str, *, field: str = "name") -> Sound:
    try:
        valid = check_sound_name(name, field=field)
    except InvalidInput:
        raise NotFound("sound", f"{name} in tenant {tenant.slug}", field=field) from None
    sound = await Sound.get_or_none(tenant=tenant, name=valid)
    if sound is None:
        raise NotFound("sound", f"{name} in tenant {tenant.slug}", field=field)
    return sound


async def list_sounds(tenant_slug: str | None = None) -> list[dict[str, Any]]:
    """Every sound (of one tenant, if named), by tenant and name."""
    query = Sound.all().select_related("tenant").order_by("tenant__slug", "name")
    if tenant_slug is not None:
        query = query.filter(tenant=await get_tenant(tenant_slug))
    return [sound_view(s, s.tenant) for s in await query]


async def show_sound(tenant_slug: str, name: str) -> dict[str, Any]:
    tenant = await get_tenant(tenant_slug)
    return sound_view(await get_sound(tenant, name), tenant)


async def sound_audio(p: Platform, tenant_slug: str, name: str) -> Path:
    """The stored WAV of a sound."""
    tenant = await get_tenant(tenant_slug)
    sound = await get_sound(tenant, name)
    path = _path(p, tenant, sound.name)
    if not path.is_file():
        raise NotFound("sound file", f"{name} in tenant {tenant.slug}", field="name")
    return path


async def add_sound(
    p: Platform, actor: audit.Actor, tenant_slug: str, name: str, data: bytes, filename: str = ""
) -> dict[str, Any]:
    """Convert ``data`` (``filename`` is only recorded) and store it as ``name``."""
    name = check_sound_name(name)
    tenant = await get_tenant(tenant_slug)
    if await Sound.filter(tenant=tenant, name=name).exists():
        raise Conflict("name", f"sound {name} already exists in {tenant.slug}")
    converted = await convert(data)
    path = _path(p, tenant, name)
    async with in_transaction():
        # Checked again: another upload of the name may have finished while this one
        # converted.
        if await Sound.filter(tenant=tenant, name=name).exists():
            raise Conflict("name", f"sound {name} already exists in {tenant.slug}")
        sound = await Sound.create(
            tenant=tenant, name=name, duration_ms=converted.duration_ms, size=len(converted.wav)
        )
        view = sound_view(sound, tenant)
        await audit.record(
            actor,
            AuditAction.SOUND_ADD,
            OBJECT,
            f"{tenant.slug}/{name}",
            after={**view, "uploaded_as": filename[:200]},
        )
        # Last in the transaction: a failed write rolls the row back.
        await asyncio.to_thread(_write_atomically, path, converted.wav)
    return view


async def remove_sound(p: Platform, actor: audit.Actor, tenant_slug: str, name: str) -> None:
    """Remove a sound and its file; refused while a menu, an announcement, a queue, a
    mailbox or the tenant's music on hold plays it."""
    tenant = await get_tenant(tenant_slug)
    async with in_transaction():
        sound = await get_sound(tenant, name)
        uses = await sound_uses(sound)
        if uses:
            raise InvalidInput(
                "name", f"sound {sound.name} is in use by {'; '.join(uses)}; change those first"
            )
        before = sound_view(sound, tenant)
        await sound.delete()
        await audit.record(
            actor, AuditAction.SOUND_REMOVE, OBJECT, f"{tenant.slug}/{sound.name}", before=before
        )
    _path(p, tenant, sound.name).unlink(missing_ok=True)


async def sound_uses(sound: Sound) -> list[str]:
    """The menus, announcements, queues, mailboxes and music on hold that play ``sound``,
    described for a refusal."""
    found = []
    tenant_id = sound.tenant_id  # type: ignore[attr-defined]
    for menu in await Menu.filter(tenant_id=tenant_id).order_by("extension"):
        if menu.greeting_id == sound.id:  # type: ignore[attr-defined]
            found.append(f"menu {menu.extension}'s greeting")
        if menu.invalid_sound_id == sound.id:  # type: ignore[attr-defined]
            found.append(f"menu {menu.extension}'s invalid sound")
    announcements = Announcement.filter(tenant_id=tenant_id, sound_id=sound.id)
    for extension in await announcements.order_by("extension").values_list("extension", flat=True):
        found.append(f"announcement {extension}")
    tenant = await Tenant.get(id=tenant_id)
    if sound.id in (tenant.moh_playlist or []):
        found.append("the music on hold")
    for user in await User.filter(voicemail_greeting_id=sound.id).order_by("extension"):
        found.append(f"user {user.extension}'s voicemail greeting")
    for queue in await Queue.filter(tenant_id=tenant_id).order_by("extension"):
        for role in ("moh", "intro", "periodic"):
            if getattr(queue, f"{role}_id") == sound.id:
                found.append(f"queue {queue.extension}'s {_QUEUE_SOUND_ROLES[role]}")
    return found


_QUEUE_SOUND_ROLES = {
    "moh": "music on hold",
    "intro": "introduction",
    "periodic": "periodic message",
}
