"""Time zones as each vendor spells them.

Tenants choose an IANA zone; phones want their vendor's notation. Only zones
listed here can be chosen, so a driver never meets one it cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass

from provd.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Zone:
    iana: str
    utc_offset: int
    """Standard-time offset in whole hours, as Yealink's ``local_time.time_zone`` wants it."""
    yealink_name: str
    snom_code: str
    dst: bool
    """Whether the zone follows EU summer time (last Sunday of March to last Sunday of October)."""


ZONES: tuple[Zone, ...] = (
    Zone("UTC", 0, "United Kingdom(London)", "GMT-0", False),
    Zone("Europe/Amsterdam", 1, "Netherlands(Amsterdam)", "NLD+1", True),
    Zone("Europe/Brussels", 1, "Belgium(Brussels)", "BEL+1", True),
    Zone("Europe/Luxembourg", 1, "Luxembourg(Luxembourg)", "LUX+1", True),
    Zone("Europe/Berlin", 1, "Germany(Berlin)", "GER+1", True),
    Zone("Europe/Paris", 1, "France(Paris)", "FRA+1", True),
    Zone("Europe/London", 0, "United Kingdom(London)", "GBR-0", True),
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
