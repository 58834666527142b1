"""The time zones a tenant can choose.

Tenants choose an IANA zone; phones want their vendor's notation, which each vendor
folder spells (``provd/drivers/<vendor>/timezones.py``, a test holds every vendor to
every zone here). Only zones listed here can be chosen, so a driver never meets one it
cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass

from provd.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Zone:
    iana: str
    utc_offset: int
    """Standard-time offset in whole hours."""
    dst: bool
    """Whether the zone follows EU summer time (last Sunday of March to last Sunday of October)."""


ZONES: tuple[Zone, ...] = (
    Zone("UTC", 0, False),
    Zone("Europe/Amsterdam", 1, True),
    Zone("Europe/Brussels", 1, True),
    Zone("Europe/Luxembourg", 1, True),
    Zone("Europe/Berlin", 1, True),
    Zone("Europe/Paris", 1, True),
    Zone("Europe/London", 0, True),
)

_BY_NAME = {z.iana: z for z in ZONES}


def get_zone(name: str, *, field: str = "timezone") -> Zone:
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise InvalidInput(
            field, f"unsupported time zone {name!r}; choose one of {known}"
        ) from None
