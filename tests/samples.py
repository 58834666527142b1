"""Fixed sample inputs shared by driver and service tests."""

from __future__ import annotations

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.mac import Mac, parse_mac
from provd.drivers.context import DeviceContext, Line, Provisioning, SipServer, TimeSettings

SAMPLE_MACS = {
    Vendor.YEALINK: parse_mac("00:15:65:4a:a9:37"),
    Vendor.SNOM: parse_mac("00:04:13:92:2d:24"),
}


def sample_context(model: PhoneModel, mac: Mac | None = None) -> DeviceContext:
    """A device with two lines, one of them with characters that need escaping."""
    return DeviceContext(
        mac=mac or SAMPLE_MACS[model.vendor],
        model=model,
        provisioning=Provisioning(
            base_url="https://provd.example.net:8443/",
            username="dev-4aa937",
            password="Pr0v&<Secret>\"'x",
            resync_minutes=1440,
        ),
        sip_proxy=SipServer(host="sip.example.net", port=5060),
        admin_password="Adm1n-R4nd0m_pw",
        lines=(
            Line(
                slot=1,
                extension="201",
                display_name="Front Desk",
                auth_user="201",
                password="S1p-Pass_word1",
                domain="acme.example.net",
                label="201 Front Desk",
            ),
            Line(
                slot=2,
                extension="202",
                display_name="Jan & Piet <Sales>",
                auth_user="202",
                password="An0ther_Pass&<>",
                domain="acme.example.net",
                label="202 Jan & Piet",
            ),
        ),
        time=TimeSettings(
            timezone="Europe/Amsterdam", ntp_servers=("0.pool.ntp.org", "1.pool.ntp.org")
        ),
    )
