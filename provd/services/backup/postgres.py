"""PostgreSQL: provd's tables dumped in one snapshot, and loaded into a database.

The dump is one ``REPEATABLE READ READ ONLY`` transaction: every table is read at the
instant of its first query, while ``serve`` goes on writing. Each table is copied out
with ``COPY … TO STDOUT`` in PostgreSQL's text format (a file per table, streamed,
never held in memory), its columns named, in an order its foreign keys allow loading.
Only provd's tables are taken: Kamailio's, in the same database under ``serve --pbx``,
are made again by ``serve``.

A load creates the backup's schema with provd's migrations (up to the backup's last,
so the rows fit), then copies every table in one transaction and moves each id
sequence past the rows restored; the caller then migrates to this provd's schema.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from provd.db.connection import APP
from provd.domain.backup import Table, last_migration
from provd.domain.errors import InvalidInput
from provd.services.backup.contents import Snapshot

MIGRATIONS_TABLE = "tortoise_migrations"

_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
"""
_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
ORDER BY table_name, ordinal_position
"""
_FOREIGN_KEYS = """
SELECT child.relname, parent.relname FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE k.contype = 'f' AND n.nspname = current_schema()
"""
_SEQUENCED = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')
"""


def provd_tables() -> set[str]:
    """The tables of provd's models (the ORM must be initialised) and its migrations'."""
    models = Tortoise.apps[APP].values()
    return {m._meta.db_table for m in models} | {MIGRATIONS_TABLE}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _connect(db_url: str) -> Any:
    try:
        asyncpg = importlib.import_module("asyncpg")
    except ImportError:
        raise InvalidInput(
            "db", "PostgreSQL needs the asyncpg package: pip install 'provd[postgres]'"
        ) from None
    # tortoise's query options (?minsize=…) are not libpq's.
    dsn = "postgresql://" + db_url.split("://", 1)[1].split("?", 1)[0]
    return await asyncpg.connect(dsn)


def load_order(tables: Iterable[str], foreign_keys: Iterable[tuple[str, str]]) -> list[str]:
    """Tables with those they reference first; a table's references to itself are
    checked at the end of its COPY statement, so they impose no order."""
    graph: dict[str, set[str]] = {t: set() for t in sorted(tables)}
    for child, parent in foreign_keys:
        if child in graph and parent in graph and child != parent:
            graph[child].add(parent)
    return list(TopologicalSorter(graph).static_order())


async def dump(db_url: str, tables: Iterable[str], dest: Path) -> Snapshot:
    """Copy ``tables`` (those that exist) into ``dest/<table>.copy`` from one snapshot."""
    conn = await _connect(db_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            present = {str(r[0]) for r in await conn.fetch(_TABLES)} & set(tables)
            columns: dict[str, list[str]] = {}
            for table, column in await conn.fetch(_COLUMNS, sorted(present)):
                columns.setdefault(str(table), []).append(str(column))
            keys = [(str(c), str(p)) for c, p in await conn.fetch(_FOREIGN_KEYS)]
            applied = await conn.fetch(f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = $1", APP)
            schema = last_migration([str(r[0]) for r in applied])
            firmware = await conn.fetch("SELECT sha256 FROM firmware_image")
            dumped = []
            for name in load_order(present, keys):
                output = dest / f"{name}.copy"
                output.touch(mode=0o600, exist_ok=False)
                await conn.copy_from_table(
                    name, columns=columns[name], output=str(output), format="text"
                )
                dumped.append(Table(name, tuple(columns[name])))
    finally:
        await conn.close()
    return Snapshot(schema, tuple(sorted(str(r[0]) for r in firmware)), tuple(dumped))


async def tables_present(db_url: str, tables: Iterable[str]) -> list[str]:
    conn = await _connect(db_url)
    try:
        return sorted({str(r[0]) for r in await conn.fetch(_TABLES)} & set(tables))
    finally:
        await conn.close()


async def drop(db_url: str, tables: Sequence[str]) -> None:
    """Remove provd's tables (a restore with --force, or one that failed half-way)."""
    if not tables:
        return
    conn = await _connect(db_url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {', '.join(map(_ident, tables))} CASCADE")
    finally:
        await conn.close()


async def load(db_url: str, tables: Sequence[Table], source: Path) -> None:
    """Fill the (migrated, empty) tables from ``source/<table>.copy``, all or nothing."""
    conn = await _connect(db_url)
    try:
        async with conn.transaction():
            names = [t.name for t in tables]
            # The migrations just applied wrote their own rows: the backup's replace them.
            await conn.execute(f"TRUNCATE {', '.join(map(_ident, names))}")
            for table in tables:
                await conn.copy_to_table(
                    table.name,
                    source=str(source / f"{table.name}.copy"),
                    columns=list(table.columns),
                    format="text",
                )
            for table_name, column in await conn.fetch(_SEQUENCED, names):
                top = f"MAX({_ident(str(column))})"
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence($1, $2), COALESCE({top}, 1), "
                    f"{top} IS NOT NULL) FROM {_ident(str(table_name))}",
                    _ident(str(table_name)),
                    str(column),
                )
    finally:
        await conn.close()
