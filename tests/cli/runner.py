"""Invoking the command line in-process, as scripts would."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from provd.cli import cli


def run(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), *args], input=stdin, catch_exceptions=False
    )
