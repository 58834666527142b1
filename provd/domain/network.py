"""Network settings phones receive: VLANs of the LAN and PC ports, LLDP, SIP proxy; and
the networks peers may send from (carriers, customer trunks)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from provd.domain.errors import InvalidInput

OFF = "off"
INHERIT = "inherit"
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class Vlan:
    vid: int
    priority: int = 0

    def __str__(self) -> str:
        return f"{self.vid}:{self.priority}"


def parse_vlan(text: str, *, field: str) -> Vlan | None:
    """``ID[:PRIORITY]`` (e.g. ``100:5``) or ``off``; None means untagged."""
    text = text.strip().lower()
    if text == OFF:
        return None
    vid_text, _, prio_text = text.partition(":")
    try:
        vid = int(vid_text)
        priority = int(prio_text) if prio_text else 0
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a VLAN: use ID[:PRIORITY] or off") from None
    if not 1 <= vid <= 4094:
        raise InvalidInput(field, f"VLAN id {vid} is out of range 1-4094")
    if not 0 <= priority <= 7:
        raise InvalidInput(field, f"VLAN priority {priority} is out of range 0-7")
    return Vlan(vid, priority)


def format_vlan(vlan: Vlan | None) -> str:
    return OFF if vlan is None else str(vlan)


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int = 5060

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_proxy(text: str, *, field: str = "sip_proxy") -> Proxy:
    """``HOST[:PORT]``; IPv6 literals in brackets (``[2001:db8::1]:5060``)."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidInput(field, f"{text!r}: unclosed [ in an IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidInput(field, f"{text!r} is not HOST[:PORT]")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
    if not host or len(host) > 253 or not set(host) <= allowed:
        raise InvalidInput(field, f"{text!r} is not a host name or address")
    port = 5060
    if port_text:
        # ASCII digits, at most five: str.isdigit() also takes "²", which int() refuses,
        # and int() raises on a number of over 4,300 digits.
        if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
            raise InvalidInput(field, f"{port_text!r} is not a port")
        port = int(port_text)
    return Proxy(host, port)


def check_pickup_code(code: str, *, field: str = "pickup_code") -> str:
    code = code.strip()
    if not code or len(code) > 8 or not set(code) <= set("0123456789*#"):
        raise InvalidInput(field, "a pickup code is 1 to 8 of 0-9, * and #")
    return code


def parse_switch(text: str, *, field: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise InvalidInput(field, f"{text!r}: use on or off")


def parse_network(
    value: object, *, field: str, what: str = "a network such as 192.0.2.0/24"
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A network (``192.0.2.0/24``; an address alone is its /32 or /128). One with host
    bits set is refused with the network it would be, not silently widened."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"{value!r} is not {what}")
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            wide = ipaddress.ip_network(value.strip(), strict=False)
            raise InvalidInput(
                field, f"{value!r} has host bits set: the network is {wide}"
            ) from None
        raise InvalidInput(field, f"{value!r} is not {what}") from None
