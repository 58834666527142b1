"""A data directory initialised by ``provd init``, with user 201 in the default tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.runner import run
from tests.conftest import PreparedDataDir


def _prepare(d: Path, info: dict[str, Any]) -> None:
    assert info["api_token"].startswith("provd_")
    assert info["bootstrap_username"] == "bootstrap-default"
    assert run(d, "user", "add", "--extension", "201", "--name", "Front Desk").exit_code == 0


@pytest.fixture
def data_dir(tmp_path: Path, prepared_data_dir: PreparedDataDir) -> Path:
    return prepared_data_dir(tmp_path / "data", _prepare)
