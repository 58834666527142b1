"""Customer SIP trunks: the rules that do not need the database.

A trunk connects a customer's own PBX (3CX, Asterisk, FreePBX, Yeastar, Avaya) to the
platform in place of phones. It authenticates with one of two accounts (primary and
secondary: digest on REGISTER and INVITE, as every subscriber) or by its source
address alone; either way its allowed networks are checked on every request, as a
leaked password must not be enough (seed 001, "IP whitelist").

Numbers cross a trunk in the trunk's own notation (:data:`NumberFormat`): E.164 with
``+``, the international ``00`` form, or national (``0201234567``; a foreign number
then keeps the ``00`` form, as a PBX in that country dials it).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from provd.domain import numbers
from provd.domain.errors import InvalidInput
from provd.domain.network import parse_network

NumberFormat = Literal["e164", "00", "national"]
NUMBER_FORMATS: tuple[NumberFormat, ...] = ("e164", "00", "national")
CallerIdPolicy = Literal["replace", "refuse"]
"""A caller ID outside the trunk's numbers: sent as the trunk's main number, or refused."""
CALLER_ID_POLICIES: tuple[CallerIdPolicy, ...] = ("replace", "refuse")
Brand = Literal["3cx", "asterisk", "freepbx", "yeastar", "avaya", "other"]
BRANDS: tuple[Brand, ...] = ("3cx", "asterisk", "freepbx", "yeastar", "avaya", "other")
AccountRole = Literal["primary", "secondary"]
ACCOUNT_ROLES: tuple[AccountRole, ...] = ("primary", "secondary")

MAX_CHANNELS = 1000
_ADDRESS_OR_NETWORK = "an address or network such as 192.0.2.10"
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def check_name(name: object, *, field: str = "name") -> str:
    """A trunk name: 1-32 lower-case letters, digits and dashes (it becomes part of the
    accounts' usernames)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name.strip().lower()):
        raise InvalidInput(
            field,
            f"{name!r} is not a trunk name: use 1-32 lower-case letters, digits and dashes,"
            " not starting or ending with a dash",
        )
    return name.strip().lower()


def account_username(trunk: str, role: AccountRole) -> str:
    """The digest username (and AoR user) of a trunk's account. Never all digits, so it
    cannot collide with an extension of the same SIP domain."""
    return f"{trunk}-{role}"


def check_channels(value: object, *, field: str = "channels") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"{value!r} is not a whole number")
    if not 1 <= value <= MAX_CHANNELS:
        raise InvalidInput(field, f"{value} is not between 1 and {MAX_CHANNELS}")
    return value


def check_format(value: object, *, field: str = "format") -> NumberFormat:
    for fmt in NUMBER_FORMATS:
        if value == fmt:
            return fmt
    raise InvalidInput(field, f"{value!r} is not one of {', '.join(NUMBER_FORMATS)}")


def check_networks(values: object, *, field: str = "allow_ip") -> tuple[str, ...]:
    """The allowed networks, at least one (``192.0.2.10`` is its /32). A network wider
    than a /16 (IPv6: /48) is refused: it would let half an ISP use the trunk."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise InvalidInput(field, "must be a list of addresses or networks")
    out: list[str] = []
    for value in values:
        network = parse_network(value, field=field, what=_ADDRESS_OR_NETWORK)
        narrowest = 16 if network.version == 4 else 48
        if network.prefixlen < narrowest:
            raise InvalidInput(field, f"{network} is too wide: allow at most a /{narrowest}")
        if str(network) not in out:
            out.append(str(network))
    if not out:
        raise InvalidInput(field, "a trunk needs at least one allowed address")
    return tuple(out)


def allows(networks: tuple[str, ...], address: str) -> bool:
    """Whether ``address`` (a packet's source) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    for text in networks:
        network = ipaddress.ip_network(text)
        if ip.version == network.version and ip in network:
            return True
    return False


def format_number(e164: str, fmt: NumberFormat, country: str) -> str:
    """``+31201234567`` as a trunk in ``country`` with notation ``fmt`` wants it."""
    if fmt == "e164":
        return e164
    if fmt == "00":
        return "00" + e164[1:]
    return numbers.national_form(e164, country)
