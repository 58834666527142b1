"""A private PostgreSQL cluster for tests: initdb in a temp dir, run as the postgres user.

The server binaries come from Debian's postgresql package (scripts/install-system-deps).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.procs import free_port


def _bindir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries missing: run scripts/install-system-deps")
    return versions[-1].parent


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Yield a server URL prefix ``postgres://postgres@127.0.0.1:PORT``; stop it afterwards."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="provd-pg-"))
    pg = pwd.getpwnam("postgres")
    os.chown(root, pg.pw_uid, pg.pw_gid)
    port = free_port()

    def as_postgres(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    try:
        as_postgres(
            str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres"
        )
        as_postgres(
            str(bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        yield f"postgres://postgres@127.0.0.1:{port}"
    finally:
        if (root / "data" / "postmaster.pid").exists():
            as_postgres(
                str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"
            )
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: str, name: str) -> str:
    port = server.rsplit(":", 1)[1]
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-U",
            "postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return f"{server}/{name}"
