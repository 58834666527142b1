"""Announcements as provd hands them to the media application: ``announcements.json``
in its data directory, beside menus.json and replaced whole the same way::

    {"version": 1,
     "tenants": {"acme.test": {"800": {"sound": "acme/closed", "plays": 2}}}}

Tenants are keyed by SIP domain (the To domain of an ``ann-<extension>`` call); a sound
is named as menus name theirs (``<tenant slug>/<name>``). The media application answers
a listed announcement, plays its sound ``plays`` times and hangs up; an extension the
file does not list (or no file) is not found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANNOUNCEMENTS_FILE = "announcements.json"
VERSION = 1
MAX_PLAYS = 5


@dataclass(frozen=True)
class Announcement:
    sound: str
    """The sound's name (``<tenant slug>/<name>``)."""
    plays: int = 1


class AnnouncementsError(ValueError):
    """announcements.json is unreadable or not a document this version understands."""


def announcements_to_json(tenants: Mapping[str, Mapping[str, Announcement]]) -> str:
    """The document for ``tenants`` (SIP domain -> announcements by extension)."""
    doc = {
        "version": VERSION,
        "tenants": {
            domain: {ext: {"sound": a.sound, "plays": a.plays} for ext, a in sorted(items.items())}
            for domain, items in sorted(tenants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def announcements_from_json(text: str) -> dict[str, dict[str, Announcement]]:
    """SIP domain (lower case) -> announcements by extension; AnnouncementsError naming
    the fault."""
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise AnnouncementsError(f"version {doc.get('version')!r}, expected {VERSION}")
        return {
            str(domain).lower(): {str(ext): _announcement(ext, a) for ext, a in items.items()}
            for domain, items in doc["tenants"].items()
        }
    except AnnouncementsError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnnouncementsError(f"{ANNOUNCEMENTS_FILE}: {exc}") from exc


def _announcement(ext: str, doc: Mapping[str, Any]) -> Announcement:
    sound = doc["sound"]
    if not isinstance(sound, str) or not sound:
        raise AnnouncementsError(f"announcement {ext}: sound {sound!r} is not a sound name")
    plays = doc.get("plays", 1)
    if isinstance(plays, bool) or not isinstance(plays, int) or not 1 <= plays <= MAX_PLAYS:
        raise AnnouncementsError(f"announcement {ext}: plays {plays!r} is not 1 to {MAX_PLAYS}")
    return Announcement(sound=sound, plays=plays)


def write_announcements(data_dir: Path, tenants: Mapping[str, Mapping[str, Announcement]]) -> Path:
    """Replace ``announcements.json`` whole (a reader sees the old or the new one)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ANNOUNCEMENTS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(announcements_to_json(tenants))
    os.replace(tmp, path)
    return path
