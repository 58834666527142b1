"""Users' mailboxes as provd hands them to the media application: ``mailboxes.json``
in its data directory, beside menus.json and replaced whole the same way::

    {"version": 1,
     "tenants": {"acme.test": {"2001": {"greeting": "acme/vm-2001", "max_seconds": 120}}}}

Tenants are keyed by SIP domain (the To domain of a ``vm-<extension>`` call); a greeting
names a sound as menus do, null for none. A mailbox the file does not list, or no file
at all, takes the defaults: a caller can always leave a message, the file only says
what they hear first and for how long they may speak.
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
class Mailbox:
    greeting: str | None = None
    """The personal greeting's sound name (``<tenant slug>/<name>``); None: none."""
    max_seconds: int = DEFAULT_MAX_SECONDS
    """The longest message kept; the recording stops there."""


class MailboxesError(ValueError):
    """mailboxes.json is unreadable or not a document this version understands."""


def mailboxes_to_json(tenants: Mapping[str, Mapping[str, Mailbox]]) -> str:
    """The document for ``tenants`` (SIP domain -> mailboxes by extension)."""
    doc = {
        "version": VERSION,
        "tenants": {
            domain: {
                ext: {"greeting": box.greeting, "max_seconds": box.max_seconds}
                for ext, box in sorted(boxes.items())
            }
            for domain, boxes in sorted(tenants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


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
    return Mailbox(greeting=greeting, max_seconds=max_seconds)


def write_mailboxes(data_dir: Path, tenants: Mapping[str, Mapping[str, Mailbox]]) -> Path:
    """Replace ``mailboxes.json`` whole (a reader sees the old or the new one)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MAILBOXES_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(mailboxes_to_json(tenants))
    os.replace(tmp, path)
    return path
