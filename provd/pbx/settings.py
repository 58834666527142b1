"""Where the PBX listens and stores things: one frozen value, checked once.

Every address and port is validated here, so the values rendered into
``provd-local.cfg`` cannot inject configuration lines.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from provd.domain.errors import InvalidInput

KAMAILIO_SQLITE = "kamailio.sqlite3"
PBX_DIR = "pbx"
_SECRETS_FILE = "secrets.json"
_POSTGRES_SCHEMES = ("postgres", "postgresql", "asyncpg", "psycopg")


class DbEngine(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


def _check_ip(value: str, field: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an IP address") from None


def _check_port(value: int, field: str) -> int:
    if not 1 <= value <= 65535:
        raise InvalidInput(field, f"{value} is not a port number")
    return value


def _hostport(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class PbxSettings:
    """Everything site-specific about the Kamailio + rtpengine pair.

    Defaults suit a single host: SIP on all of loopback is useless to phones,
    so ``sip_address`` is normally set to the LAN/public address by the caller.
    """

    data_dir: Path
    sip_address: str = "127.0.0.1"
    sip_port: int = 5060
    advertised_address: str | None = None
    """The address phones see when Kamailio sits behind NAT (``advertise``)."""
    rpc_address: str = "127.0.0.1"
    rpc_port: int = 5081
    rtpengine_ng_address: str = "127.0.0.1"
    rtpengine_ng_port: int = 2223
    media_address: str = "127.0.0.1"
    """rtpengine's media interface: the address written into every SDP."""
    media_advertised_address: str | None = None
    rtp_port_min: int = 30000
    rtp_port_max: int = 30999
    db_url: str | None = None
    """None: an SQLite file of its own in the data dir; else a postgres:// URL."""
    children: int = 4
    flood_limit: int | None = 200
    """Requests per 2 s from one source address before it is banned (None: off).
    A whole office behind one NAT re-registering at once must stay under it."""
    with_blf: bool = False
    shm_mb: int = 64
    pkg_mb: int = 8
    tcp: bool = True
    log_level: int = 1

    def __post_init__(self) -> None:
        if not self.data_dir.is_absolute():
            # Kamailio and rtpengine run with DATA/pbx as their working directory, so a
            # relative path written into their config or argv would point elsewhere.
            raise ValueError(f"data_dir must be absolute, not {self.data_dir}")
        for name in ("sip_address", "rpc_address", "rtpengine_ng_address", "media_address"):
            _check_ip(getattr(self, name), name)
        for name in ("advertised_address", "media_advertised_address"):
            value = getattr(self, name)
            if value is not None:
                _check_ip(value, name)
        for name in ("sip_port", "rpc_port", "rtpengine_ng_port", "rtp_port_min", "rtp_port_max"):
            _check_port(getattr(self, name), name)
        if self.rpc_address == self.sip_address and self.rpc_port == self.sip_port:
            raise InvalidInput("rpc_port", "must differ from the SIP port")
        if self.rtp_port_min >= self.rtp_port_max:
            raise InvalidInput("rtp_port_min", "must be below rtp_port_max")
        if self.flood_limit is not None and self.flood_limit < 1:
            raise InvalidInput("flood_limit", "must be positive (or None to disable)")
        if not 1 <= self.children <= 64:
            raise InvalidInput("children", "must be between 1 and 64")
        if not 0 <= self.log_level <= 3:
            raise InvalidInput("log_level", "must be between 0 and 3")
        if self.db_url is not None and self.engine is not DbEngine.POSTGRES:
            raise InvalidInput("db_url", "only postgres:// URLs are supported for Kamailio")

    @classmethod
    def for_provd(cls, data_dir: Path, provd_db_url: str | None, **overrides: Any) -> PbxSettings:
        """Kamailio's tables go where provd's are when provd runs on PostgreSQL,
        and into their own SQLite file otherwise (never provd's SQLite file:
        Kamailio writing into it would fight provd for the write lock)."""
        db_url = None
        if provd_db_url and provd_db_url.split("://", 1)[0] in _POSTGRES_SCHEMES:
            db_url = provd_db_url
        return cls(data_dir=data_dir, db_url=db_url, **overrides)

    @property
    def engine(self) -> DbEngine:
        if self.db_url is None:
            return DbEngine.SQLITE
        if self.db_url.split("://", 1)[0] in _POSTGRES_SCHEMES:
            return DbEngine.POSTGRES
        return DbEngine.SQLITE

    @property
    def pbx_dir(self) -> Path:
        return self.data_dir / PBX_DIR

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / KAMAILIO_SQLITE

    @property
    def kamailio_db_url(self) -> str:
        """The URL in Kamailio's own notation."""
        if self.db_url is None:
            return f"sqlite://{self.sqlite_path.resolve()}"
        # tortoise's query options (?minsize=...) mean nothing to Kamailio.
        return "postgres://" + self.db_url.split("://", 1)[1].split("?", 1)[0]

    @property
    def usrloc_db_mode(self) -> int:
        # SQLite has one writer at a time and db_sqlite no busy timeout:
        # write-through (1) loses registrations under load, write-back (2)
        # flushes from one timer process. PostgreSQL handles write-through.
        return 2 if self.engine is DbEngine.SQLITE else 1

    @property
    def sip_hostport(self) -> str:
        return _hostport(self.sip_address, self.sip_port)

    @property
    def rpc_url(self) -> str:
        return f"http://{_hostport(self.rpc_address, self.rpc_port)}/RPC"

    @property
    def rtpengine_ng(self) -> tuple[str, int]:
        return (self.rtpengine_ng_address, self.rtpengine_ng_port)


@dataclass(frozen=True, slots=True)
class PbxSecrets:
    """Shared between provd and its Kamailio, kept in the PBX dir with mode 0600.

    ``rpc_token`` guards the JSON-RPC endpoint (it has no auth of its own);
    ``notify_token`` marks provd's own check-sync NOTIFYs so that no phone can
    send one to another phone.
    """

    rpc_token: str
    notify_token: str

    @classmethod
    def load_or_create(cls, pbx_dir: Path) -> PbxSecrets:
        pbx_dir.mkdir(parents=True, exist_ok=True)
        path = pbx_dir / _SECRETS_FILE
        if not path.exists():
            data = {"rpc_token": secrets.token_hex(24), "notify_token": secrets.token_hex(24)}
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process won the race; read what it wrote
            else:
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f)
        data = json.loads(path.read_text())
        return cls(rpc_token=str(data["rpc_token"]), notify_token=str(data["notify_token"]))
