"""``provd init`` and what commands say before it."""

from __future__ import annotations

from pathlib import Path

from tests.cli.runner import run


def test_init_creates_private_data_dir_with_keys(data_dir: Path) -> None:
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (data_dir / "provd.sqlite3").exists()
    again = run(data_dir, "init")
    assert again.exit_code == 1
    assert "already initialised" in again.output


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    result = run(tmp_path / "none", "device", "list")
    assert result.exit_code == 1
    assert "provd --data-dir" in result.output and "init" in result.output
