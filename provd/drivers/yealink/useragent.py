"""Reading the HTTP User-Agent of Yealink phones.

The header is untrusted: anyone can send it. It may identify a device (model,
MAC) for the web layer to check against what provd already knows, and nothing
here raises, whatever the input.
"""

from __future__ import annotations

import re

from provd.domain.catalogue import Vendor
from provd.domain.mac import try_parse_mac
from provd.drivers.base import UserAgentInfo

# Real User-Agents are well under 100 characters; anything far longer is not a
# phone, and refusing it early bounds the work done on hostile input.
_MAX_LENGTH = 256

# One pattern for every form firmware has used: "Yealink SIP-T46G", "yealink
# SIP-T28P", "Yealink SIP VP-T49G", "Yealink W52P" (DECT, no "SIP-"),
# "Yealink-T46G" (boot stage), with any run of spaces between fields.
_UA = re.compile(
    r"""
    \s*yealink
    (?:[\s-]+sip)?
    (?:[\s-]+vp)?
    [\s-]+
    (?P<model>[a-z0-9]{1,32})
    \s+
    (?P<firmware>\d{1,4}(?:\.\d{1,6}){1,7})
    (?:\s+(?P<tail>\S+))?
    """,
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)

# The field after the firmware is a MAC (with or without colons) on current
# firmware, but a dotted hardware version at the boot stage; only the former
# is read as a MAC.
_MAC_FIELD = re.compile(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}|[0-9a-f]{12}", re.IGNORECASE)


def parse_user_agent(ua: str) -> UserAgentInfo | None:
    """Return what a Yealink User-Agent claims, or None when it is not one."""
    if len(ua) > _MAX_LENGTH:
        return None
    match = _UA.match(ua)
    if match is None:
        return None
    tail = match["tail"]
    mac = try_parse_mac(tail) if tail and _MAC_FIELD.fullmatch(tail) else None
    return UserAgentInfo(
        vendor=Vendor.YEALINK,
        model_name=match["model"].upper(),
        firmware=match["firmware"],
        mac=mac,
    )
