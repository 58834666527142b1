"""What the media application plays, as provd hands it over: ``menus.json``,
``mailboxes.json`` (provd.media.mailboxes), ``announcements.json``
(provd.media.announcements) and the sounds directory, all in the media application's
data directory.

provd writes ``menus.json`` whole (a temporary file renamed over the old one) when a
menu changes; the media application reads it again when its modification time
changed, at the next call, so a call always sees one version whole. The document::

    {"version": 1,
     "tenants": {"acme.test": {"700": {"greeting": "acme/day", "timeout_s": 5,
                                        "max_attempts": 3, "invalid_sound": null,
                                        "has_default": true, "dial_length": 4,
                                        "keys": {"1": {"action": "transfer"},
                                                 "2": {"action": "submenu", "menu": "701"},
                                                 "0": {"action": "repeat"},
                                                 "#": {"action": "hang_up"},
                                                 "*": {"action": "dial_extension"}}}}}}

Tenants are keyed by SIP domain (the To domain Kamailio gives a menu's call). Sounds
are ``<sounds dir>/<name>.wav``, 8 kHz mono 16-bit (provd converts uploads), read once
and kept until the file changes; the sounds directory is provd's own store (``serve``
passes ``--sounds``), ``<data dir>/sounds`` by default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from provd.domain import ivr
from provd.media import sounds
from provd.media.announcements import (
    ANNOUNCEMENTS_FILE,
    Announcement,
    announcements_from_json,
)
from provd.media.mailboxes import MAILBOXES_FILE, Mailbox, mailboxes_from_json

MENUS_FILE = "menus.json"
SOUNDS_DIR = "sounds"
VERSION = 1

_ACTIONS: dict[str, type[ivr.Transfer | ivr.Repeat | ivr.HangUp | ivr.DialByExtension]] = {
    "transfer": ivr.Transfer,
    "repeat": ivr.Repeat,
    "hang_up": ivr.HangUp,
    "dial_extension": ivr.DialByExtension,
}


class CatalogueError(ValueError):
    """menus.json is unreadable or not a document this version understands."""


def menus_to_json(tenants: Mapping[str, Mapping[str, ivr.Menu]]) -> str:
    """The document for ``tenants`` (SIP domain -> menus by extension)."""
    doc = {
        "version": VERSION,
        "tenants": {
            domain: {ext: _menu_json(menu) for ext, menu in sorted(menus.items())}
            for domain, menus in sorted(tenants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _menu_json(menu: ivr.Menu) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for key, action in sorted(menu.keys.items()):
        if isinstance(action, ivr.Submenu):
            keys[key] = {"action": "submenu", "menu": action.extension}
        else:
            name = next(n for n, kind in _ACTIONS.items() if isinstance(action, kind))
            keys[key] = {"action": name}
    return {
        "greeting": menu.greeting,
        "timeout_s": menu.timeout_s,
        "max_attempts": menu.max_attempts,
        "invalid_sound": menu.invalid_sound,
        "has_default": menu.has_default,
        "dial_length": menu.dial_length,
        "keys": keys,
    }


def menus_from_json(text: str) -> dict[str, dict[str, ivr.Menu]]:
    """SIP domain -> menus by extension; CatalogueError naming what is wrong."""
    try:
        doc = json.loads(text)
        if doc.get("version") != VERSION:
            raise CatalogueError(f"version {doc.get('version')!r}, expected {VERSION}")
        return {
            str(domain): {str(ext): _menu(ext, m) for ext, m in menus.items()}
            for domain, menus in doc["tenants"].items()
        }
    except CatalogueError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CatalogueError(f"{MENUS_FILE}: {exc}") from exc


def _menu(ext: str, doc: Mapping[str, Any]) -> ivr.Menu:
    keys: dict[str, ivr.KeyAction] = {}
    for key, action in doc["keys"].items():
        name = action["action"]
        if name == "submenu":
            keys[key] = ivr.Submenu(str(action["menu"]))
        elif name in _ACTIONS:
            keys[key] = _ACTIONS[name]()
        else:
            raise CatalogueError(f"menu {ext} key {key}: unknown action {name!r}")
    return ivr.Menu(
        extension=ext,
        greeting=str(doc["greeting"]),
        keys=keys,
        timeout_s=int(doc["timeout_s"]),
        max_attempts=int(doc["max_attempts"]),
        invalid_sound=doc.get("invalid_sound"),
        has_default=bool(doc["has_default"]),
        dial_length=int(doc.get("dial_length", 5)),
    )


def write_menus(data_dir: Path, tenants: Mapping[str, Mapping[str, ivr.Menu]]) -> Path:
    """Replace ``menus.json`` whole (a reader sees the old or the new one)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MENUS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(menus_to_json(tenants))
    os.replace(tmp, path)
    return path


_T = TypeVar("_T")


class _Watched(Generic[_T]):
    """A document provd replaces whole, parsed again when its mtime or size changed."""

    def __init__(self, path: Path, parse: Callable[[str], _T], missing: Callable[[], _T]) -> None:
        self.path = path
        self._parse = parse
        self._missing = missing
        self._value = missing()
        self._stamp: tuple[int, int] | None = None

    def get(self) -> _T:
        """The parsed document (``missing()`` when there is no file); a parse error is
        raised and the next call tries the file again."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._value, self._stamp = self._missing(), None
            return self._value
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._value = self._parse(self.path.read_text())
            self._stamp = stamp
        return self._value


class Catalogue:
    """The menus, mailboxes, announcements and sounds of a data directory, read again
    when their files change."""

    def __init__(self, data_dir: Path, sounds_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.sounds_dir = sounds_dir if sounds_dir is not None else data_dir / SOUNDS_DIR
        self._menus: _Watched[dict[str, dict[str, ivr.Menu]]] = _Watched(
            data_dir / MENUS_FILE, menus_from_json, dict
        )
        self._mailboxes: _Watched[dict[str, dict[str, Mailbox]]] = _Watched(
            data_dir / MAILBOXES_FILE, mailboxes_from_json, dict
        )
        self._announcements: _Watched[dict[str, dict[str, Announcement]]] = _Watched(
            data_dir / ANNOUNCEMENTS_FILE, announcements_from_json, dict
        )
        self._sounds: dict[str, tuple[tuple[int, int], bytes]] = {}
        self._frames: dict[tuple[str, str], tuple[bytes, list[bytes]]] = {}
        self._files: dict[tuple[str, str], tuple[tuple[int, int], list[bytes]]] = {}

    def menus(self, domain: str) -> Mapping[str, ivr.Menu]:
        """The tenant's menus (none when the file is missing)."""
        return self._menus.get().get(domain.lower(), {})

    def mailbox(self, domain: str, extension: str) -> Mailbox:
        """The mailbox's settings, the defaults when the file does not list it;
        mailboxes.MailboxesError when the file is broken."""
        return self._mailboxes.get().get(domain.lower(), {}).get(extension, Mailbox())

    def announcement(self, domain: str, extension: str) -> Announcement | None:
        """The tenant's announcement at ``extension`` (None when not listed);
        announcements.AnnouncementsError when the file is broken."""
        return self._announcements.get().get(domain.lower(), {}).get(extension)

    def sound(self, name: str) -> bytes:
        """A sound's PCM (16-bit, 8 kHz, mono); sounds.PromptError when unusable."""
        path = self.sounds_dir / f"{name}.wav"
        if ".." in Path(name).parts:
            raise sounds.PromptError(f"{name}: not a sound name")
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._sounds.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        pcm = sounds.read_prompt(path)
        self._sounds[name] = (stamp, pcm)
        return pcm

    def file_frames(self, path: Path, codec: str) -> list[bytes]:
        """A WAV of the data directory (music on hold) as frames, cached like sounds;
        FileNotFoundError when it is not there."""
        key = (f"file:{path}", codec)
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._files.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        pcm = sounds.read_prompt(path)
        encoded = sounds.frames(pcm, codec) if pcm else []
        self._files[key] = (stamp, encoded)
        return encoded

    def frames(self, name: str, codec: str) -> list[bytes]:
        """A sound as 20 ms frames in ``codec``, encoded once for every call that plays
        it (encoding a long greeting per answered call cost 31 ms of CPU each and a copy
        per call: bench/README.md, media application)."""
        pcm = self.sound(name)
        key = (name, codec)
        cached = self._frames.get(key)
        if cached is not None and cached[0] is pcm:
            return cached[1]
        encoded = sounds.frames(pcm, codec) if pcm else []
        self._frames[key] = (pcm, encoded)
        return encoded
