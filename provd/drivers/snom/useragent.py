"""What a Snom desk phone says about itself in its HTTP User-Agent.

The forms seen in the field (firmware 8.4 to 10.1)::

    Mozilla/4.0 (compatible; snom870-SIP 8.4.35 SPEAr300 SNOM 1.4)
    Mozilla/4.0 (compatible; snom710-SIP 8.7.5.35 1.1.5-IFX-05.01.12 000413741767)
    Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5
                 000413922D24 SXM:0 UXM:0)
    Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00001-gd311851f1
                 (Feb 25 2019 - 14:19:43) 00041396D9B4 SXM:0 UXM:0 UXMC:0)

Over SIP the same phone says ``snomD785/10.1.33.33`` (:func:`sip_firmware`).

The header is untrusted: it only ever helps identify a device, and a string
that does not fit yields None rather than an error.
"""

from __future__ import annotations

import re

from provd.domain.catalogue import Vendor
from provd.domain.mac import Mac, try_parse_mac
from provd.drivers.base import UserAgentInfo

# Real headers are well under this; the cap bounds the work done on hostile input.
_MAX_LENGTH = 1024

# Firmware 6.5 and older ("snom lid 3605") name no model and cannot read XML
# settings, so they are deliberately not matched.
_PRODUCT = re.compile(
    r"\bsnom(?P<model>[a-z0-9]{1,16})-sip\s+(?P<firmware>[0-9][0-9a-z.\-]{0,39})",
    re.IGNORECASE | re.ASCII,
)
# Tokens are split on parentheses too, so the build date group of later
# firmware cannot glue itself onto the MAC.
_TOKEN = re.compile(r"[^\s()]+")
_HEX12 = re.compile(r"[0-9a-f]{12}", re.IGNORECASE)
# UXM counts D3/D7 modules, UXMC colour modules (D7C/D8C); SXM is not a key
# module count as far as we know, so it is left out.
_MODULE_COUNT = re.compile(r"(UXMC?):([0-9]{1,3})", re.ASCII)


# The SIP User-Agent: "snomD785/10.1.33.33", unlike the HTTP one.
_SIP_PRODUCT = re.compile(
    r"\bsnom(?P<model>[a-z0-9]{1,16})/(?P<firmware>[0-9][0-9a-z.\-]{0,39})(?![0-9a-z.\-])",
    re.IGNORECASE | re.ASCII,
)


def parse_user_agent(ua: str) -> UserAgentInfo | None:
    """Return what a Snom User-Agent tells, or None when it is not one we can use."""
    text = ua[:_MAX_LENGTH]
    product = _PRODUCT.search(text)
    if product is None:
        return None
    tokens = _TOKEN.findall(text[product.end() :])
    return UserAgentInfo(
        vendor=Vendor.SNOM,
        model_name=product["model"].upper(),
        firmware=product["firmware"],
        mac=_mac(tokens),
        expansion_modules=_expansion_modules(tokens),
    )


def _mac(tokens: list[str]) -> Mac | None:
    # A build string comes before the MAC and a module count after it, so the
    # last token that is exactly twelve hex digits is the MAC.
    for token in reversed(tokens):
        if _HEX12.fullmatch(token):
            return try_parse_mac(token)
    return None


def _expansion_modules(tokens: list[str]) -> int | None:
    counts = [int(m[2]) for token in tokens if (m := _MODULE_COUNT.fullmatch(token))]
    return sum(counts) if counts else None


def sip_firmware(ua: str) -> str | None:
    """The firmware in a Snom SIP User-Agent; the HTTP form is accepted too."""
    text = ua[:_MAX_LENGTH]
    if (info := parse_user_agent(text)) is not None:
        return info.firmware
    if (m := _SIP_PRODUCT.search(text)) is not None:
        return m["firmware"]
    return None
