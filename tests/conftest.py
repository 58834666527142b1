"""Shared fixtures: an initialised platform on a temporary data directory."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.security.secretbox import SecretBox
from provd.services import tenants
from provd.services.audit import Actor
from provd.services.platform import Platform
from provd.settings import Settings, save_settings

TEST_ACTOR = Actor("test")
TEST_SETTINGS = Settings(
    public_host="provd.test", https_port=8443, sip_proxy_host="sip.provd.test", bind="127.0.0.1"
)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with every migration applied, copied by each test (migrating
    a fresh SQLite file costs more than most tests)."""
    import asyncio

    directory = tmp_path_factory.mktemp("schema")
    asyncio.run(upgrade_schema(db_url_for(directory)))
    return directory / "provd.sqlite3"


@pytest.fixture
async def platform(tmp_path: Path, migrated_db: Path) -> AsyncIterator[Platform]:
    save_settings(tmp_path, TEST_SETTINGS)
    shutil.copy(migrated_db, tmp_path / "provd.sqlite3")
    url = db_url_for(tmp_path)
    async with database(url):
        p = Platform(tmp_path, TEST_SETTINGS, SecretBox.load_or_create(tmp_path))
        await tenants.add_tenant(p, TEST_ACTOR, tenants.DEFAULT_TENANT)
        yield p


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the whole session (``postgres://postgres@127.0.0.1:PORT``)."""
    from tests.pg import postgres_cluster

    with postgres_cluster() as server:
        yield server
