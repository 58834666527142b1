"""Opening and closing the database, and bringing its schema up to date."""

from __future__ import annotations

import logging
import os
import pkgutil
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base import executor
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate

from provd.db import direct, sqlite_engine

APP = "models"

# What the ORM and the drivers log would otherwise include credential material: at
# DEBUG every query's parameters (argon2 hashes, session and token hashes, CSRF tokens,
# sealed passwords) and aiosqlite's results, a PostgreSQL pool's parameters, and at
# INFO tortoise's configuration with the database URL, password and all.
_QUIET_LOGGERS = ("tortoise", "aiosqlite", "asyncpg")
_QUERY_LOGGER = "tortoise.db_client"
# Single-quoted SQL literals; the ORM passes values as parameters, but a statement it
# writes out whole (a schema script) must not carry one into the log either.
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'")


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


class _StatementsOnly(logging.Filter):
    """tortoise's query log, reduced to the SQL statement: its values are dropped, and
    any record not in the two shapes it logs queries in is dropped whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == "%s: %s" and len(args) == 2 and isinstance(args[0], str):
            statement = args[0]  # log.debug("%s: %s", query, values)
        elif isinstance(record.msg, str) and not args:
            statement = record.msg  # log.debug(query)
        else:
            return False
        record.msg, record.args = "%s", (_SQL_LITERAL.sub("'…'", statement),)
        return True


_WARNINGS_ONLY = _WarningsOnly()
_STATEMENTS_ONLY = _StatementsOnly()


def quiet_driver_loggers() -> None:
    """Keep credential material out of what the database layer logs, at any level.

    Filters rather than levels: a level is undone by anyone who turns a logger up
    (``serve -v``, ``caplog.set_level``, a logging configuration), a filter is not.
    Statements stay visible at DEBUG, which is what one debugs with.
    """
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if _WARNINGS_ONLY not in logger.filters:
            logger.addFilter(_WARNINGS_ONLY)
    query_logger = logging.getLogger(_QUERY_LOGGER)
    if _STATEMENTS_ONLY not in query_logger.filters:
        query_logger.addFilter(_STATEMENTS_ONLY)


quiet_driver_loggers()


def db_url_for(data_dir: Path, override: str | None = None) -> str:
    """The embedded default is an SQLite file in the data directory."""
    if override:
        return override
    return f"sqlite://{data_dir / 'provd.sqlite3'}"


def sqlite_path(db_url: str) -> Path | None:
    """The file of an SQLite URL; None for another database or an in-memory one."""
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
    path = sqlite_path(db_url)
    if path is None or not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-journal", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_mode & 0o777 != 0o600:
            os.chmod(side, 0o600)


def tortoise_config(db_url: str) -> dict[str, Any]:
    connection: str | dict[str, Any] = db_url
    if db_url.startswith("sqlite://"):
        # Write transactions that wait for each other across processes (sqlite_engine).
        connection = {**expand_db_url(db_url), "engine": sqlite_engine.ENGINE}
    return {
        "connections": {"default": connection},
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


def migration_names() -> frozenset[str]:
    """The migrations of this provd, named as tortoise records them when applied: the
    modules of provd.db.migrations, as tortoise's loader lists them."""
    from provd.db import migrations

    return frozenset(
        name
        for _, name, is_package in pkgutil.iter_modules(migrations.__path__)
        if not is_package and name[0] not in "_~"
    )


def _sqlite_is_current(db_url: str) -> bool:
    """Whether an SQLite database has exactly this provd's migrations applied, so that
    migrate would find nothing to do. False for another database and whenever the
    question has no quick answer (no file, no migrations table, a lock): then migrate
    decides, as it always did."""
    path = sqlite_path(db_url)
    if path is None:
        return False
    query = "SELECT name FROM tortoise_migrations WHERE app = ?"
    try:
        # mode=rw never creates the file; timeout=0 never waits for a lock.
        uri = f"{path.absolute().as_uri()}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=0)) as db:
            db.execute("PRAGMA query_only = ON")
            applied = {name for (name,) in db.execute(query, (APP,))}
    except sqlite3.Error:
        return False
    return applied == migration_names()


async def upgrade_schema(db_url: str, *, up_to: str | None = None) -> None:
    """Apply every pending migration (or those up to and including ``up_to``, a
    migration's name); running it twice is harmless."""
    executor.EXECUTOR_CACHE.clear()
    restrict_sqlite_files(db_url)
    if up_to is None and _sqlite_is_current(db_url):
        # Every command upgrades first and almost always finds nothing to do; migrate
        # spends 10 ms of CPU finding that out (it builds its migration graph and a
        # model class for its table), a third of a typical command. One query does.
        return
    target = f"{APP}.{up_to}" if up_to else None
    try:
        await migrate(config=tortoise_config(db_url), target=target, direction="forward")
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
        direct.close()
        await Tortoise.close_connections()


async def ping() -> None:
    """A trivial query; raises when the database is closed or does not answer."""
    await connections.get("default").execute_query("SELECT 1")


# Used by the ``tortoise`` command line when a developer writes a new migration:
#   tortoise -c provd.db.connection.DEV_CONFIG makemigrations
DEV_CONFIG = tortoise_config("sqlite://:memory:")
