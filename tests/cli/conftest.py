"""A data directory initialised by ``provd init``, with user 201 in the default tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import run
from tests.conftest import InitDataDir


@pytest.fixture
def data_dir(tmp_path: Path, init_data_dir: InitDataDir) -> Path:
    d = tmp_path / "data"
    info = init_data_dir(d)
    assert info["api_token"].startswith("provd_")
    assert info["bootstrap_username"] == "bootstrap-default"
    assert run(d, "user", "add", "--extension", "201", "--name", "Front Desk").exit_code == 0
    return d
