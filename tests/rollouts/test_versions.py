"""The version a phone runs, read from what it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from provd.db.models import Device
from provd.services.firmware.reported import sip_firmware_version
from provd.services.rollouts import running_version
from tests.rollouts.conftest import NEW, OLD


@pytest.mark.parametrize(
    ("vendor", "user_agent", "version"),
    [
        ("yealink", "Yealink SIP-T46G 28.83.0.130", "28.83.0.130"),
        ("yealink", "Yealink SIP-T46G 28.83.0.130 00:15:65:aa:bb:cc", "28.83.0.130"),
        ("snom", "snomD785/10.1.33.33", "10.1.33.33"),
        ("snom", "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 000413922D24)", "10.1.33.33"),
        # Another vendor's User-Agent on a line says nothing about this phone.
        ("yealink", "snomD785/10.1.33.33", None),
        ("snom", "Yealink SIP-T46G 28.83.0.130", None),
        ("yealink", "Linphone/5.2", None),
        ("yealink", "Yealink SIP-T46G " + "9" * 5000, None),
        ("polycom", "PolycomVVX-VVX_410-UA/6.4.0", None),
    ],
)
def test_version_in_a_sip_user_agent(vendor: str, user_agent: str, version: str | None) -> None:
    assert sip_firmware_version(vendor, user_agent) == version


def test_running_version_is_the_newest_report() -> None:
    now = datetime.now(UTC)
    device = Device(reported_firmware=OLD, reported_firmware_at=now - timedelta(hours=1))
    assert running_version(device) == OLD
    device.sip_firmware, device.sip_firmware_at = NEW, now
    assert running_version(device) == NEW
    device.reported_firmware_at = now + timedelta(seconds=1)
    assert running_version(device) == OLD
    assert running_version(Device()) is None
