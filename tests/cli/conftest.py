"""A data directory initialised by ``provd init``, with user 201 in the default tenant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.runner import run


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    result = run(d, "init", "--public-host", "provd.test", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["api_token"].startswith("provd_")
    assert info["bootstrap_username"] == "bootstrap-default"
    assert run(d, "user", "add", "--extension", "201", "--name", "Front Desk").exit_code == 0
    return d
