"""The ``provd`` command line: scriptable, every command with ``--json``."""

from __future__ import annotations

# Importing the command modules attaches their commands to the group.
from provd.cli import (  # noqa: F401
    access,
    announcements,
    backup,
    blocking,
    calls,
    carriers,
    codes,
    device_csv,
    devices,
    directory,
    discovery,
    firmware,
    groups,
    layouts,
    lifecycle,
    limits,
    menus,
    moh,
    numbers,
    outbound,
    queues,
    rates,
    rollouts,
    schedules,
    trunks,
    voicemail,
)
from provd.cli.main import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
