"""What a backup holds besides the database, and where each part lives in the archive.

Kept: what a fresh machine needs to serve the same configurations to the same phones
over the same TLS: the settings, the secret key (it opens every sealed secret in the
database), provd's CA and server certificate with their keys (phones trust that CA),
the admin's certificate and key when the settings name them (``tls_cert``,
``tls_key``), the PBX secrets (an external Kamailio's configuration carries them),
every firmware image the catalogue names, the IVR menus' sounds and the voicemail
recordings.

Left out, as ``serve`` makes them again: Kamailio's own tables, in their SQLite file or
in provd's PostgreSQL database (registrations phones renew, subscribers derived from
provd's users), the PBX's generated configuration and runtime record, lock files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from provd.domain.backup import MANIFEST, Backend, Manifest, Table
from provd.domain.errors import InvalidInput
from provd.firmware.store import STORE_DIR
from provd.pbx.settings import PBX_DIR
from provd.security.secretbox import KEY_FILE
from provd.security.tls import CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY
from provd.services.menus.sounds import SOUNDS_DIR
from provd.services.voicemail import STORE_DIR as VOICEMAIL_DIR
from provd.services.voicemail.spool_io import MESSAGE_ID
from provd.settings import SETTINGS_FILE, Settings

DATA = "data"
TLS = "tls"
DB = "db"
SQLITE_MEMBER = f"{DB}/provd.sqlite3"
PBX_SECRETS = f"{PBX_DIR}/secrets.json"

REQUIRED_FILES = (SETTINGS_FILE, KEY_FILE)
OPTIONAL_FILES = (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY, PBX_SECRETS)
ADMIN_TLS = {"tls_cert": f"{TLS}/cert.pem", "tls_key": f"{TLS}/key.pem"}
"""The admin's certificate and key, by the setting that names them; restored into the
data directory under the same relative names (the settings are pointed there)."""

_DIGEST = re.compile(r"[0-9a-f]{64}")
# A sound as provd.services.menus.sounds keeps it: a tenant's slug, then the sound's
# name (neither with a slash nor led by a dot, so no member leaves the directory).
_SOUND = re.compile(
    rf"{DATA}/{SOUNDS_DIR}/[a-z0-9](?:[a-z0-9-]{{0,38}}[a-z0-9])?/[A-Za-z0-9_][A-Za-z0-9_.-]*\.wav"
)
# A voicemail recording as provd.services.voicemail keeps it: a tenant's slug, the
# user's extension, the message's spool id.
_VOICEMAIL = re.compile(
    rf"{DATA}/{VOICEMAIL_DIR}/[a-z0-9](?:[a-z0-9-]{{0,38}}[a-z0-9])?/[0-9]{{2,5}}/"
    rf"{MESSAGE_ID.pattern}\.wav"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The database as backed up: its schema, the firmware images it catalogues and,
    on PostgreSQL, the tables dumped."""

    schema: str
    firmware: tuple[str, ...]
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """A file to put into the archive under ``member``."""

    member: str
    path: Path


def data_files(data_dir: Path, settings: Settings) -> list[Source]:
    """The data directory's files a backup holds, the firmware store excepted."""
    found = []
    for name in REQUIRED_FILES:
        if not (data_dir / name).is_file():
            raise InvalidInput("data_dir", f"{data_dir} has no {name}: is it initialised?")
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        if (data_dir / name).is_file():
            found.append(Source(f"{DATA}/{name}", data_dir / name))
    for setting, member in ADMIN_TLS.items():
        value = getattr(settings, setting)
        if value:
            if not Path(value).is_file():
                raise InvalidInput(setting, f"{value} is named in the settings but missing")
            found.append(Source(member, Path(value)))
    return found


def firmware_files(data_dir: Path, digests: Iterable[str]) -> list[Source]:
    """The store's files of the images the database catalogues. Taken after the
    database's snapshot: an image's file is stored before its row is written and never
    removed once it has one, so each is there; a file whose import is still running
    has no row in the snapshot and is not taken."""
    store = data_dir / STORE_DIR
    found = []
    for digest in sorted(set(digests)):
        path = store / digest
        if not path.is_file():
            raise InvalidInput(
                "firmware", f"image {digest} is in the catalogue but its file {path} is missing"
            )
        found.append(Source(f"{DATA}/{STORE_DIR}/{digest}", path))
    return found


def sound_files(data_dir: Path) -> list[Source]:
    """The sounds' WAV files there are (an upload's temporary file is not one)."""
    root = data_dir / SOUNDS_DIR
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("*/*.wav")):
        member = f"{DATA}/{SOUNDS_DIR}/{path.parent.name}/{path.name}"
        if path.is_file() and _SOUND.fullmatch(member):
            found.append(Source(member, path))
    return found


def voicemail_files(data_dir: Path) -> list[Source]:
    """The voicemail recordings there are."""
    root = data_dir / VOICEMAIL_DIR
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("*/*/*.wav")):
        member = f"{DATA}/{VOICEMAIL_DIR}/{path.parent.parent.name}/{path.parent.name}/{path.name}"
        if path.is_file() and _VOICEMAIL.fullmatch(member):
            found.append(Source(member, path))
    return found


def table_member(table: str) -> str:
    return f"{DB}/{table}.copy"


def firmware_digest(member: str) -> str | None:
    """The SHA-256 a firmware member must have, or None for any other member."""
    parts = PurePosixPath(member).parts
    if len(parts) == 3 and parts[:2] == (DATA, STORE_DIR) and _DIGEST.fullmatch(parts[2]):
        return parts[2]
    return None


def allowed(member: str, manifest: Manifest) -> bool:
    """Whether a restore may write ``member``: only names a backup is made of, which
    also keeps every path inside the directory it is restored into."""
    if member == MANIFEST:
        return False
    if member in {f"{DATA}/{n}" for n in (*REQUIRED_FILES, *OPTIONAL_FILES)}:
        return True
    if member in ADMIN_TLS.values() or firmware_digest(member) is not None:
        return True
    if _SOUND.fullmatch(member) or _VOICEMAIL.fullmatch(member):
        return True
    if manifest.backend is Backend.SQLITE:
        return member == SQLITE_MEMBER
    return member in {table_member(t.name) for t in manifest.tables}
