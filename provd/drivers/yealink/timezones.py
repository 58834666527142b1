"""The time zones as Yealink phones name them (``local_time.time_zone_name``), by IANA
name: one for every zone of :data:`provd.domain.timezones.ZONES`."""

from __future__ import annotations

NOTATION: dict[str, str] = {
    "UTC": "United Kingdom(London)",
    "Europe/Amsterdam": "Netherlands(Amsterdam)",
    "Europe/Brussels": "Belgium(Brussels)",
    "Europe/Luxembourg": "Luxembourg(Luxembourg)",
    "Europe/Berlin": "Germany(Berlin)",
    "Europe/Paris": "France(Paris)",
    "Europe/London": "United Kingdom(London)",
}
