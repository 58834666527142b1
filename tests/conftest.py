"""Shared fixtures: an initialised platform on a temporary data directory."""

from __future__ import annotations

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


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    save_settings(tmp_path, TEST_SETTINGS)
    url = db_url_for(tmp_path)
    await upgrade_schema(url)
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
