"""Users' mailboxes as provd hands them to the media application: ``mailboxes.json``
in its data directory, beside menus.json and replaced whole the same way::

    {"version": 1,
     "tenants": {"acme.test": {"2001": {
         "greeting": "acme/vm-2001", "max_seconds": 120,
         "pin": "pbkdf2_sha256$100000$<salt hex>$<digest hex>",
         "messages": [{"id": 12, "path": "/var/lib/provd/voicemail/acme/2001/….wav",
                       "heard": false}]}}}}

Tenants are keyed by SIP domain (the To domain of a ``vm-<extension>`` or
``vmbox-<extension>`` call); a greeting names a sound as menus do, null for none. A
mailbox the file does not list, or no file at all, takes the defaults: a caller can
always leave a message, the file only says what they hear first and for how long they
may speak.

``pin`` and ``messages`` are for the user's own call (``*1233``, provd.media.
voicemail_access): the PIN's hash as provd.domain.voicemail_pin stores it (null: none
set, the mailbox stays shut) and the messages provd filed, newest first, each with its
id in provd's database and its WAV's absolute path. Both may be absent (none). The
file holds PIN hashes, so it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAILBOXES_FILE = "mailboxes.json"
VERSION = 1
DEFAULT_MAX_SECONDS = 120


@dataclass(frozen=True)
class MailboxMessage:
    id: int
    """The message's id in provd's database: what the media application reports."""
    path: str
    """The WAV's absolute path."""
    heard: bool


@dataclass(frozen=True)
class Mailbox:
    greeting: str | None = None
    """The personal greeting's sound name (``<tenant slug>/<name>``); None: none."""
    max_seconds: int = DEFAULT_MAX_SECONDS
    """The longest message kept; the recording stops there."""
    pin: str | None = None
    """The PIN's stored hash (provd.domain.voicemail_pin); None: no PIN, no access."""
    messages: tuple[MailboxMessage, ...] = ()
    """Newest first."""


class MailboxesError(ValueError):
    """mailboxes.json is unreadable or not a document this version understands."""


def mailboxes_to_json(tenants: Mapping[str, Mapping[str, Mailbox]]) -> str:
    """The document for ``tenants`` (SIP domain -> mailboxes by extension)."""
    doc = {
        "version": VERSION,
        "tenants": {
            domain: {ext: _mailbox_json(box) for ext, box in sorted(boxes.items())}
            for domain, boxes in sorted(tenants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _mailbox_json(box: Mailbox) -> dict[str, Any]:
    return {
        "greeting": box.greeting,
        "max_seconds": box.max_seconds,
        "pin": box.pin,
        "messages": [{"id": m.id, "path": m.path, "heard": m.heard} for m in box.messages],
    }


def mailboxes_from_json(text: str) -> dict[str, dict[str, Mailbox]]:
    """SIP domain (lower case) -> mailboxes by extension; MailboxesError naming the fault."""
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise MailboxesError(f"version {doc.get('version')!r}, expected {VERSION}")
        return {
            str(domain).lower(): {str(ext): _mailbox(ext, box) for ext, box in boxes.items()}
            for domain, boxes in doc["tenants"].items()
        }
    except MailboxesError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MailboxesError(f"{MAILBOXES_FILE}: {exc}") from exc


def _mailbox(ext: str, doc: Mapping[str, Any]) -> Mailbox:
    greeting = doc.get("greeting")
    if greeting is not None and not isinstance(greeting, str):
        raise MailboxesError(f"mailbox {ext}: greeting {greeting!r} is not a sound name")
    max_seconds = int(doc.get("max_seconds", DEFAULT_MAX_SECONDS))
    if max_seconds <= 0:
        raise MailboxesError(f"mailbox {ext}: max_seconds {max_seconds} is not positive")
    pin = doc.get("pin")
    if pin is not None and not isinstance(pin, str):
        raise MailboxesError(f"mailbox {ext}: pin is not a stored PIN hash")
    messages = tuple(_message(ext, m) for m in doc.get("messages") or ())
    return Mailbox(greeting=greeting, max_seconds=max_seconds, pin=pin, messages=messages)


def _message(ext: str, doc: Mapping[str, Any]) -> MailboxMessage:
    number, path, heard = doc["id"], doc["path"], doc["heard"]
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise MailboxesError(f"mailbox {ext}: message id {number!r} is not a positive number")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise MailboxesError(f"mailbox {ext}: message {number}'s path is not absolute")
    if not isinstance(heard, bool):
        raise MailboxesError(f"mailbox {ext}: message {number}'s heard is not true or false")
    return MailboxMessage(number, path, heard)


def write_mailboxes(data_dir: Path, tenants: Mapping[str, Mapping[str, Mailbox]]) -> Path:
    """Replace ``mailboxes.json`` whole (a reader sees the old or the new one)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MAILBOXES_FILE
    tmp = path.with_suffix(".tmp")
    # PIN hashes: for the owner's eyes only, from the first byte written.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(mailboxes_to_json(tenants))
    os.chmod(tmp, 0o600)  # a .tmp left over from before kept its own mode
    os.replace(tmp, path)
    return path
