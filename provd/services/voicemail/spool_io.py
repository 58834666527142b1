"""The media application's files that voicemail reads and writes: its spool of new
messages (``voicemail/new/`` in its data directory) and mailboxes.json, in the formats
provd and provd-media agreed on for voicemail.

provd.media.spool and provd.media.mailboxes own these formats; this module holds the
few calls provd makes to them, written against the same contract, so that swapping
in theirs is a change of this module only:

- ``read_spool(data_dir)`` → complete messages, oldest first (a message is complete
  when its ``<id>.json`` exists: the media application writes it after the WAV); a
  JSON that does not parse is moved to ``voicemail/bad/`` and logged;
- ``remove(data_dir, id)`` → the message's JSON (and WAV, if still there) deleted;
- ``set_aside(data_dir, id)`` → both moved to ``voicemail/bad/`` (no mailbox for it);
- ``write_mailboxes(data_dir, tenants)`` → mailboxes.json replaced whole.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("provd.voicemail")

SPOOL_DIR = "voicemail/new"
BAD_DIR = "voicemail/bad"
MAILBOXES_FILE = "mailboxes.json"
DEFAULT_MAX_SECONDS = 120
MESSAGE_ID = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{12}")
"""``<UTC yyyymmddTHHMMSS>-<12 hex>``: it names provd's stored file too."""


@dataclass(frozen=True)
class SpooledMessage:
    id: str
    domain: str
    mailbox: str
    caller: str
    caller_name: str
    caller_number: str | None
    received_at: datetime
    duration_ms: int
    call_id: str
    reason: str


@dataclass(frozen=True)
class Mailbox:
    greeting: str | None = None
    max_seconds: int = DEFAULT_MAX_SECONDS


def wav_path(data_dir: Path, message_id: str) -> Path:
    return data_dir / SPOOL_DIR / f"{message_id}.wav"


def _parse(path: Path) -> SpooledMessage:
    if not MESSAGE_ID.fullmatch(path.stem):
        raise ValueError("not a message id")
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise ValueError("not a version 1 spooled message")
    received = datetime.fromisoformat(str(raw["received_at"]).replace("Z", "+00:00"))
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    number = raw.get("caller_number")
    duration = raw["duration_ms"]
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise ValueError(f"duration_ms {duration!r}")
    return SpooledMessage(
        id=path.stem,
        domain=str(raw["domain"]),
        mailbox=str(raw["mailbox"]),
        caller=str(raw.get("caller") or ""),
        caller_name=str(raw.get("caller_name") or ""),
        caller_number=str(number) if number else None,
        received_at=received,
        duration_ms=duration,
        call_id=str(raw.get("call_id") or ""),
        reason=str(raw.get("reason") or ""),
    )


def read_spool(data_dir: Path) -> list[tuple[SpooledMessage, Path]]:
    """Complete messages and their WAVs, oldest first (ids start with their UTC time)."""
    spool = data_dir / SPOOL_DIR
    if not spool.is_dir():
        return []
    found: list[tuple[SpooledMessage, Path]] = []
    for path in sorted(spool.glob("*.json")):
        try:
            message = _parse(path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.error("voicemail spool: %s is not a message (%s); moved to %s", path, e, BAD_DIR)
            _move_aside(data_dir, path)
            continue
        found.append((message, wav_path(data_dir, message.id)))
    return found


def remove(data_dir: Path, message_id: str) -> None:
    for suffix in (".json", ".wav"):
        (data_dir / SPOOL_DIR / f"{message_id}{suffix}").unlink(missing_ok=True)


def set_aside(data_dir: Path, message_id: str) -> None:
    """Keep a message provd cannot file (an unknown mailbox) out of the spool, for an
    operator to look at, rather than deleting a caller's words."""
    for suffix in (".wav", ".json"):
        path = data_dir / SPOOL_DIR / f"{message_id}{suffix}"
        if path.exists():
            _move_aside(data_dir, path)


def _move_aside(data_dir: Path, path: Path) -> None:
    bad = data_dir / BAD_DIR
    bad.mkdir(parents=True, exist_ok=True)
    os.replace(path, bad / path.name)


def mailboxes_to_json(tenants: Mapping[str, Mapping[str, Mailbox]]) -> str:
    return json.dumps(
        {
            "version": 1,
            "tenants": {
                domain: {
                    ext: {"greeting": box.greeting, "max_seconds": box.max_seconds}
                    for ext, box in sorted(boxes.items())
                }
                for domain, boxes in sorted(tenants.items())
            },
        },
        indent=1,
    )


def write_mailboxes(data_dir: Path, tenants: Mapping[str, Mapping[str, Mailbox]]) -> Path:
    """Replaced whole (temp file and rename): the media application never reads half."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / MAILBOXES_FILE
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".mailboxes-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(mailboxes_to_json(tenants))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
