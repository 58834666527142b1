"""The time zones as Snom phones code them (the ``timezone`` setting), by IANA name: one
for every zone of :data:`provd.domain.timezones.ZONES`."""

from __future__ import annotations

NOTATION: dict[str, str] = {
    "UTC": "GMT-0",
    "Europe/Amsterdam": "NLD+1",
    "Europe/Brussels": "BEL+1",
    "Europe/Luxembourg": "LUX+1",
    "Europe/Berlin": "GER+1",
    "Europe/Paris": "FRA+1",
    "Europe/London": "GBR-0",
}
