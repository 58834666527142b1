"""The typed, immutable input of a driver: everything a phone's files depend on.

Services build a :class:`DeviceContext` from the database; drivers read it and
nothing else, which is what makes golden-file tests exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from provd.domain.catalogue import PhoneModel
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import Mac

_SECRET = "secret"
# Field metadata of a credential: :func:`masked` replaces it, whatever the vendor.
_SECRET_FIELD = {_SECRET: True}


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
    password: str = field(metadata=_SECRET_FIELD)
    domain: str
    """The SIP domain (registrar realm) of the user's tenant."""
    label: str


@dataclass(frozen=True, slots=True)
class Provisioning:
    """How the phone reaches provd again: URL, its own credentials, poll interval."""

    base_url: str
    """Directory URL ending in ``/``: the phone appends the file names it asks for."""
    username: str
    password: str = field(metadata=_SECRET_FIELD)
    resync_minutes: int = 1440


@dataclass(frozen=True, slots=True)
class TimeSettings:
    timezone: str = "Europe/Amsterdam"
    """IANA zone name; each driver maps it to its vendor's notation."""
    ntp_servers: tuple[str, ...] = ("pool.ntp.org",)


@dataclass(frozen=True, slots=True)
class Key:
    """A programmed key, resolved for rendering.

    ``value`` depends on the function: the extension a BLF or intercom key
    watches or calls, the number of a speed dial, DTMF tones, a URL, a park
    orbit, or "" when the function takes nothing. ``line`` is the account slot
    (1-based) the key acts on; for a LINE key it is the slot it shows.
    """

    location: KeyLocation
    function: KeyFunction
    value: str
    label: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class PageLabel:
    """The description of one page of an expansion module (module and page are 1-based)."""

    module: int
    page: int
    text: str


@dataclass(frozen=True, slots=True)
class VlanPort:
    vid: int
    """802.1Q VLAN id, 1-4094."""
    priority: int = 0
    """802.1p priority, 0-7."""


@dataclass(frozen=True, slots=True)
class Network:
    lan_vlan: VlanPort | None = None
    """VLAN of the phone's own (LAN/internet) port; None leaves the port untagged."""
    pc_vlan: VlanPort | None = None
    """VLAN of the PC pass-through port; None leaves it untagged."""
    lldp: bool = True


@dataclass(frozen=True, slots=True)
class FirmwareRef:
    """The firmware the device should run, as the phone must fetch it."""

    version: str
    url: str
    """Absolute HTTPS URL on provd; the phone authenticates with its provisioning
    credentials, exactly as for its configuration files."""
    filename: str


@dataclass(frozen=True, slots=True)
class DeviceContext:
    mac: Mac
    model: PhoneModel
    provisioning: Provisioning
    sip_proxy: SipServer
    """Where the phone sends SIP (the PBX's edge proxy); lines register to their domain."""
    admin_password: str = field(metadata=_SECRET_FIELD)
    """Password of the phone's own web UI (and Snom admin mode), random per device."""
    lines: tuple[Line, ...] = ()
    time: TimeSettings = field(default_factory=TimeSettings)
    keys: tuple[Key, ...] = ()
    """Every programmed key; a key location of the model (or of an attached module)
    that is not listed here must be rendered as explicitly empty, so that keys
    removed from a layout disappear from the phone."""
    expansion_modules: int = 0
    """How many of the model's expansion modules are attached (model.expansion type)."""
    page_labels: tuple[PageLabel, ...] = ()
    network: Network = field(default_factory=Network)
    pickup_code: str = "*8"
    """Dialled before an extension to pick up its ringing call (BLF keys)."""
    firmware: FirmwareRef | None = None
    """None: provd does not manage this device's firmware (no pin resolves)."""


def is_secret(owner: type[Any], name: str) -> bool:
    """Whether field ``name`` of context class ``owner`` holds a credential."""
    return any(f.name == name and f.metadata.get(_SECRET, False) for f in fields(owner))


_T = TypeVar("_T")


def masked(value: _T, mask: str) -> _T:
    """``value`` (a :class:`DeviceContext` or any part of it) with every secret field,
    however deeply nested, replaced by ``mask``.

    A driver rendering the result writes the mask exactly where it would write each
    secret, escaped or quoted as the vendor's format wants, and nothing else changes:
    previews mask by what a setting means, not by searching the rendered text for the
    secret (which misses it wherever the format escapes it).
    """
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(masked(item, mask) for item in value)  # type: ignore[return-value]
    if not is_dataclass(value) or isinstance(value, type):
        return value
    changes: dict[str, Any] = {}
    for f in fields(value):
        old = getattr(value, f.name)
        new = mask if f.metadata.get(_SECRET, False) else masked(old, mask)
        if new is not old:
            changes[f.name] = new
    return replace(value, **changes) if changes else value
