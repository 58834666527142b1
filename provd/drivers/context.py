"""The typed, immutable input of a driver: everything a phone's files depend on.

Services build a :class:`DeviceContext` from the database; drivers read it and
nothing else, which is what makes golden-file tests exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from provd.domain.catalogue import PhoneModel
from provd.domain.mac import Mac


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


@dataclass(frozen=True, slots=True)
class SipServer:
    host: str
    port: int = 5060
    transport: Transport = Transport.UDP


@dataclass(frozen=True, slots=True)
class Line:
    """One SIP account on one line slot of the phone (slot is 1-based)."""

    slot: int
    extension: str
    display_name: str
    auth_user: str
    password: str
    domain: str
    """The SIP domain (registrar realm) of the user's tenant."""
    label: str


@dataclass(frozen=True, slots=True)
class Provisioning:
    """How the phone reaches provd again: URL, its own credentials, poll interval."""

    base_url: str
    """Directory URL ending in ``/``: the phone appends the file names it asks for."""
    username: str
    password: str
    resync_minutes: int = 1440


@dataclass(frozen=True, slots=True)
class TimeSettings:
    timezone: str = "Europe/Amsterdam"
    """IANA zone name; each driver maps it to its vendor's notation."""
    ntp_servers: tuple[str, ...] = ("pool.ntp.org",)


@dataclass(frozen=True, slots=True)
class DeviceContext:
    mac: Mac
    model: PhoneModel
    provisioning: Provisioning
    sip_proxy: SipServer
    """Where the phone sends SIP (the PBX's edge proxy); lines register to their domain."""
    admin_password: str
    """Password of the phone's own web UI (and Snom admin mode), random per device."""
    lines: tuple[Line, ...] = ()
    time: TimeSettings = field(default_factory=TimeSettings)
