"""The migrations describe the models exactly, and upgrading keeps data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from provd.db.connection import database, db_url_for, tortoise_config, upgrade_schema
from provd.db.models import Tenant


async def test_models_have_no_changes_without_a_migration(tmp_path: Path) -> None:
    config = tortoise_config(db_url_for(tmp_path))
    async with database(config["connections"]["default"]):
        changes = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
    assert changes == [], "models changed: write a migration (see README, Development)"


async def test_upgrade_is_idempotent_and_keeps_rows(tmp_path: Path) -> None:
    url = db_url_for(tmp_path)
    await upgrade_schema(url)
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
