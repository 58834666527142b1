"""A provd data directory with a fleet of T46G phones, and their pre-rendered files.

The data directory is created by the real ``provd init``; users and devices are then
added through the services layer in-process (the same code the CLI and the REST API
call), in one transaction, because thousands of CLI runs would take minutes. An
extension has at most 5 digits, so past 90,000 phones the users go into further tenants
(``fleet2``, ...), 90,000 to a tenant.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import _clone
from tortoise.transactions import in_transaction

from provd.db.connection import database, db_url_for
from provd.domain.mac import parse_mac
from provd.domain.passwords import generate_password
from provd.security.secretbox import SecretBox
from provd.security.tls import CA_CERT, SERVER_CERT, SERVER_KEY
from provd.services import audit, devices
from provd.services.devices import prov_username_for
from provd.services.directory import tenants, users
from provd.services.directory.tenants import DEFAULT_TENANT
from provd.services.platform import Platform
from provd.services.provisioning import rendering
from provd.settings import load_settings

MODEL_ID = "yealink-t46g"
_ACTOR = audit.Actor("cli:bench")
_FIRST_EXTENSION = 10000
_YEALINK_OUI = "001565"
_PER_TENANT = 100000 - _FIRST_EXTENSION


@dataclass(frozen=True, slots=True)
class Phone:
    mac: str
    username: str
    password: str
    extension: str
    tenant: str = DEFAULT_TENANT
    name: str = ""
    """The user's display name, as the MAC file carries it."""


@dataclass(frozen=True, slots=True)
class Fleet:
    data_dir: Path
    phones: list[Phone]
    warmup: list[Phone]
    files: dict[str, bytes]
    """Every file a phone of the fleet fetches, as provd renders it (empty unless asked)."""
    api_token: str = ""
    """The admin API token ``provd init`` printed."""
    made: dict[str, float] = field(default_factory=dict)
    """How the phones were made: ``services`` phones in ``services_s`` seconds through the
    services layer, ``copied`` in ``copied_s`` seconds by ``_clone``."""

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
    render: bool = True,
    by_services: int | None = None,
) -> Fleet:
    """``db_url``: a database for ``provd --db`` (PostgreSQL), kept in the settings;
    None for the data directory's SQLite file. ``by_services``: how many phones of each
    tenant to make through the services layer (all when None); the others are copies of
    the first (``_clone``), sealed only."""
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
    report = json.loads(done.stdout)
    phones, files, made = asyncio.run(
        _populate(data_dir, count + warmup, sealed=sealed, render=render, by_services=by_services)
    )
    return Fleet(data_dir, phones[:count], phones[count:], files, report["api_token"], made)


def tenant_of(index: int) -> str:
    return DEFAULT_TENANT if index < _PER_TENANT else f"fleet{index // _PER_TENANT + 1}"


async def _populate(
    data_dir: Path, total: int, *, sealed: bool, render: bool, by_services: int | None
) -> tuple[list[Phone], dict[str, bytes], dict[str, float]]:
    if total > 0xFFFFFF:
        raise ValueError("the MACs share one OUI: at most 16,777,215 phones")
    settings = load_settings(data_dir)
    platform = Platform(data_dir, settings, SecretBox.load_or_create(data_dir))
    url = db_url_for(data_dir, settings.db_url)
    made: dict[int, Phone] = {}
    started = time.monotonic()
    async with database(url), in_transaction():
        for t in range(1, (total - 1) // _PER_TENANT + 1):
            await tenants.add_tenant(platform, _ACTOR, tenant_of(t * _PER_TENANT))
        for i in range(total):
            if by_services is not None and i % _PER_TENANT >= max(1, by_services):
                continue
            tenant, extension, mac, name = _names(i)
            await users.add_user(platform, _ACTOR, tenant, extension, name)
            device, credential = await devices.add_device(
                platform, _ACTOR, mac, MODEL_ID, tenant_slug=tenant, users=[extension]
            )
            if sealed:
                await devices.seal_device(device)
            made[i] = Phone(mac, credential.username, credential.password, extension, tenant, name)
    timings = {"services": float(len(made)), "services_s": time.monotonic() - started}
    started = time.monotonic()
    if len(made) < total:
        if not sealed:
            raise ValueError("only sealed phones are copied")
        made |= _copy_rest(data_dir, platform.box, total, made)
    timings |= {
        "copied": float(total) - timings["services"],
        "copied_s": time.monotonic() - started,
    }
    phones = [made[i] for i in range(total)]
    files: dict[str, bytes] = {}
    if render:
        async with database(url):
            for phone in phones:
                device = await devices.get_device(phone.mac)
                for name, body in (await rendering.render_all(platform, device)).items():
                    if files.setdefault(name, body) != body:
                        raise RuntimeError(f"{name} renders differently for two phones")
    return phones, files, timings


def _names(index: int) -> tuple[str, str, str, str]:
    """Tenant, extension, MAC and display name of the phone ``index``."""
    extension = str(_FIRST_EXTENSION + index % _PER_TENANT)
    return tenant_of(index), extension, f"{_YEALINK_OUI}{index:06x}", f"Bench Phone {index}"


def _copy_rest(
    data_dir: Path, box: SecretBox, total: int, made: dict[int, Phone]
) -> dict[int, Phone]:
    """Every phone not in ``made``, copied from the first phone of its tenant."""
    copies: dict[int, Phone] = {}
    for first in range(0, total, _PER_TENANT):
        template = made[first]
        batch = []
        for i in range(first, min(total, first + _PER_TENANT)):
            if i in made:
                continue
            tenant, extension, mac, name = _names(i)
            secrets = _clone.Secrets(
                generate_password(20), generate_password(24), generate_password(20)
            )
            batch.append((_clone.Names(mac, extension, name, tenant), secrets))
            copies[i] = Phone(
                mac,
                prov_username_for(parse_mac(mac)),
                secrets.prov_password,
                extension,
                tenant,
                name,
            )
        _clone.copy_phone(
            data_dir / "provd.sqlite3",
            _clone.Names(template.mac, template.extension, template.name, template.tenant),
            batch,
            box.seal,
        )
    return copies


def as_json(phones: list[Phone]) -> list[dict[str, str]]:
    return [asdict(p) for p in phones]


def save(fleet: Fleet, path: Path) -> None:
    """What :func:`load` needs besides the data directory, next to it."""
    path.write_text(
        json.dumps(
            {
                "phones": as_json(fleet.phones),
                "warmup": as_json(fleet.warmup),
                "api_token": fleet.api_token,
                "made": fleet.made,
            }
        )
    )


def load(data_dir: Path, path: Path) -> Fleet:
    """A fleet :func:`save` wrote (its files not rendered)."""
    raw = json.loads(path.read_text())
    return Fleet(
        data_dir,
        [Phone(**p) for p in raw["phones"]],
        [Phone(**p) for p in raw["warmup"]],
        {},
        raw["api_token"],
        raw["made"],
    )
