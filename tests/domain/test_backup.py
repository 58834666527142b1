"""A backup's manifest, the passphrase rule and what this provd agrees to restore."""

from __future__ import annotations

import json

import pytest

from provd.domain.backup import (
    Backend,
    Manifest,
    Table,
    backend_of,
    check_passphrase,
    check_restorable,
    last_migration,
)
from provd.domain.errors import InvalidInput

MIGRATIONS = ["0001_initial", "0002_layouts_network", "0010_call_handling"]


def _manifest(schema: str = "0002_layouts_network", backend: Backend = Backend.SQLITE) -> Manifest:
    return Manifest(
        provd_version="0.1.0",
        created_at="2026-01-02T03:04:05+00:00",
        backend=backend,
        schema=schema,
        members={"data/provd.json": 400, "db/provd.sqlite3": 4096},
        tables=(Table("tenant", ("id", "slug")),) if backend is Backend.POSTGRES else (),
        firmware=0,
    )


@pytest.mark.parametrize(
    "passphrase",
    ["correct horse battery staple", "Tr0ub4dor&3xy", "a1!b2@c3#d4$", "ÄÖÜ-äöü-ßẞ-1234"],
)
def test_a_strong_passphrase_is_accepted(passphrase: str) -> None:
    assert check_passphrase(passphrase) == passphrase


@pytest.mark.parametrize(
    ("passphrase", "why"),
    [
        ("", "is empty"),
        ("Sh0rt!", "too short: 6 characters, at least 12"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaa", "repeats a few characters"),
        ("abababcdcdcdefef", "three of lower-case"),
        ("lowercaseonly1", "three of lower-case"),
    ],
)
def test_a_weak_passphrase_is_refused_saying_why(passphrase: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as refused:
        check_passphrase(passphrase)
    assert refused.value.field == "passphrase"


def test_the_manifest_reads_back_what_it_wrote() -> None:
    for backend in Backend:
        m = _manifest(backend=backend)
        assert Manifest.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"format": 1}',
        json.dumps({**json.loads(_manifest().to_json()), "backend": "mysql"}).encode(),
        json.dumps({**json.loads(_manifest().to_json()), "schema": "latest"}).encode(),
        json.dumps({**json.loads(_manifest().to_json()), "members": {"a": "big"}}).encode(),
    ],
)
def test_an_unreadable_manifest_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        Manifest.from_json(raw)
    assert refused.value.field in ("file", "schema")


def test_a_newer_format_is_refused_naming_both() -> None:
    raw = json.dumps({**json.loads(_manifest().to_json()), "format": 2}).encode()
    with pytest.raises(InvalidInput, match=r"format 2, written by provd 0.1.0; .* reads format 1"):
        Manifest.from_json(raw)


def test_an_older_or_equal_schema_is_restorable() -> None:
    check_restorable(_manifest("0001_initial"), MIGRATIONS, Backend.SQLITE)
    check_restorable(_manifest("0010_call_handling"), MIGRATIONS, Backend.SQLITE)


def test_a_newer_schema_is_refused_naming_both_versions() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_restorable(_manifest("0011_night_switch_right"), MIGRATIONS, Backend.SQLITE)
    message = str(refused.value)
    assert "0011_night_switch_right, newer than this provd's" in message
    assert "0010_call_handling" in message and "\n" not in message


def test_a_schema_this_provd_never_had_is_refused() -> None:
    with pytest.raises(InvalidInput, match="0005_elsewhere, not one of the migrations"):
        check_restorable(_manifest("0005_elsewhere"), MIGRATIONS, Backend.SQLITE)


def test_a_backup_restores_into_its_own_backend_only() -> None:
    with pytest.raises(InvalidInput, match=r"PostgreSQL database .* give --db") as refused:
        check_restorable(_manifest(backend=Backend.POSTGRES), MIGRATIONS, Backend.SQLITE)
    assert refused.value.field == "db"
    with pytest.raises(InvalidInput, match=r"SQLite database .* leave out --db"):
        check_restorable(_manifest(), MIGRATIONS, Backend.POSTGRES)


def test_backends_and_migrations_by_name() -> None:
    assert backend_of("sqlite:///srv/provd/provd.sqlite3") is Backend.SQLITE
    assert backend_of("postgres://u:p@db/provd?minsize=1") is Backend.POSTGRES
    with pytest.raises(InvalidInput, match="mysql:// databases cannot be backed up"):
        backend_of("mysql://db/provd")
    assert last_migration(["0002_b", "0010_c", "0001_a"]) == "0010_c"
    with pytest.raises(InvalidInput, match="no migration applied"):
        last_migration([])
