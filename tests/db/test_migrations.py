"""The migrations describe the models exactly, and upgrading keeps data."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.recorder import MigrationRecorder

from provd.db import connection
from provd.db.connection import (
    database,
    db_url_for,
    migration_names,
    tortoise_config,
    upgrade_schema,
)
from provd.db.models import Tenant


async def test_models_have_no_changes_without_a_migration(tmp_path: Path) -> None:
    url = db_url_for(tmp_path)
    config = tortoise_config(url)
    async with database(url):
        changes = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
    assert changes == [], "models changed: write a migration (see README, Development)"


async def test_upgrade_is_idempotent_and_keeps_rows(tmp_path: Path, migrated_db: Path) -> None:
    # migrated_db is a fresh file upgraded once by upgrade_schema; this upgrades it again.
    shutil.copy(migrated_db, tmp_path / "provd.sqlite3")
    url = db_url_for(tmp_path)
    async with database(url):
        await Tenant.create(
            slug="keep",
            name="Keep",
            sip_domain="keep.test",
            bootstrap_username="bootstrap-keep",
            bootstrap_password_enc=b"x",
        )
    await upgrade_schema(url)
    async with database(url):
        assert await Tenant.filter(slug="keep").exists()
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "provd.sqlite3").execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"tenant", "user", "device", "device_line", "api_token", "audit_entry"} <= tables


@pytest.mark.slow  # a chain of migrations over a populated database
async def test_call_handling_columns_are_added_to_a_table_that_holds_users(
    tmp_path: Path,
) -> None:
    """A NOT NULL column added to rows that exist needs a database default: without one
    SQLite and PostgreSQL both refuse the ALTER and the upgrade stops."""
    url = db_url_for(tmp_path)
    config = tortoise_config(url)
    await migrate(config=config, direction="forward", target="models.0009_routing_identity")
    await Tortoise.close_connections()
    with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
        db.execute(
            "INSERT INTO tenant (slug, name, sip_domain, timezone, bootstrap_username,"
            " bootstrap_password_enc, lldp, pickup_code, country, number_display, created_at)"
            " VALUES ('old', 'Old', 'old.test', 'UTC', 'bootstrap-old', x'00', 1, '*8', 'NL',"
            " 'national', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO user (tenant_id, extension, display_name, sip_username,"
            " sip_password_enc, hide_caller_id, created_at)"
            " VALUES (1, '201', 'Front Desk', '201', x'00', 0, '2026-01-01')"
        )
    await migrate(config=config, direction="forward", target="models.0010_call_handling")
    await Tortoise.close_connections()
    with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
        row = db.execute(
            "SELECT dnd, forward_no_answer_seconds, forward_always FROM user"
        ).fetchone()
    assert row == (0, 20, None)


@pytest.mark.slow  # a chain of migrations over a populated database
async def test_a_database_of_the_last_release_upgrades_with_its_rows_in_place(
    tmp_path: Path,
) -> None:
    """0008 is what the previous release ran: every later migration adds columns to
    tables that hold tenants and users, each with a database default."""
    url = db_url_for(tmp_path)
    config = tortoise_config(url)
    await migrate(config=config, direction="forward", target="models.0008_numbers_carriers")
    await Tortoise.close_connections()
    with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
        db.execute(
            "INSERT INTO tenant (slug, name, sip_domain, timezone, bootstrap_username,"
            " bootstrap_password_enc, lldp, pickup_code, created_at)"
            " VALUES ('old', 'Old', 'old.test', 'UTC', 'bootstrap-old', x'00', 1, '*8',"
            " '2026-01-01')"
        )
        db.execute(
            "INSERT INTO user (tenant_id, extension, display_name, sip_username,"
            " sip_password_enc, created_at)"
            " VALUES (1, '201', 'Front Desk', '201', x'00', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO phone_number (e164, tenant_id, block_first, block_count,"
            " assigned_user_id, created_at)"
            " VALUES ('+31201234500', 1, '+31201234500', 1, 1, '2026-01-01')"
        )
    await upgrade_schema(url)
    with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
        tenant = db.execute("SELECT country, number_display, main_number FROM tenant").fetchone()
        user = db.execute(
            "SELECT hide_caller_id, dnd, forward_no_answer_seconds, may_switch_night FROM user"
        ).fetchone()
    assert tenant == ("NL", "national", None)
    assert user == (0, 0, 20, 0)
    with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
        number = db.execute("SELECT assigned_user_id, assigned_trunk_id FROM phone_number")
        assert number.fetchone() == (1, None)  # on no trunk, still the user's


def test_the_migrations_provd_counts_are_the_ones_tortoise_loads() -> None:
    loader = MigrationLoader(tortoise_config("sqlite://:memory:")["apps"], MigrationRecorder(None))
    loader.load_disk()
    assert {key.name for key in loader.disk_migrations} == migration_names()


_LAST = "DELETE FROM tortoise_migrations WHERE name = (SELECT max(name) FROM tortoise_migrations)"
_NEWER = (
    "INSERT INTO tortoise_migrations (app, name, applied_at)"
    " VALUES ('models', '9999_of_a_newer_provd', '2026-01-01')"
)


@pytest.mark.parametrize(
    ("change", "migrated"),
    [
        (None, False),
        (_LAST, True),
        (_NEWER, True),
        ("DROP TABLE tortoise_migrations", True),
        ("empty file", True),
    ],
    ids=["current", "one-pending", "one-unknown", "no-table", "new-file"],
)
async def test_upgrade_leaves_migrating_to_tortoise_unless_every_migration_and_no_other_is_applied(
    tmp_path: Path,
    migrated_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str | None,
    migrated: bool,
) -> None:
    if change != "empty file":
        shutil.copy(migrated_db, tmp_path / "provd.sqlite3")
    if change and change != "empty file":
        with sqlite3.connect(tmp_path / "provd.sqlite3") as db:
            db.execute(change)
    calls: list[dict[str, object]] = []

    async def recording_migrate(**kwargs: object) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(connection, "migrate", recording_migrate)
    await upgrade_schema(db_url_for(tmp_path))
    assert bool(calls) is migrated


async def test_upgrade_to_a_named_migration_and_of_postgresql_is_left_to_tortoise(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(migrated_db, tmp_path / "provd.sqlite3")
    calls: list[object] = []

    async def recording_migrate(**kwargs: object) -> None:
        calls.append(kwargs["target"])

    monkeypatch.setattr(connection, "migrate", recording_migrate)
    await upgrade_schema(db_url_for(tmp_path), up_to="0017_shared_state")
    await upgrade_schema("postgres://provd@127.0.0.1:1/provd")
    assert calls == ["models.0017_shared_state", None]
