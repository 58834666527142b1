"""Crashes the fuzz suite found in code that another change is reworking, handed over
rather than fixed here. Each is a strict xfail: its fix turns it into a failure that
asks for the mark, and the entry in ``targets.KNOWN``, to be removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise.exceptions import ValidationError

from provd.domain.device_csv import ImportRefused, parse_file
from provd.services.devices import csv_io as device_csv
from tests.fuzz import env, targets


@pytest.fixture
def driver(tmp_path: Path, migrated_db: Path) -> Iterator[env.Driver]:
    with env.Driver(tmp_path, migrated_db) as d:
        yield d


def test_every_known_crash_is_pinned_here() -> None:
    assert len(targets.KNOWN) == 2


@pytest.mark.xfail(strict=True, raises=UnicodeEncodeError, reason="str.encode() of a surrogate")
def test_csv_str_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ImportRefused):
        parse_file("mac,model\r\n0015654aa937,\ud800\r\n", default_tenant="default")


@pytest.mark.xfail(strict=True, raises=ValidationError, reason="user lookup longer than column")
def test_csv_import_extension_longer_than_any_is_a_row_error(driver: env.Driver) -> None:
    data = b"mac,model,extension\r\n0015652b3c4d,yealink-t46g,123456\r\n"

    async def go() -> None:
        with pytest.raises(ImportRefused) as refused:
            await device_csv.import_devices(driver.env.platform, env.ACTOR, data)
        assert refused.value.errors[0].column == "extension"

    driver.run(go())
