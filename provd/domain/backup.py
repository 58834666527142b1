"""What a backup is: its manifest, the passphrase rule, and whether this provd can restore it.

A backup is one encrypted file holding a tar: ``manifest.json`` first, then the data
directory's files, the firmware store and the database. The manifest says which
provd wrote it, when, from which database backend and at which schema (the last
migration applied), and lists every other member with its size, so a restore knows
what it must find before it writes anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from provd.domain.errors import InvalidInput

FORMAT = 1
"""The manifest's format; a restore refuses a newer one."""
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 4 * 1024**2

PASSPHRASE_MIN = 12
_PASSPHRASE_LONG = 20
_PASSPHRASE_DISTINCT = 6
_POSTGRES_SCHEMES = ("postgres", "postgresql", "asyncpg", "psycopg")
_MIGRATION = re.compile(r"(\d{4})_\w+")


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"

    @property
    def label(self) -> str:
        return "SQLite" if self is Backend.SQLITE else "PostgreSQL"


def backend_of(db_url: str) -> Backend:
    scheme = db_url.split("://", 1)[0]
    if scheme == "sqlite":
        return Backend.SQLITE
    if scheme in _POSTGRES_SCHEMES:
        return Backend.POSTGRES
    raise InvalidInput("db", f"{scheme}:// databases cannot be backed up: SQLite or PostgreSQL")


def check_passphrase(passphrase: str) -> str:
    """A passphrase strong enough to guard everything, the secret key included.

    Whoever holds the file can try passphrases offline, at the key derivation's cost
    each: 12 characters at least, and below 20 three kinds of character.
    """
    if not passphrase:
        raise InvalidInput("passphrase", "is empty")
    if len(passphrase) < PASSPHRASE_MIN:
        raise InvalidInput(
            "passphrase", f"is too short: {len(passphrase)} characters, at least {PASSPHRASE_MIN}"
        )
    if len(set(passphrase)) < _PASSPHRASE_DISTINCT:
        raise InvalidInput("passphrase", "is too weak: it repeats a few characters")
    kinds = sum(
        any(test(c) for c in passphrase)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if len(passphrase) < _PASSPHRASE_LONG and kinds < 3:
        raise InvalidInput(
            "passphrase",
            f"is too weak: under {_PASSPHRASE_LONG} characters it needs three of lower-case, "
            "upper-case, digits and other characters",
        )
    return passphrase


def is_migration(name: str) -> bool:
    return _MIGRATION.fullmatch(name) is not None


def migration_number(name: str) -> int:
    match = _MIGRATION.fullmatch(name)
    if match is None:
        raise InvalidInput("schema", f"{name!r} is not a migration name")
    return int(match[1])


def last_migration(names: Sequence[str]) -> str:
    """The newest of the migrations applied (they are numbered in order)."""
    if not names:
        raise InvalidInput("schema", "the database has no migration applied")
    return max(names, key=migration_number)


@dataclass(frozen=True, slots=True)
class Table:
    """A PostgreSQL table as dumped: its columns in the order of the dump's rows."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    provd_version: str
    created_at: str
    """ISO 8601, UTC."""
    backend: Backend
    schema: str
    """The last migration applied to the database backed up."""
    members: Mapping[str, int]
    """Every other member of the archive, with its size in bytes."""
    tables: tuple[Table, ...] = ()
    """PostgreSQL only: the tables dumped, in an order their foreign keys allow."""
    format: int = FORMAT
    firmware: int = 0
    """How many firmware files the backup holds."""

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "format": self.format,
            "provd_version": self.provd_version,
            "created_at": self.created_at,
            "backend": self.backend.value,
            "schema": self.schema,
            "firmware": self.firmware,
            "members": dict(self.members),
            "tables": [{"name": t.name, "columns": list(t.columns)} for t in self.tables],
        }
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The manifest as written by :meth:`to_json`; anything else is a corrupt backup."""
        try:
            data = json.loads(raw)
            fmt = int(data["format"])
            if fmt > FORMAT:
                raise InvalidInput(
                    "file",
                    f"the backup is in format {fmt}, written by provd {data.get('provd_version')};"
                    f" this provd reads format {FORMAT}",
                )
            members = {str(k): int(v) for k, v in dict(data["members"]).items()}
            tables = tuple(
                Table(str(t["name"]), tuple(str(c) for c in t["columns"])) for t in data["tables"]
            )
            manifest = cls(
                provd_version=str(data["provd_version"]),
                created_at=str(data["created_at"]),
                backend=Backend(data["backend"]),
                schema=str(data["schema"]),
                members=members,
                tables=tables,
                format=fmt,
                firmware=int(data.get("firmware", 0)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InvalidInput("file", "the backup's manifest is unreadable") from None
        migration_number(manifest.schema)
        return manifest


def check_restorable(manifest: Manifest, migrations: Sequence[str], backend: Backend) -> None:
    """Refuse what this provd cannot restore: a schema its migrations do not reach, or a
    backup of another backend (a backup restores into the kind of database it came from)."""
    ours = last_migration(migrations)
    if manifest.schema not in migrations:
        newer = migration_number(manifest.schema) > migration_number(ours)
        why = "newer than" if newer else "not one of the migrations of"
        raise InvalidInput(
            "file",
            f"the backup's database schema is {manifest.schema}, {why} this provd's "
            f"(its last is {ours}): restore it with provd {manifest.provd_version} or later",
        )
    if manifest.backend is not backend:
        hint = (
            "give --db postgres://… to restore it into PostgreSQL"
            if manifest.backend is Backend.POSTGRES
            else "leave out --db to restore it into the data directory's SQLite file"
        )
        raise InvalidInput(
            "db",
            f"the backup is of a {manifest.backend.label} database and restores into "
            f"{manifest.backend.label} only: {hint}",
        )
