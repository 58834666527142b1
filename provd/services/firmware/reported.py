"""The firmware each phone reports in its SIP User-Agent, recorded per device.

Kamailio keeps the User-Agent of every REGISTER it accepted (Digest-authenticated
with the line's SIP credentials) on the binding, and ``ul.dump`` returns it, so
one RPC tells what every registered phone runs. The version is read with the
device's own vendor's rules: a User-Agent of another vendor is not believed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from provd.db.models import Device
from provd.drivers.registry import driver_for
from provd.pbx import Registration
from provd.services.pbx import LineRegistration, line_registrations

# A registration refreshes every few minutes; rewriting "seen at" on each would
# be one write per phone per sweep for no news.
SEEN_REFRESH = timedelta(minutes=5)
_MAX_UA = 256


def sip_firmware_version(vendor: str, user_agent: str) -> str | None:
    """The firmware version in a SIP User-Agent, when it is one of ``vendor``'s phones."""
    try:
        driver = driver_for(vendor)
    except ValueError:
        return None
    version = driver.sip_firmware(user_agent[:_MAX_UA])
    return version[:64] if version is not None else None


@dataclass(frozen=True, slots=True)
class SipState:
    """What the PBX shows of one device right now."""

    registered: bool
    """At least one line has a binding attributed to this device."""
    versions: frozenset[str]
    """Every version its lines' User-Agents report (two during a reboot, briefly)."""
    version: str | None
    """The version of the freshest binding."""
    lines: tuple[LineRegistration, ...]


def _state(device: Device, lines: Sequence[LineRegistration]) -> SipState:
    bound = [line.binding for line in lines if line.binding is not None]
    versions = {
        v: b.expires_at
        for b in bound
        if (v := sip_firmware_version(device.vendor, b.user_agent)) is not None
    }
    newest = max(versions, key=lambda v: versions[v]) if versions else None
    return SipState(bool(bound), frozenset(versions), newest, tuple(lines))


async def note_sip_firmware(device: Device, version: str, now: datetime | None = None) -> bool:
    """Store the reported version; True when a row was written."""
    now = now or datetime.now(UTC)
    seen = device.sip_firmware_at
    if device.sip_firmware == version and seen is not None and now - seen < SEEN_REFRESH:
        return False
    await Device.filter(id=device.id).update(sip_firmware=version, sip_firmware_at=now)
    device.sip_firmware, device.sip_firmware_at = version, now
    return True


async def observe(
    devices: Sequence[Device], registrations: Mapping[str, Registration]
) -> dict[int, SipState]:
    """Per device id, its registration state; the versions seen are recorded on the way."""
    if not devices:
        return {}
    per_mac = await line_registrations(devices, registrations)
    now = datetime.now(UTC)
    out = {}
    for device in devices:
        state = _state(device, per_mac[device.mac])
        if state.version is not None:
            await note_sip_firmware(device, state.version, now)
        out[device.id] = state
    return out


async def record_all(registrations: Mapping[str, Registration]) -> int:
    """Record the version of every device with a line registered; how many were seen."""
    if not registrations:
        return 0
    devices = await Device.filter(lines__id__isnull=False).distinct()
    states = await observe(devices, registrations)
    return sum(1 for s in states.values() if s.version is not None)
