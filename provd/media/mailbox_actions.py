"""What a user did in their own mailbox from the phone (``*1233``), until provd applies
it. The media application cannot change provd's database; it leaves these in its data
directory, beside the message spool (provd.media.spool), and provd's collector applies
them through the voicemail services (audited, as the user) and deletes them:

* ``voicemail/actions/<id>.json``, a message heard or deleted::

      {"version": 1, "domain": "acme.test", "mailbox": "2001", "action": "delete",
       "message": 12, "at": "2026-12-07T16:10:00Z"}

  ``message`` is the id mailboxes.json gave (provd's own).
* ``voicemail/greetings/<id>.wav`` (8 kHz mono 16-bit PCM) and then ``<id>.json``, a
  greeting the user recorded, to become their personal greeting::

      {"version": 1, "domain": "acme.test", "mailbox": "2001", "duration_ms": 4180,
       "at": "2026-12-07T16:10:00Z"}

Each JSON is written last and renamed into place, as the message spool's are: an action
or greeting exists exactly when its .json does. Ids are the spool's
(provd.media.spool.new_id): they sort in the order the user did things. A .json that
does not parse is moved to ``voicemail/bad`` with its .wav.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from provd.media import sounds
from provd.media.spool import BAD_DIR, MESSAGE_ID, new_id

log = logging.getLogger(__name__)

ACTIONS_DIR = "voicemail/actions"
GREETINGS_DIR = "voicemail/greetings"
VERSION = 1

Action = Literal["heard", "delete"]
_ACTIONS: tuple[Action, ...] = ("heard", "delete")


@dataclass(frozen=True)
class MailboxAction:
    id: str
    domain: str
    mailbox: str
    action: Action
    message: int
    at: datetime


@dataclass(frozen=True)
class SpooledGreeting:
    id: str
    domain: str
    mailbox: str
    duration_ms: int
    at: datetime


def write_action(
    data_dir: Path,
    *,
    domain: str,
    mailbox: str,
    action: Action,
    message: int,
    at: datetime | None = None,
) -> MailboxAction:
    now = (at or datetime.now(UTC)).astimezone(UTC)
    done = MailboxAction(new_id(now), domain, mailbox, action, message, now.replace(microsecond=0))
    doc = {**_head(done.domain, done.mailbox, done.at), "action": action, "message": message}
    _write_json(data_dir / ACTIONS_DIR, done.id, doc)
    return done


def write_greeting(
    data_dir: Path, *, domain: str, mailbox: str, pcm16: bytes, at: datetime | None = None
) -> SpooledGreeting:
    """The WAV, flushed to disk, then its JSON renamed into place."""
    now = (at or datetime.now(UTC)).astimezone(UTC)
    duration_ms = len(pcm16) * 1000 // (2 * sounds.SAMPLE_RATE)
    greeting = SpooledGreeting(
        new_id(now), domain, mailbox, duration_ms, now.replace(microsecond=0)
    )
    folder = data_dir / GREETINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / f"{greeting.id}.wav"
    sounds.write_wav(wav, pcm16)
    _sync(wav)
    doc = {**_head(domain, mailbox, greeting.at), "duration_ms": duration_ms}
    _write_json(folder, greeting.id, doc)
    return greeting


def read_actions(data_dir: Path) -> list[MailboxAction]:
    """The complete actions in the order they were done."""
    found = [_action(name, doc) for name, doc in _read_folder(data_dir, ACTIONS_DIR, _check_action)]
    return sorted(found, key=lambda a: a.id)


def read_greetings(data_dir: Path) -> list[tuple[SpooledGreeting, Path]]:
    """The complete greetings, oldest first, each with its .wav's path."""
    folder = data_dir / GREETINGS_DIR
    found = [
        (_greeting(name, doc), folder / f"{name}.wav")
        for name, doc in _read_folder(data_dir, GREETINGS_DIR, _check_greeting)
    ]
    return sorted(found, key=lambda g: g[0].id)


def remove_action(data_dir: Path, action_id: str) -> None:
    _check_id(action_id)
    (data_dir / ACTIONS_DIR / f"{action_id}.json").unlink(missing_ok=True)


def remove_greeting(data_dir: Path, greeting_id: str) -> None:
    """Forget an applied greeting: its .json, then any .wav left."""
    _check_id(greeting_id)
    folder = data_dir / GREETINGS_DIR
    (folder / f"{greeting_id}.json").unlink(missing_ok=True)
    (folder / f"{greeting_id}.wav").unlink(missing_ok=True)


def set_aside_greeting(data_dir: Path, greeting_id: str) -> None:
    """Move a greeting provd cannot apply to ``voicemail/bad`` for someone to look at."""
    _check_id(greeting_id)
    _set_aside(data_dir, data_dir / GREETINGS_DIR / f"{greeting_id}.json")


# ---- the files --------------------------------------------------------------------------


def _head(domain: str, mailbox: str, at: datetime) -> dict[str, Any]:
    return {
        "version": VERSION,
        "domain": domain,
        "mailbox": mailbox,
        "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _write_json(folder: Path, name: str, doc: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    _sync(tmp)
    os.replace(tmp, folder / f"{name}.json")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_id(name: str) -> None:
    if not MESSAGE_ID.fullmatch(name):
        raise ValueError(f"{name!r} is not an id of the voicemail spool")


def _read_folder(
    data_dir: Path, folder_name: str, check: Callable[[dict[str, Any]], None]
) -> list[tuple[str, dict[str, Any]]]:
    folder = data_dir / folder_name
    if not folder.is_dir():
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for path in folder.glob("*.json"):
        try:
            _check_id(path.stem)
            doc = json.loads(path.read_text())
            if not isinstance(doc, dict) or doc.get("version") != VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {VERSION}")
            for name in ("domain", "mailbox", "at"):
                if not isinstance(doc.get(name), str):
                    raise ValueError(f"{name} is not a string")
            if datetime.fromisoformat(doc["at"]).tzinfo is None:
                raise ValueError(f"at {doc['at']!r} has no time zone")
            check(doc)
        except FileNotFoundError:
            continue  # removed while we looked
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            log.error("voicemail %s is unreadable, moved to %s: %s", path.name, BAD_DIR, exc)
            _set_aside(data_dir, path)
            continue
        found.append((path.stem, doc))
    return found


def _check_action(doc: dict[str, Any]) -> None:
    if doc.get("action") not in _ACTIONS:
        raise ValueError(f"action {doc.get('action')!r} is not one of {', '.join(_ACTIONS)}")
    message = doc.get("message")
    if isinstance(message, bool) or not isinstance(message, int) or message <= 0:
        raise ValueError(f"message {message!r} is not a message id")


def _check_greeting(doc: dict[str, Any]) -> None:
    duration = doc.get("duration_ms")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise ValueError(f"duration_ms {duration!r} is not a count of milliseconds")


def _action(name: str, doc: dict[str, Any]) -> MailboxAction:
    at = datetime.fromisoformat(doc["at"]).astimezone(UTC)
    return MailboxAction(name, doc["domain"], doc["mailbox"], doc["action"], doc["message"], at)


def _greeting(name: str, doc: dict[str, Any]) -> SpooledGreeting:
    at = datetime.fromisoformat(doc["at"]).astimezone(UTC)
    return SpooledGreeting(name, doc["domain"], doc["mailbox"], doc["duration_ms"], at)


def _set_aside(data_dir: Path, path: Path) -> None:
    bad = data_dir / BAD_DIR
    bad.mkdir(parents=True, exist_ok=True)
    for part in (path, path.with_suffix(".wav")):
        with contextlib.suppress(FileNotFoundError):
            os.replace(part, bad / part.name)
