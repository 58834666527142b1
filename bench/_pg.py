"""A private PostgreSQL server for a benchmark, in its temporary directory.

Debian's server binaries (``/usr/lib/postgresql/N/bin``, scripts/install-system-deps),
as tests/pg.py uses them. Unlike there, the server runs in the foreground as one of the
benchmark's children (bench/_procs.py): it goes with the benchmark however that ends,
and its CPU is read from its process tree.
PostgreSQL refuses to run as root, so under root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from _procs import Children, free_port, tree_cpu_seconds, wait_for_port

_START_TIMEOUT = 60.0


def bindir() -> Path | None:
    """The newest installed server's binaries, None when there is none."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return versions[-1].parent if versions else None


@dataclass(frozen=True, slots=True)
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path

    def cpu_seconds(self) -> float:
        """The server's CPU so far: every backend calls setsid, so by process tree (the
        exited ones in the postmaster's cutime), not by process group."""
        return tree_cpu_seconds(self.proc.pid)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> None:
        """One statement as the superuser, through psql (autocommit, as CREATE DATABASE
        needs)."""
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                statement,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql {statement!r}: {done.stderr.strip()}")

    def copy_database(self, template: str, name: str) -> str:
        """``name`` afresh as a copy of ``template`` (which nothing may be connected to)."""
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start(root: Path, children: Children) -> Server:
    """initdb in ``root`` (made here) and the server on a free loopback port."""
    binaries = bindir()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries missing: run scripts/install-system-deps")
    root.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        # The postgres user must get through the benchmark's directory to its own.
        os.chmod(root.parent, os.stat(root.parent).st_mode | 0o111)
    data = root / "data"
    initdb = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    done = subprocess.run(
        [*_as_postgres(), *initdb, "--no-sync"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
    port = free_port()
    command = [*_as_postgres(), str(binaries / "postgres"), "-D", str(data), "-p", str(port)]
    command += ["-k", str(root), "-c", "listen_addresses=127.0.0.1"]
    proc = children.start(command, stderr=(root / "log").open("wb"))
    wait_for_port(port, proc, "postgres", _START_TIMEOUT)
    # The port opens before the server accepts logins; psql says when it does.
    server = Server(proc, port, root)
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            server.sql("SELECT 1")
            return server
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(server: Server, children: Children) -> None:
    """A fast shutdown (SIGINT to the group: the postmaster ends its backends itself)."""
    children.stop(server.proc, signal.SIGINT, grace=30.0)
