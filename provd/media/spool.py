"""The voicemail spool: messages the media application recorded, until provd collects
them. In the data directory, ``voicemail/new/<id>.wav`` (8 kHz mono 16-bit PCM, the
caller's audio) and then ``<id>.json``::

    {"version": 1, "domain": "acme.test", "mailbox": "2001",
     "caller": "0612345678", "caller_name": "Jan Jansen", "caller_number": "+31612345678",
     "received_at": "2026-12-07T16:10:00Z", "duration_ms": 4180, "call_id": "...",
     "reason": "user-busy"}

The JSON is written last and renamed into place, so a message is complete exactly when
its .json exists: a crash while recording leaves at most a .wav that is never listed.
provd moves the .wav away and then removes the .json; a crash in between lists the
message again (its .wav gone), which provd's ingestion by id makes harmless.

An id is ``<UTC yyyymmddTHHMMSS>-<12 hex>``; the hex starts with the microseconds (5
digits) so that ids sort in the order they were taken, and ends with 7 random digits so
that two processes never take the same one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provd.media import sounds

log = logging.getLogger(__name__)

SPOOL_DIR = "voicemail/new"
BAD_DIR = "voicemail/bad"
"""Where a .json that does not parse is moved (with its .wav) for someone to look at."""
VERSION = 1

_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{12}")
_PCM_BYTES_PER_MS = sounds.SAMPLE_RATE * 2 // 1000


@dataclass(frozen=True)
class SpooledMessage:
    id: str
    domain: str
    """The tenant's SIP domain."""
    mailbox: str
    """The extension whose mailbox it is."""
    caller: str
    """The number the caller showed (From user); empty when anonymous."""
    caller_name: str
    caller_number: str | None
    """The caller's E.164 number as the PBX asserted it, None when not known."""
    received_at: datetime
    """When the recording started, UTC, to the second."""
    duration_ms: int
    call_id: str
    reason: str
    """Why the call came to the mailbox (the Diversion reason), empty when not forwarded."""


def new_id(now: datetime) -> str:
    """A fresh message id for ``now`` (aware or UTC)."""
    now = now.astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{now.microsecond:05x}{secrets.randbits(28):07x}"


def write_message(
    data_dir: Path,
    *,
    domain: str,
    mailbox: str,
    caller: str,
    caller_name: str,
    caller_number: str | None,
    call_id: str,
    reason: str,
    pcm16: bytes,
    received_at: datetime | None = None,
) -> SpooledMessage:
    """Spool a message: the WAV, flushed to disk, then its JSON renamed into place."""
    now = (received_at or datetime.now(UTC)).astimezone(UTC)
    message = SpooledMessage(
        id=new_id(now),
        domain=domain,
        mailbox=mailbox,
        caller=caller,
        caller_name=caller_name,
        caller_number=caller_number,
        received_at=now.replace(microsecond=0),
        duration_ms=len(pcm16) // _PCM_BYTES_PER_MS,
        call_id=call_id,
        reason=reason,
    )
    spool = data_dir / SPOOL_DIR
    spool.mkdir(parents=True, exist_ok=True)
    wav = spool / f"{message.id}.wav"
    sounds.write_wav(wav, pcm16)
    _sync(wav)
    tmp = spool / f".{message.id}.json.tmp"
    tmp.write_text(json.dumps(_to_json(message), indent=1, sort_keys=True) + "\n")
    _sync(tmp)
    os.replace(tmp, spool / f"{message.id}.json")
    return message


def _sync(path: Path) -> None:
    # The JSON must never be on disk before the audio it announces.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _to_json(message: SpooledMessage) -> dict[str, Any]:
    return {
        "version": VERSION,
        "domain": message.domain,
        "mailbox": message.mailbox,
        "caller": message.caller,
        "caller_name": message.caller_name,
        "caller_number": message.caller_number,
        "received_at": message.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_ms": message.duration_ms,
        "call_id": message.call_id,
        "reason": message.reason,
    }


def _from_json(message_id: str, text: str) -> SpooledMessage:
    doc = json.loads(text)
    if doc["version"] != VERSION:
        raise ValueError(f"version {doc['version']!r}, expected {VERSION}")
    received_at = datetime.fromisoformat(doc["received_at"])
    if received_at.tzinfo is None:
        raise ValueError(f"received_at {doc['received_at']!r} has no time zone")
    caller_number = doc["caller_number"]
    strings = ("domain", "mailbox", "caller", "caller_name", "call_id", "reason")
    for name in strings:
        if not isinstance(doc[name], str):
            raise ValueError(f"{name} is not a string")
    if caller_number is not None and not isinstance(caller_number, str):
        raise ValueError("caller_number is neither a string nor null")
    duration_ms = doc["duration_ms"]
    if not isinstance(duration_ms, int) or duration_ms < 0:
        raise ValueError(f"duration_ms {duration_ms!r} is not a count of milliseconds")
    return SpooledMessage(
        id=message_id,
        domain=doc["domain"],
        mailbox=doc["mailbox"],
        caller=doc["caller"],
        caller_name=doc["caller_name"],
        caller_number=caller_number,
        received_at=received_at.astimezone(UTC),
        duration_ms=duration_ms,
        call_id=doc["call_id"],
        reason=doc["reason"],
    )


def read_spool(data_dir: Path) -> list[tuple[SpooledMessage, Path]]:
    """The complete messages, oldest first, each with its .wav's path (which may be gone
    when a collection was cut short after moving it). A .json that does not parse is
    moved to ``voicemail/bad`` and logged."""
    spool = data_dir / SPOOL_DIR
    if not spool.is_dir():
        return []
    found: list[tuple[SpooledMessage, Path]] = []
    for path in spool.glob("*.json"):
        message_id = path.stem
        try:
            if not _ID.fullmatch(message_id):
                raise ValueError("the file name is not a message id")
            message = _from_json(message_id, path.read_text())
        except FileNotFoundError:
            continue  # removed while we looked
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            log.error("voicemail %s is unreadable, moved to %s: %s", path.name, BAD_DIR, exc)
            _set_aside(data_dir, path)
            continue
        found.append((message, spool / f"{message_id}.wav"))
    found.sort(key=lambda entry: (entry[0].received_at, entry[0].id))
    return found


MESSAGE_ID = _ID
"""``<UTC yyyymmddTHHMMSS>-<12 hex>``: a message's id, the name of its files."""


def set_aside(data_dir: Path, message_id: str) -> None:
    """Move a message to ``voicemail/bad`` (provd has no mailbox for it): kept for an
    operator to look at rather than deleting a caller's words."""
    if not _ID.fullmatch(message_id):
        raise ValueError(f"{message_id!r} is not a message id")
    _set_aside(data_dir, data_dir / SPOOL_DIR / f"{message_id}.json")


def _set_aside(data_dir: Path, path: Path) -> None:
    bad = data_dir / BAD_DIR
    bad.mkdir(parents=True, exist_ok=True)
    for part in (path, path.with_suffix(".wav")):
        with contextlib.suppress(FileNotFoundError):
            os.replace(part, bad / part.name)


def remove(data_dir: Path, message_id: str) -> None:
    """Forget a collected message: its .json (it is no longer listed), then any .wav."""
    if not _ID.fullmatch(message_id):
        raise ValueError(f"{message_id!r} is not a message id")
    spool = data_dir / SPOOL_DIR
    (spool / f"{message_id}.json").unlink(missing_ok=True)
    (spool / f"{message_id}.wav").unlink(missing_ok=True)
