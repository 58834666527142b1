"""What kind of call a call is: the one classification that call records, rating and
the outbound policy share, so a record, its price and a block always agree.

Destinations are classified from libphonenumber's metadata (``numbers.classify``),
seen from the tenant's country; no prefix table is written here.
"""

from __future__ import annotations

from enum import StrEnum

from provd.domain import numbers
from provd.domain.numbers import NumberType


class CallType(StrEnum):
    INTERNAL = "internal"
    """Between users (or groups) of one tenant."""
    INBOUND = "inbound"
    """From a carrier to one of the tenant's numbers."""
    FIXED = "national_fixed"
    MOBILE = "mobile"
    INTERNATIONAL = "international"
    PREMIUM = "premium"
    """Paid-for information numbers (NL 0900, 0906, 0909)."""
    SERVICE = "service"
    """Other service numbers: free (0800), shared cost, personal, voicemail access."""
    EMERGENCY = "emergency"


OUTBOUND_TYPES = (
    CallType.FIXED,
    CallType.MOBILE,
    CallType.INTERNATIONAL,
    CallType.PREMIUM,
    CallType.SERVICE,
    CallType.EMERGENCY,
)

_BY_NUMBER_TYPE = {
    NumberType.INTERNATIONAL: CallType.INTERNATIONAL,
    NumberType.MOBILE: CallType.MOBILE,
    NumberType.PAGER: CallType.MOBILE,
    NumberType.PREMIUM: CallType.PREMIUM,
    NumberType.TOLL_FREE: CallType.SERVICE,
    NumberType.SHARED_COST: CallType.SERVICE,
    NumberType.PERSONAL: CallType.SERVICE,
    NumberType.VOICEMAIL: CallType.SERVICE,
    # Company-wide (UAN, NL 088), VoIP (NL 085) and either-kind numbers are dialled
    # and priced as ordinary fixed numbers.
    NumberType.FIXED: CallType.FIXED,
    NumberType.FIXED_OR_MOBILE: CallType.FIXED,
    NumberType.VOIP: CallType.FIXED,
    NumberType.UAN: CallType.FIXED,
    NumberType.UNKNOWN: CallType.FIXED,
}


def destination_type(e164: str, country: str = numbers.DEFAULT_COUNTRY) -> CallType:
    """The type of an outbound call to ``e164`` (a number in E.164) from ``country``."""
    return _BY_NUMBER_TYPE[numbers.classify(e164, country)]
