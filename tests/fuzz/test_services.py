"""Imports, every API body and the phone path against a seeded database: never a 5xx or
an unexpected exception, and nothing written by a request that was refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given

from tests.fuzz import env
from tests.fuzz.targets import ci_settings


@pytest.fixture
def driver(tmp_path: Path, seeded_fuzz_env: env.Seeded) -> Iterator[env.Driver]:
    with env.Driver(tmp_path, seeded=seeded_fuzz_env) as d:
        yield d


def test_csv_import(driver: env.Driver) -> None:
    @ci_settings(60)
    @given(env.csv_imports)
    def run(call: env.CsvImport) -> None:
        driver.check(env.check_csv_import, call, tolerate_known=True)

    run()


def test_layout_import(driver: env.Driver) -> None:
    @ci_settings(100)
    @given(env.layout_imports)
    def run(call: env.LayoutImport) -> None:
        driver.check(env.check_layout_import, call, tolerate_known=True)

    run()


def test_api_bodies(driver: env.Driver) -> None:
    @ci_settings(300)
    @given(env.api_calls())
    def run(call: env.ApiCall) -> None:
        driver.check(env.check_api, call, tolerate_known=True)

    run()


@pytest.mark.parametrize("operation", env.operations(), ids=lambda op: f"{op.method} {op.path}")
def test_each_api_operation(driver: env.Driver, operation: env.Operation) -> None:
    """Every operation gets examples of its own, however many there are."""

    @ci_settings(15)
    @given(env.api_calls((operation,)))
    def run(call: env.ApiCall) -> None:
        driver.check(env.check_api, call, tolerate_known=True)

    run()


def test_phone_path(driver: env.Driver) -> None:
    @ci_settings(150)
    @given(env.phone_calls)
    def run(call: env.PhoneCall) -> None:
        driver.check(env.check_phone, call, tolerate_known=True)

    run()
