"""A backup of an SQLite installation restored into a new data directory serves the same
phones the same files; what cannot be restored is refused and leaves nothing behind."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate

from provd.db.connection import database, db_url_for, tortoise_config
from provd.db.models import AuditEntry, FirmwareImage, Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.backup import Backend, Manifest
from provd.domain.errors import InvalidInput
from provd.security.secretbox import SecretBox
from provd.services import voicemail
from provd.services.backup import contents, create_backup, restore, restore_backup
from provd.services.directory import users
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.settings import load_settings, save_settings
from tests.conftest import TEST_ACTOR, TEST_SETTINGS
from tests.services.backup.fleet import (
    CONFIG,
    PASSPHRASE,
    fetch_config,
    phone_files,
    populate,
    restored_platform,
)
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a fresh machine's data directory goes: not under the source's."""
    return tmp_path_factory.mktemp("fresh")


async def test_a_restored_directory_serves_the_same_files_to_the_same_credentials(
    platform: Platform, elsewhere: Path
) -> None:
    phone = await populate(platform)
    target = elsewhere / "backup.provd"
    done = await create_backup(platform, TEST_ACTOR, target, PASSPHRASE)
    assert done.file == target and done.size == target.stat().st_size
    assert target.stat().st_mode & 0o777 == 0o600
    assert done.manifest.backend == "sqlite" and done.manifest.firmware == 1
    row = await AuditEntry.filter(action=AuditAction.BACKUP_CREATE).get()
    assert row.object_key == str(target) and row.after["sha256"] == done.sha256
    assert _listing(elsewhere) == ["backup.provd"]  # no temporary left

    restored_dir = elsewhere / "data"
    result = await restore_backup(target, PASSPHRASE, restored_dir, TEST_ACTOR)
    assert result.data_dir == restored_dir and result.manifest.schema == done.manifest.schema
    assert _listing(elsewhere) == sorted(["backup.provd", "data", *_in(restored_dir)])
    for name in ("secret.key", "provd.json"):
        assert (restored_dir / name).read_bytes() == (platform.data_dir / name).read_bytes()
    assert (restored_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert restored_dir.stat().st_mode & 0o777 == 0o700
    assert load_settings(restored_dir) == TEST_SETTINGS

    p = restored_platform(restored_dir)
    async with database(db_url_for(restored_dir)):
        last = await AuditEntry.all().order_by("-id").first()
        assert last is not None and last.action == AuditAction.BACKUP_RESTORE
        assert last.after["schema"] == done.manifest.schema
        assert await phone_files(p) == phone.files
        assert await fetch_config(p, phone.username, phone.password) == phone.files[CONFIG]
        image = await FirmwareImage.get()
        stored = restored_dir / "firmware" / image.sha256
        assert stored.stat().st_size == image.size
        assert stored.read_bytes() == (platform.data_dir / "firmware" / image.sha256).read_bytes()


def _in(directory: Path) -> list[str]:
    return [f"data/{name}" for name in _listing(directory)]


async def test_the_backup_reveals_no_secret_without_the_passphrase(
    platform: Platform, elsewhere: Path
) -> None:
    phone = await populate(platform)
    target = elsewhere / "backup.provd"
    await create_backup(platform, TEST_ACTOR, target, PASSPHRASE)
    sealed = target.read_bytes()
    key = (platform.data_dir / "secret.key").read_bytes().strip()
    for secret in (key, phone.password.encode(), b"BEGIN", b"SQLite format", b"ustar"):
        assert secret not in sealed


async def _backup(platform: Platform, directory: Path) -> Path:
    await populate(platform)
    target = directory / "backup.provd"
    await create_backup(platform, TEST_ACTOR, target, PASSPHRASE)
    return target


async def test_a_wrong_passphrase_writes_nothing(platform: Platform, elsewhere: Path) -> None:
    target = await _backup(platform, elsewhere)
    with pytest.raises(InvalidInput, match="passphrase: does not open this backup"):
        await restore_backup(target, "Wrong-Horse-9-battery", elsewhere / "data", TEST_ACTOR)
    assert _listing(elsewhere) == ["backup.provd"]


@pytest.mark.parametrize("keep", [0.2, 0.6, 0.99])
async def test_a_truncated_backup_writes_nothing(
    platform: Platform, elsewhere: Path, keep: float
) -> None:
    target = await _backup(platform, elsewhere)
    data = target.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InvalidInput, match="file: the backup is truncated"):
        await restore_backup(target, PASSPHRASE, elsewhere / "data", TEST_ACTOR)
    assert _listing(elsewhere) == ["backup.provd"]


async def test_a_damaged_backup_writes_nothing(platform: Platform, elsewhere: Path) -> None:
    target = await _backup(platform, elsewhere)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="file: the backup is corrupt: chunk 1 fails"):
        await restore_backup(target, PASSPHRASE, elsewhere / "data", TEST_ACTOR)
    assert _listing(elsewhere) == ["backup.provd"]


async def test_a_backup_of_a_newer_schema_is_refused_naming_both(
    platform: Platform, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = await _backup(platform, elsewhere)
    ours = restore.migration_names()
    monkeypatch.setattr(restore, "migration_names", lambda: ours[:-1])
    with pytest.raises(InvalidInput) as refused:
        await restore_backup(target, PASSPHRASE, elsewhere / "data", TEST_ACTOR)
    message = str(refused.value)
    assert f"schema is {ours[-1]}, newer than this provd's (its last is {ours[-2]})" in message
    assert _listing(elsewhere) == ["backup.provd"]


@pytest.mark.slow  # migrates the schema back one migration, and forward in restore
async def test_an_older_schema_is_migrated_to_this_provds(
    migrated_db: Path, tmp_path: Path, elsewhere: Path
) -> None:
    older, newest = restore.migration_names()[-2], restore.migration_names()[-1]
    source = tmp_path / "older"
    source.mkdir()
    shutil.copy(migrated_db, source / "provd.sqlite3")
    save_settings(source, TEST_SETTINGS)
    url = db_url_for(source)
    await migrate(config=tortoise_config(url), target=f"models.{older}", direction="backward")
    await Tortoise.close_connections()
    async with database(url):
        p = Platform(source, TEST_SETTINGS, SecretBox.load_or_create(source))
        await create_backup(p, TEST_ACTOR, elsewhere / "backup.provd", PASSPHRASE)

    result = await restore_backup(
        elsewhere / "backup.provd", PASSPHRASE, elsewhere / "data", TEST_ACTOR
    )
    assert result.manifest.schema == older and result.schema == newest
    with sqlite3.connect(elsewhere / "data" / "provd.sqlite3") as conn:
        applied = {name for (name,) in conn.execute("SELECT name FROM tortoise_migrations")}
    assert applied == set(restore.migration_names())


async def test_a_non_empty_target_is_refused_unless_forced(
    platform: Platform, elsewhere: Path
) -> None:
    target = await _backup(platform, elsewhere)
    occupied = elsewhere / "data"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput, match=r"data_dir: .* is not empty: .* --force"):
        await restore_backup(target, PASSPHRASE, occupied, TEST_ACTOR)
    assert _listing(occupied) == ["notes.txt"]

    await restore_backup(target, PASSPHRASE, occupied, TEST_ACTOR, force=True)
    assert not (occupied / "notes.txt").exists() and (occupied / "secret.key").is_file()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["backup.provd", "data"]


async def test_an_empty_target_directory_is_restored_into(
    platform: Platform, elsewhere: Path
) -> None:
    target = await _backup(platform, elsewhere)
    (elsewhere / "data").mkdir()
    await restore_backup(target, PASSPHRASE, elsewhere / "data", TEST_ACTOR)
    assert (elsewhere / "data" / "provd.sqlite3").is_file()


async def test_a_backup_is_not_written_over_a_file_unless_forced(
    platform: Platform, elsewhere: Path
) -> None:
    target = elsewhere / "backup.provd"
    target.write_text("an older backup")
    with pytest.raises(InvalidInput, match=r"file: .* exists: .* --force"):
        await create_backup(platform, TEST_ACTOR, target, PASSPHRASE)
    assert target.read_text() == "an older backup"
    await create_backup(platform, TEST_ACTOR, target, PASSPHRASE, force=True)
    assert target.read_bytes().startswith(b"PROVDBAK")


async def test_a_weak_passphrase_is_refused_before_anything_is_written(
    platform: Platform, elsewhere: Path
) -> None:
    with pytest.raises(InvalidInput, match="passphrase: is too short"):
        await create_backup(platform, TEST_ACTOR, elsewhere / "b.provd", "hunter2")
    assert _listing(elsewhere) == []
    assert not await AuditEntry.filter(action=AuditAction.BACKUP_CREATE).exists()


async def test_a_backup_file_inside_the_target_it_would_replace_is_refused(
    platform: Platform, elsewhere: Path
) -> None:
    target = await _backup(platform, elsewhere)
    inside = elsewhere / "data"
    inside.mkdir()
    os.rename(target, inside / target.name)
    with pytest.raises(InvalidInput, match=r"is inside .* which a restore replaces"):
        await restore_backup(inside / target.name, PASSPHRASE, inside, TEST_ACTOR, force=True)
    assert _listing(inside) == ["backup.provd"]


async def test_the_admins_certificate_named_in_the_settings_comes_along(
    platform: Platform, elsewhere: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    etc = tmp_path_factory.mktemp("etc")
    (etc / "chain.pem").write_text("-----BEGIN CERTIFICATE-----\nchain\n")
    (etc / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nkey\n")
    os.chmod(etc / "key.pem", 0o600)
    platform.settings = dataclasses.replace(
        TEST_SETTINGS, tls_cert=str(etc / "chain.pem"), tls_key=str(etc / "key.pem")
    )
    save_settings(platform.data_dir, platform.settings)
    await create_backup(platform, TEST_ACTOR, elsewhere / "backup.provd", PASSPHRASE)
    restored = elsewhere / "data"
    await restore_backup(elsewhere / "backup.provd", PASSPHRASE, restored, TEST_ACTOR)

    settings = load_settings(restored)
    assert settings.tls_cert == str(restored / "tls" / "cert.pem")
    assert settings.tls_key == str(restored / "tls" / "key.pem")
    assert Path(settings.tls_cert).read_bytes() == (etc / "chain.pem").read_bytes()
    assert Path(settings.tls_key).read_bytes() == (etc / "key.pem").read_bytes()
    assert Path(settings.tls_key).stat().st_mode & 0o777 == 0o600


async def test_a_certificate_the_settings_name_but_is_missing_is_refused(
    platform: Platform, elsewhere: Path
) -> None:
    platform.settings = dataclasses.replace(
        TEST_SETTINGS, tls_cert="/nonexistent/chain.pem", tls_key="/nonexistent/key.pem"
    )
    with pytest.raises(InvalidInput, match=r"tls_cert: /nonexistent/chain\.pem is named"):
        await create_backup(platform, TEST_ACTOR, elsewhere / "backup.provd", PASSPHRASE)
    assert _listing(elsewhere) == []


async def test_the_menus_sounds_come_along_and_an_upload_in_progress_does_not(
    platform: Platform, elsewhere: Path
) -> None:
    await sounds.add_sound(platform, TEST_ACTOR, "default", "welcome", tone_wav(0.1))
    stored = platform.data_dir / "sounds" / "default" / "welcome.wav"
    (stored.parent / ".upload-x.wav").write_bytes(b"half")
    await create_backup(platform, TEST_ACTOR, elsewhere / "backup.provd", PASSPHRASE)
    restored = elsewhere / "data"
    await restore_backup(elsewhere / "backup.provd", PASSPHRASE, restored, TEST_ACTOR)
    assert sorted(p.name for p in (restored / "sounds" / "default").iterdir()) == ["welcome.wav"]
    assert (restored / "sounds" / "default" / "welcome.wav").read_bytes() == stored.read_bytes()
    async with database(db_url_for(restored)):
        assert [s["name"] for s in await sounds.list_sounds("default")] == ["welcome"]


@pytest.mark.parametrize(
    ("member", "allowed"),
    [
        ("data/sounds/default/welcome.wav", True),
        ("data/sounds/acme-1/v2.intro.wav", True),
        ("data/sounds/default/../../secret.key.wav", False),
        ("data/sounds/../welcome.wav", False),
        ("data/sounds/default/.upload-1.wav", False),
        ("data/sounds/default/welcome.mp3", False),
        ("data/sounds/default/a/b.wav", False),
    ],
)
def test_a_restore_writes_only_sound_members_inside_the_sounds_folder(
    member: str, allowed: bool
) -> None:
    manifest = Manifest("0", "2026-01-01", Backend.SQLITE, "0018", {})
    assert contents.allowed(member, manifest) is allowed


async def test_voicemail_recordings_come_along(platform: Platform, elsewhere: Path) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Reception")
    media = platform.data_dir / "pbx" / "media"
    domain = (await Tenant.get(slug="default")).sip_domain
    spool_message(media, domain, "201", wav=tone_wav(0.1))
    [filed] = await voicemail.ingest(media, platform.data_dir)
    await create_backup(platform, TEST_ACTOR, elsewhere / "backup.provd", PASSPHRASE)
    restored = elsewhere / "data"
    await restore_backup(elsewhere / "backup.provd", PASSPHRASE, restored, TEST_ACTOR)
    stored = platform.data_dir / filed.message.path
    assert (restored / filed.message.path).read_bytes() == stored.read_bytes()
    async with database(db_url_for(restored)):
        assert [m["id"] for m in await voicemail.list_messages("default")] == [filed.message.id]


@pytest.mark.parametrize(
    ("member", "allowed"),
    [
        ("data/voicemail/default/201/20261207T161000-0123456789ab.wav", True),
        ("data/voicemail/default/201/../../secret.key.wav", False),
        ("data/voicemail/default/201/20261207T161000-0123456789ab.json", False),
        ("data/voicemail/default/x/20261207T161000-0123456789ab.wav", False),
    ],
)
def test_a_restore_writes_only_recordings_inside_the_voicemail_folder(
    member: str, allowed: bool
) -> None:
    manifest = Manifest("0", "2026-01-01", Backend.SQLITE, "0019", {})
    assert contents.allowed(member, manifest) is allowed
