"""The SQLite database and its side files are readable by provd's user only."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.security.secretbox import SecretBox
from provd.services.directory import tenants
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR, TEST_SETTINGS


def _modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.glob("provd.sqlite3*")}


@pytest.mark.slow  # migrates a fresh file: every migration, as a first start does
async def test_database_files_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, with which files are world-readable
    try:
        url = db_url_for(tmp_path)
        await upgrade_schema(url)
        async with database(url):
            platform = Platform(tmp_path, TEST_SETTINGS, SecretBox.load_or_create(tmp_path))
            await tenants.add_tenant(platform, TEST_ACTOR, "acme")
            during = _modes(tmp_path)  # the side files exist while it is open
        after = _modes(tmp_path)
    finally:
        os.umask(old)
    assert {"provd.sqlite3", "provd.sqlite3-wal"} <= set(during)
    assert set(during.values()) | set(after.values()) == {0o600}, (during, after)


async def test_an_older_world_readable_database_is_tightened(
    tmp_path: Path, migrated_db: Path
) -> None:
    url = db_url_for(tmp_path)
    shutil.copy(migrated_db, tmp_path / "provd.sqlite3")
    (tmp_path / "provd.sqlite3").chmod(0o644)
    async with database(url):
        pass
    assert _modes(tmp_path)["provd.sqlite3"] == 0o600
