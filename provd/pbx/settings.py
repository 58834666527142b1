"""Where the PBX listens and stores things: one frozen value, checked once.

Every address and port is validated here, so the values rendered into
``provd-local.cfg`` cannot inject configuration lines.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, get_type_hints

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


_OPTION = "provd.pbx.option"
"""Metadata key marking a field as a site option (see :data:`PBX_OPTIONS`)."""


def _option(default: Any, help: str, *, serve_flag: str | None = None) -> Any:
    """A field that operators set: its default here is the only one; ``provd serve``,
    ``python -m provd.pbx`` and their ``PROVD_PBX_*`` variables read it from here."""
    return field(default=default, metadata={_OPTION: (help, serve_flag)})


@dataclass(frozen=True, slots=True)
class PbxSettings:
    """Everything site-specific about the Kamailio + rtpengine pair.

    Defaults suit a single host: SIP on all of loopback is useless to phones,
    so ``sip_address`` is normally set to the LAN/public address by the caller.
    """

    data_dir: Path
    sip_address: str = _option("127.0.0.1", "Kamailio's SIP address.")
    sip_port: int = _option(5060, "Kamailio's SIP port.")
    advertised_address: str | None = _option(None, "The SIP address phones see, behind NAT.")
    """The address phones see when Kamailio sits behind NAT (``advertise``)."""
    rpc_address: str = _option("127.0.0.1", "Kamailio's JSON-RPC address.")
    rpc_port: int = _option(5081, "Kamailio's JSON-RPC port.")
    route_address: str | None = _option(
        None, "Where provd answers Kamailio's route questions (default: the RPC address)."
    )
    """provd's listener for Kamailio's per-call route questions. By default on the
    address provd reaches Kamailio's RPC at: loopback, or the private address an
    external Kamailio and provd share."""
    route_port: int = _option(5082, "Port of provd's route listener for Kamailio.")
    rtpengine_ng_address: str = _option("127.0.0.1", "rtpengine's ng address.")
    rtpengine_ng_port: int = _option(2223, "rtpengine's ng port.")
    media_address: str = _option("127.0.0.1", "rtpengine's media address.")
    """rtpengine's media interface: the address written into every SDP."""
    media_advertised_address: str | None = _option(
        None, "The media address phones see, behind NAT."
    )
    rtp_port_min: int = _option(30000, "Lowest RTP port.")
    rtp_port_max: int = _option(39999, "Highest RTP port.")
    """rtpengine holds a call's four ports for 30 s after it ends: 10,000 ports carry
    2,500 calls in progress or just ended (bench/call_setup.py ran out at 1,000)."""
    media_app_address: str | None = _option(
        None,
        "provd's media application's loopback address (default: the SIP address when "
        "that is loopback, else 127.0.0.1).",
    )
    """Where provd's media application (IVR menus) listens for Kamailio and sends RTP:
    always a loopback address, as a call from there is trusted by Kamailio."""
    media_app_port: int = _option(5090, "provd's media application's SIP port.")
    media_app: bool = _option(
        True, "Run provd's media application (IVR menus, voicemail).", serve_flag="pbx-media"
    )
    """Without it, a number or extension on a menu is answered 503."""
    media_app_rtp_min: int = _option(40000, "Lowest RTP port of the media application.")
    media_app_rtp_max: int = _option(44999, "Highest RTP port of the media application.")
    db_url: str | None = None
    """None: an SQLite file of its own in the data dir; else a postgres:// URL."""
    children: int = _option(4, "Kamailio's worker processes per listener (1-64).")
    flood_limit: int | None = _option(
        200, "Requests per 2 s from one address before it is banned (0 or off: no limit)."
    )
    """Requests per 2 s from one source address before it is banned (None: off).
    A whole office behind one NAT re-registering at once must stay under it."""
    with_blf: bool = _option(
        True,
        "Presence for busy-lamp-field keys (phones get BLF keys from layouts).",
        serve_flag="pbx-blf",
    )
    shm_mb: int = 256
    """Kamailio's shared memory. With BLF every call publishes its dialog state to
    Kamailio itself: 64 MB ran out at 20-40 calls/s (bench/call_setup.py measured
    148-241 MB in use at 100-180 calls/s)."""
    pkg_mb: int = 8
    tcp: bool = True
    log_level: int = 1

    def __post_init__(self) -> None:
        if not self.data_dir.is_absolute():
            # Kamailio and rtpengine run with DATA/pbx as their working directory, so a
            # relative path written into their config or argv would point elsewhere.
            raise ValueError(f"data_dir must be absolute, not {self.data_dir}")
        for name in (
            "sip_address",
            "rpc_address",
            "rtpengine_ng_address",
            "media_address",
        ):
            _check_ip(getattr(self, name), name)
        for name in ("advertised_address", "media_advertised_address", "route_address"):
            value = getattr(self, name)
            if value is not None:
                _check_ip(value, name)
        for name in (
            "sip_port",
            "rpc_port",
            "route_port",
            "rtpengine_ng_port",
            "media_app_port",
            "rtp_port_min",
            "rtp_port_max",
            "media_app_rtp_min",
            "media_app_rtp_max",
        ):
            _check_port(getattr(self, name), name)
        if self.media_app_address is not None:
            _check_ip(self.media_app_address, "media_app_address")
            if not ipaddress.ip_address(self.media_app_address).is_loopback:
                # Kamailio trusts calls from it: nothing outside may reach it.
                raise InvalidInput("media_app_address", "must be a loopback address")
        if self.media_app_rtp_min >= self.media_app_rtp_max:
            raise InvalidInput("media_app_rtp_max", "must be above media_app_rtp_min")
        if (
            self.media_app_host == self.media_address
            and self.media_app_rtp_min <= self.rtp_port_max
            and self.rtp_port_min <= self.media_app_rtp_max
        ):
            raise InvalidInput(
                "media_app_rtp_min", "the media application's RTP ports overlap rtpengine's"
            )
        if self.rpc_address == self.sip_address and self.rpc_port == self.sip_port:
            raise InvalidInput("rpc_port", "must differ from the SIP port")
        taken = {(self.sip_address, self.sip_port), (self.rpc_address, self.rpc_port)}
        if (self.route_host, self.route_port) in taken:
            raise InvalidInput("route_port", "must differ from Kamailio's SIP and RPC ports")
        taken.add((self.route_host, self.route_port))
        if (self.media_app_host, self.media_app_port) in taken:
            raise InvalidInput(
                "media_app_port", "must differ from Kamailio's SIP and RPC ports and the route port"
            )
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
    def media_app_host(self) -> str:
        """The media application's address: as set, else Kamailio's SIP address when
        that is on loopback (a host's own test or demo PBX), else 127.0.0.1."""
        if self.media_app_address is not None:
            return self.media_app_address
        if ipaddress.ip_address(self.sip_address).is_loopback:
            return self.sip_address
        return "127.0.0.1"

    @property
    def sip_hostport(self) -> str:
        return _hostport(self.sip_address, self.sip_port)

    @property
    def rpc_url(self) -> str:
        return f"http://{_hostport(self.rpc_address, self.rpc_port)}/RPC"

    @property
    def route_host(self) -> str:
        return self.route_address or self.rpc_address

    @property
    def route_url(self) -> str:
        return f"http://{_hostport(self.route_host, self.route_port)}"

    @property
    def rtpengine_ng(self) -> tuple[str, int]:
        return (self.rtpengine_ng_address, self.rtpengine_ng_port)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class PbxOption:
    """One :class:`PbxSettings` field as an operator sets it: on ``provd serve``'s
    command line, ``python -m provd.pbx``'s, or in the ``PROVD_PBX_*`` environment."""

    name: str
    """The field's name."""
    kind: type
    """``int``, ``str`` or ``bool``."""
    nullable: bool
    default: Any
    help: str
    serve_flag: str
    """The flag without dashes on ``provd serve``, where a few carry a ``pbx-`` prefix."""

    @property
    def flag(self) -> str:
        """The flag without dashes on ``python -m provd.pbx``."""
        return self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "PROVD_PBX_" + self.name.upper()

    def parse(self, value: object) -> Any:
        """A command-line or environment value as the field holds it.

        Unset or empty means the default: compose passes unset variables as
        empty strings. An optional number is off with ``0`` or ``off``.
        """
        if value is None or value == "":
            return self.default
        if isinstance(value, self.kind) and not (self.kind is int and isinstance(value, bool)):
            return None if self.nullable and value == 0 else value
        text = str(value).strip().lower()
        if self.kind is bool:
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise InvalidInput(self.name, f"{value!r} is not one of on/off, 1/0, yes/no")
        if self.kind is int:
            if self.nullable and text in ("0", "off", "none"):
                return None
            try:
                return int(text)
            except ValueError:
                raise InvalidInput(self.name, f"{value!r} is not a number") from None
        return str(value)


def _options() -> tuple[PbxOption, ...]:
    hints = get_type_hints(PbxSettings)
    table = []
    for f in fields(PbxSettings):
        if _OPTION not in f.metadata:
            continue
        help, serve_flag = f.metadata[_OPTION]
        # ``int | None`` is an optional int; every other hint is a plain type.
        args = getattr(hints[f.name], "__args__", (hints[f.name],))
        [kind] = [k for k in args if k is not type(None)]
        flag = serve_flag or f.name.replace("_", "-")
        table.append(PbxOption(f.name, kind, len(args) > 1, f.default, help, flag))
    return tuple(table)


PBX_OPTIONS = _options()
"""Every site option, in the order the commands list them."""


@dataclass(frozen=True, slots=True)
class PbxSecrets:
    """Shared between provd and its Kamailio, kept in the PBX dir with mode 0600.

    ``rpc_token`` guards the JSON-RPC endpoint (it has no auth of its own);
    ``notify_token`` marks provd's own check-sync NOTIFYs so that no phone can
    send one to another phone.
    """

    rpc_token: str
    notify_token: str
    route_token: str

    @classmethod
    def load_or_create(cls, pbx_dir: Path) -> PbxSecrets:
        pbx_dir.mkdir(parents=True, exist_ok=True)
        path = pbx_dir / _SECRETS_FILE
        if not path.exists():
            data = {name: secrets.token_hex(24) for name in _TOKENS}
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process won the race; read what it wrote
            else:
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f)
        data = json.loads(path.read_text())
        missing = [name for name in _TOKENS if name not in data]
        if missing:
            # A data dir from before a token existed: add it, keep the others.
            data.update({name: secrets.token_hex(24) for name in missing})
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)
        return cls(**{name: str(data[name]) for name in _TOKENS})


_TOKENS = ("rpc_token", "notify_token", "route_token")
