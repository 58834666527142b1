"""A backup of a PostgreSQL installation restored into another database and data directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from provd.db.connection import database, upgrade_schema
from provd.db.models import AuditEntry
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import InvalidInput
from provd.security.secretbox import SecretBox
from provd.services.backup import create_backup, restore_backup
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.settings import load_settings, save_settings
from tests.conftest import TEST_ACTOR, TEST_SETTINGS
from tests.pg import create_database
from tests.services.backup.fleet import (
    CONFIG,
    PASSPHRASE,
    fetch_config,
    phone_files,
    populate,
    restored_platform,
)


async def test_a_postgresql_backup_restores_into_an_empty_database(
    tmp_path: Path, postgres_server: str
) -> None:
    source_url = create_database(postgres_server, "provd_backup_source")
    source = tmp_path / "source"
    source.mkdir(mode=0o700)
    settings = dataclasses.replace(TEST_SETTINGS, db_url=source_url)
    save_settings(source, settings)
    await upgrade_schema(source_url)
    async with database(source_url):
        p = Platform(source, settings, SecretBox.load_or_create(source))
        await tenants.add_tenant(p, TEST_ACTOR, tenants.DEFAULT_TENANT)
        phone = await populate(p)
        done = await create_backup(p, TEST_ACTOR, tmp_path / "backup.provd", PASSPHRASE)
    assert done.manifest.backend == "postgres" and done.manifest.firmware == 1
    names = [t.name for t in done.manifest.tables]
    assert {"tenant", "user", "device", "tortoise_migrations"} <= set(names)
    assert names.index("tenant") < names.index("user") < names.index("device_line")

    with pytest.raises(InvalidInput, match=r"PostgreSQL database .* give --db"):
        await restore_backup(tmp_path / "backup.provd", PASSPHRASE, tmp_path / "x", TEST_ACTOR)
    assert not (tmp_path / "x").exists()

    target_url = create_database(postgres_server, "provd_backup_target")
    restored = tmp_path / "restored"
    await restore_backup(
        tmp_path / "backup.provd", PASSPHRASE, restored, TEST_ACTOR, db_url=target_url
    )
    assert load_settings(restored).db_url == target_url
    p = restored_platform(restored)
    async with database(target_url):
        last = await AuditEntry.all().order_by("-id").first()
        assert last is not None and last.action == AuditAction.BACKUP_RESTORE
        assert await phone_files(p) == phone.files
        assert await fetch_config(p, phone.username, phone.password) == phone.files[CONFIG]
        # The id sequences go on after the restored rows.
        await users.add_user(p, TEST_ACTOR, "default", "202", "Back Office")

    # The database now holds provd's tables: another restore into it is refused first.
    with pytest.raises(InvalidInput, match=r"db: the database already has provd's tables"):
        await restore_backup(
            tmp_path / "backup.provd", PASSPHRASE, tmp_path / "again", TEST_ACTOR, db_url=target_url
        )
    assert not (tmp_path / "again").exists()
    await restore_backup(
        tmp_path / "backup.provd",
        PASSPHRASE,
        tmp_path / "again",
        TEST_ACTOR,
        db_url=target_url,
        force=True,
    )
    async with database(target_url):
        assert [u.extension for u, _ in await users.list_users("default")] == ["201"]
