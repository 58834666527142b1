"""A provd data directory with a fleet of T46G phones, and their pre-rendered files.

The data directory is created by the real ``provd init``; users and devices are then
added through the services layer in-process (the same code the CLI and the REST API
call), in one transaction, because thousands of CLI runs would take minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tortoise.transactions import in_transaction

from provd.db.connection import database, db_url_for
from provd.security.secretbox import SecretBox
from provd.security.tls import CA_CERT, SERVER_CERT, SERVER_KEY
from provd.services import audit, devices
from provd.services.directory import users
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform
from provd.services.provisioning import rendering
from provd.settings import load_settings

MODEL_ID = "yealink-t46g"
_ACTOR = audit.Actor("cli:bench")
_FIRST_EXTENSION = 10000
_YEALINK_OUI = "001565"


@dataclass(frozen=True, slots=True)
class Phone:
    mac: str
    username: str
    password: str
    extension: str


@dataclass(frozen=True, slots=True)
class Fleet:
    data_dir: Path
    phones: list[Phone]
    warmup: list[Phone]
    files: dict[str, bytes]
    """Every file a phone of the fleet fetches, as provd renders it."""

    @property
    def ca(self) -> Path:
        return self.data_dir / CA_CERT

    @property
    def cert(self) -> Path:
        return self.data_dir / SERVER_CERT

    @property
    def key(self) -> Path:
        return self.data_dir / SERVER_KEY


def provd_command(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "provd", "--data-dir", str(data_dir), *args]


def child_environment() -> dict[str, str]:
    """For child processes: they import the provd this process imported, whatever their
    working directory (``python -m`` puts that first on the path)."""
    import provd

    root = str(Path(provd.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def create(
    data_dir: Path,
    port: int,
    count: int,
    warmup: int,
    *,
    sealed: bool,
    key_type: str = "rsa",
    db_url: str | None = None,
) -> Fleet:
    """``db_url``: a database for ``provd --db`` (PostgreSQL), kept in the settings;
    None for the data directory's SQLite file."""
    # The options only when not the default, so that trees from before them still run.
    key = ["--tls-key-type", key_type] if key_type != "rsa" else []
    db = ["--db", db_url] if db_url else []
    done = subprocess.run(
        provd_command(
            data_dir,
            *db,
            "init",
            "--public-host",
            "127.0.0.1",
            "--https-port",
            str(port),
            *key,
            "--json",
        ),
        capture_output=True,
        text=True,
        check=False,
        cwd=data_dir.parent,
        env=child_environment(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"provd init failed: {done.stderr.strip() or done.stdout.strip()}")
    json.loads(done.stdout)  # the init report: proves the CLI spoke, nothing in it is needed
    phones, files = asyncio.run(_populate(data_dir, count + warmup, sealed=sealed))
    return Fleet(data_dir, phones[:count], phones[count:], files)


async def _populate(
    data_dir: Path, total: int, *, sealed: bool
) -> tuple[list[Phone], dict[str, bytes]]:
    if _FIRST_EXTENSION + total > 100000:
        raise ValueError("extensions have at most 5 digits: at most 90000 phones")
    settings = load_settings(data_dir)
    platform = Platform(data_dir, settings, SecretBox.load_or_create(data_dir))
    phones: list[Phone] = []
    files: dict[str, bytes] = {}
    async with database(db_url_for(data_dir, settings.db_url)):
        async with in_transaction():
            for i in range(total):
                extension = str(_FIRST_EXTENSION + i)
                mac = f"{_YEALINK_OUI}{i:06x}"
                await users.add_user(
                    platform, _ACTOR, DEFAULT_TENANT, extension, f"Bench Phone {i}"
                )
                device, credential = await devices.add_device(
                    platform, _ACTOR, mac, MODEL_ID, users=[extension]
                )
                if sealed:
                    await devices.seal_device(device)
                phones.append(Phone(mac, credential.username, credential.password, extension))
        for phone in phones:
            device = await devices.get_device(phone.mac)
            for name, body in (await rendering.render_all(platform, device)).items():
                if files.setdefault(name, body) != body:
                    raise RuntimeError(f"{name} renders differently for two phones")
    return phones, files


def as_json(phones: list[Phone]) -> list[dict[str, str]]:
    return [asdict(p) for p in phones]


def provd_source() -> str:
    """Which provd was measured: the tree it was imported from, and its commit."""
    import provd

    root = Path(provd.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return str(root)
    dirty = (
        " + uncommitted changes in provd/" if git("status", "--porcelain", "--", "provd") else ""
    )
    return f"{root} at {head}{dirty}"
