"""Kamailio's tables, created from the SQL files Debian ships with Kamailio.

Using the installed files (not a copy) keeps the ``version`` rows equal to
what the installed modules check at startup; a mismatch stops Kamailio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provd.pbx.call_records import ACC_COLUMNS
from provd.pbx.database import KamailioDb
from provd.pbx.errors import PbxError
from provd.pbx.settings import DbEngine

SCHEMA_ROOT = Path("/usr/share/kamailio")
_ENGINE_DIRS = {DbEngine.SQLITE: "db_sqlite", DbEngine.POSTGRES: "postgres"}
# usrloc keeps registrations, auth_db reads subscriber; presence checks its
# table versions at startup when BLF is on, so it is cheap insurance; uac reads
# uacreg, the registrations Kamailio makes to carriers; acc writes the call records
# provd collects (acc: calls never answered; acc_cdrs: answered calls, one per dialog).
MODULES = ("standard", "auth_db", "usrloc", "presence", "uac", "acc")

_CREATE = re.compile(r"CREATE TABLE\s+(\w+)", re.IGNORECASE)
_VERSION = re.compile(
    r"INSERT INTO version \(table_name, table_version\) values \('(\w+)','(\d+)'\)", re.IGNORECASE
)
# provd's columns: which extension (AoR user) a digest username may use; for a
# customer trunk's account, the trunk and the networks it may send from.
_EXTRA_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "subscriber": (
        ("aor_user", "VARCHAR(64) DEFAULT '' NOT NULL"),
        ("trunk", "VARCHAR(64) DEFAULT '' NOT NULL"),
        ("allow_ips", "VARCHAR(1024) DEFAULT '' NOT NULL"),
    ),
    **ACC_COLUMNS,
}


@dataclass(frozen=True, slots=True)
class SchemaFile:
    module: str
    path: Path
    sql: str
    tables: tuple[str, ...]
    versions: dict[str, int]


def load_schema_file(engine: DbEngine, module: str, root: Path = SCHEMA_ROOT) -> SchemaFile:
    path = root / _ENGINE_DIRS[engine] / f"{module}-create.sql"
    try:
        sql = path.read_text()
    except FileNotFoundError:
        package = (
            "kamailio-sqlite-modules" if engine is DbEngine.SQLITE else "kamailio-postgres-modules"
        )
        raise PbxError(
            f"{path} is missing: install the Debian packages kamailio and {package}"
        ) from None
    versions = {t: int(v) for t, v in _VERSION.findall(sql)}
    return SchemaFile(module, path, sql, tuple(_CREATE.findall(sql)), versions)


@dataclass(frozen=True, slots=True)
class SchemaReport:
    created: tuple[str, ...]
    """Modules whose tables were created by this call."""
    present: tuple[str, ...]


async def ensure_schema(db: KamailioDb, *, root: Path = SCHEMA_ROOT) -> SchemaReport:
    """Create missing module tables; check the versions of those already there.

    Idempotent. A table whose stored version differs from the installed
    Kamailio's is reported, not migrated: that is an upgrade decision.
    """
    created: list[str] = []
    present: list[str] = []
    existing = await db.tables()
    for module in MODULES:
        schema = load_schema_file(db.engine, module, root)
        have = [t for t in schema.tables if t in existing]
        if not have:
            await db.execute_script(_relaxed(module, schema.sql))
            created.append(module)
        elif len(have) == len(schema.tables):
            present.append(module)
        else:
            missing = sorted(set(schema.tables) - set(have))
            raise PbxError(
                f"Kamailio tables of {module} are incomplete: {', '.join(missing)} missing"
            )
    await _add_extra_columns(db)
    await _check_versions(db, root)
    return SchemaReport(tuple(created), tuple(present))


# The record of a call Kamailio refuses from its request route is written by
# acc_db_request, from a request that has no To tag yet: Debian's NOT NULL on to_tag
# would drop that row. Nullable here; the table's version (what Kamailio checks) stays.
_RELAXED = {"acc": (("to_tag VARCHAR(128) DEFAULT '' NOT NULL", "to_tag VARCHAR(128) DEFAULT ''"),)}


def _relaxed(module: str, sql: str) -> str:
    for strict, relaxed in _RELAXED.get(module, ()):
        sql = sql.replace(strict, relaxed)
    return sql


async def _add_extra_columns(db: KamailioDb) -> None:
    for table, columns in _EXTRA_COLUMNS.items():
        have = await db.columns(table)
        for column, decl in columns:
            if column not in have:
                await db.execute_script(f"ALTER TABLE {table} ADD COLUMN {column} {decl};")


async def _check_versions(db: KamailioDb, root: Path) -> None:
    stored = await db.table_versions()
    wrong: list[str] = []
    for module in MODULES:
        for table, version in load_schema_file(db.engine, module, root).versions.items():
            if stored.get(table) != version:
                wrong.append(f"{table} is at {stored.get(table)}, Kamailio expects {version}")
    if wrong:
        raise PbxError(
            "Kamailio's tables do not match the installed Kamailio: "
            + "; ".join(wrong)
            + ". Migrate them (see the upgrade notes of Kamailio) before starting."
        )
