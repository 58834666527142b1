"""MAC addresses as phones and their labels spell them.

A MAC is an identifier, never a secret: knowing one grants nothing.
"""

from __future__ import annotations

import re
from typing import NewType

from provd.domain.errors import InvalidInput

Mac = NewType("Mac", str)
"""Twelve lower-case hex digits, no separators: the form stored and used in Yealink file names."""

_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX12 = re.compile(r"[0-9a-f]{12}")


def parse_mac(text: str, *, field: str = "mac") -> Mac:
    """Accept the common notations (``00:15:65:aa:bb:cc``, ``0015.65aa.bbcc``,
    ``00-15-65-AA-BB-CC``, ``001565AABBCC``) and return the canonical form."""
    cleaned = _SEPARATORS.sub("", text.strip()).lower()
    if not _HEX12.fullmatch(cleaned):
        raise InvalidInput(
            field, f"{text!r} is not a MAC address: it must be 12 hexadecimal digits"
        )
    if cleaned == "000000000000" or cleaned == "ffffffffffff":
        raise InvalidInput(field, f"{text!r} is not a device MAC address")
    if int(cleaned[1], 16) & 1:
        raise InvalidInput(field, f"{text!r} is a multicast address, not a device MAC address")
    return Mac(cleaned)


def try_parse_mac(text: str) -> Mac | None:
    try:
        return parse_mac(text)
    except InvalidInput:
        return None


def with_colons(mac: Mac) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2))


def upper(mac: Mac) -> str:
    """Snom spells MACs in upper case in file names and User-Agents."""
    return mac.upper()


def oui(mac: Mac) -> str:
    return mac[:6]
