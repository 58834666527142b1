"""Opening and closing the database, and bringing its schema up to date."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base import executor
from tortoise.migrations.api.migrate import migrate

APP = "models"

# The ORM's and drivers' loggers: at DEBUG they print every query with its parameters
# (argon2 hashes, session and token hashes, CSRF tokens, sealed passwords), and at
# INFO tortoise prints its configuration, a PostgreSQL URL's password included.
_DRIVER_LOGGERS = ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg")


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_WARNINGS_ONLY = _WarningsOnly()


def silence_driver_loggers() -> None:
    """Keep the database layer's loggers at WARNING whatever ``-v`` or a test asks.

    A filter as well as the level: the level alone is undone by anyone who turns a
    logger up (``caplog.set_level``, a logging config file), and secrets must not be
    logged at any level.
    """
    for name in _DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if _WARNINGS_ONLY not in logger.filters:
            logger.addFilter(_WARNINGS_ONLY)


silence_driver_loggers()


def db_url_for(data_dir: Path, override: str | None = None) -> str:
    """The embedded default is an SQLite file in the data directory."""
    if override:
        return override
    return f"sqlite://{data_dir / 'provd.sqlite3'}"


def _sqlite_path(db_url: str) -> Path | None:
    if not db_url.startswith("sqlite://"):
        return None
    path = db_url.removeprefix("sqlite://").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def restrict_sqlite_files(db_url: str) -> None:
    """Make the SQLite database (and its journal, WAL and shared-memory files) 0600.

    It holds password hashes and sealed secrets; SQLite would create it with the
    umask's mode, usually world-readable. Created empty here first so it is never
    readable by others even for a moment; SQLite gives its side files the mode of
    the database, and files of an older installation are tightened.
    """
    path = _sqlite_path(db_url)
    if path is None or not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-journal", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_mode & 0o777 != 0o600:
            os.chmod(side, 0o600)


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": db_url},
        "apps": {
            APP: {
                "models": ["provd.db.models"],
                "default_connection": "default",
                "migrations": "provd.db.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def upgrade_schema(db_url: str) -> None:
    """Apply every pending migration; running it twice is harmless."""
    executor.EXECUTOR_CACHE.clear()
    restrict_sqlite_files(db_url)
    try:
        await migrate(config=tortoise_config(db_url), direction="forward")
    finally:
        # migrate() leaves its connections open; closing them checkpoints SQLite's
        # WAL so the file is complete on its own.
        await Tortoise.close_connections()


@asynccontextmanager
async def database(db_url: str) -> AsyncIterator[None]:
    # tortoise caches rendered INSERT/DELETE SQL per connection *name*; a process
    # that opens another database under the same name (tests switch between
    # SQLite and PostgreSQL) must not send one dialect's SQL to the other.
    executor.EXECUTOR_CACHE.clear()
    restrict_sqlite_files(db_url)
    await Tortoise.init(config=tortoise_config(db_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


# Used by the ``tortoise`` command line when a developer writes a new migration:
#   tortoise -c provd.db.connection.DEV_CONFIG makemigrations
DEV_CONFIG = tortoise_config("sqlite://:memory:")
