"""The generated configuration passes `kamailio -c` in every variant provd can produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from provd.pbx.config import validate_config, write_config
from provd.pbx.database import SqliteKamailioDb
from provd.pbx.errors import PbxError
from provd.pbx.schema import ensure_schema
from provd.pbx.settings import PbxSecrets, PbxSettings

pytestmark = pytest.mark.slow

VARIANTS = {
    "sqlite": {"with_blf": False},
    "blf": {"with_blf": True},
    "postgres": {"db_url": "postgres://kamailio:pw@127.0.0.1:5432/provd"},
    "no-flood-limit-ipv6": {"flood_limit": None, "sip_address": "::1", "tcp": False},
    "behind-nat": {
        "advertised_address": "198.51.100.7",
        "media_advertised_address": "198.51.100.7",
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
async def test_generated_config_passes_kamailio_check(tmp_path: Path, variant: str) -> None:
    settings = PbxSettings(data_dir=tmp_path, **VARIANTS[variant])  # type: ignore[arg-type]
    secrets = PbxSecrets.load_or_create(settings.pbx_dir)
    files = write_config(settings, secrets, ["acme.test", "globex.test"], settings.pbx_dir)
    await validate_config(files.main)
    assert files.local.stat().st_mode & 0o777 == 0o600


async def test_a_broken_config_is_reported_with_kamailio_output(tmp_path: Path) -> None:
    settings = PbxSettings(data_dir=tmp_path)
    files = write_config(settings, PbxSecrets.load_or_create(tmp_path), [], tmp_path)
    files.local.write_text(files.local.read_text() + "runtime_dir=/nowhere\n")
    with pytest.raises(PbxError, match=r"kamailio -c rejected .* \(rc="):
        await validate_config(files.main)


async def test_schema_comes_from_debian_files_and_is_idempotent(tmp_path: Path) -> None:
    db = SqliteKamailioDb(tmp_path / "k.sqlite3")
    first = await ensure_schema(db)
    assert first.created == ("standard", "auth_db", "usrloc", "presence", "uac", "acc")
    again = await ensure_schema(db)
    assert again.created == () and len(again.present) == 6
    versions = await db.table_versions()
    assert versions["location"] == 9 and versions["subscriber"] == 7
    assert versions["uacreg"] == 5
    assert versions["acc"] == 5 and versions["acc_cdrs"] == 2
    assert "aor_user" in await db.columns("subscriber")
    # provd's call-record columns, on both of acc's tables.
    assert {"tenant", "call_type", "setup_time", "reject_reason"} <= await db.columns("acc")
    assert {"callid", "tenant", "call_type", "setup_time"} <= await db.columns("acc_cdrs")


async def test_a_database_from_before_carrier_registrations_gains_uacreg(tmp_path: Path) -> None:
    import sqlite3

    db = SqliteKamailioDb(tmp_path / "k.sqlite3")
    await ensure_schema(db)
    with sqlite3.connect(db.path) as conn:
        conn.execute("DROP TABLE uacreg")
        conn.execute("DELETE FROM version WHERE table_name = 'uacreg'")
    conn.close()
    report = await ensure_schema(db)
    assert report.created == ("uac",)
    await db.replace_registrations(
        [("c", "c", "192.0.2.1", "u", "carrier.test", "u", "pw", "sip:carrier.test:5060", 600)]
    )
    assert await db.fetch_registrations() == [
        ("c", "c", "192.0.2.1", "u", "carrier.test", "u", "pw", "sip:carrier.test:5060", 600)
    ]
    await db.replace_registrations([])
    assert await db.fetch_registrations() == []


async def test_schema_version_mismatch_is_refused(tmp_path: Path) -> None:
    import sqlite3

    db = SqliteKamailioDb(tmp_path / "k.sqlite3")
    await ensure_schema(db)
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE version SET table_version = 8 WHERE table_name = 'location'")
    conn.close()
    with pytest.raises(PbxError, match="location is at 8, Kamailio expects 9"):
        await ensure_schema(db)


async def test_a_cancelled_check_leaves_no_kamailio_behind(tmp_path: Path) -> None:
    import asyncio
    import os

    # A stand-in for a slow `kamailio -c`: it records its pid, then hangs.
    pid_file = tmp_path / "pid"
    slow = tmp_path / "slow-kamailio"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    slow.chmod(0o755)
    check = asyncio.create_task(validate_config(tmp_path / "kamailio.cfg", kamailio=str(slow)))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pid = int(pid_file.read_text())
    check.cancel()
    with pytest.raises(asyncio.CancelledError):
        await check
    # Reaped, not merely signalled: the pid no longer exists.
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
