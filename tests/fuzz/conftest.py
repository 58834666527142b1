"""One seeded environment per session, copied by each test that fuzzes the services."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import env


@pytest.fixture(scope="session")
def seeded_fuzz_env(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> env.Seeded:
    with env.Driver(tmp_path_factory.mktemp("fuzz-seeded"), migrated_db) as driver:
        return driver.env.as_seeded()
