"""Fixed sample inputs shared by driver and service tests."""

from __future__ import annotations

from dataclasses import replace

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import Mac, parse_mac
from provd.drivers.context import (
    DeviceContext,
    Key,
    Line,
    Network,
    PageLabel,
    Provisioning,
    SipServer,
    TimeSettings,
    VlanPort,
)

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


def sample_keys(model: PhoneModel, modules: int) -> tuple[Key, ...]:
    """A full layout: every function once on the phone's own keys, BLFs on the
    last own key and on the first and last key of every page of each module."""
    own = [
        Key(KeyLocation(0, 1), KeyFunction.LINE, "1", "Line 1", 1),
        Key(KeyLocation(0, 2), KeyFunction.LINE, "2", "Line 2", 2),
        Key(KeyLocation(0, 3), KeyFunction.BLF, "203", "Reception & Co", 1),
        Key(KeyLocation(0, 4), KeyFunction.SPEED_DIAL, "+31201234567", "Head office", 1),
        Key(KeyLocation(0, 5), KeyFunction.PARK, "700", "Park", 1),
        Key(KeyLocation(0, 6), KeyFunction.PICKUP, "204", "Pick up 204", 1),
        Key(KeyLocation(0, 7), KeyFunction.GROUP_PICKUP, "", "Group pickup", 1),
        Key(KeyLocation(0, 8), KeyFunction.DND, "", "DND", 1),
        Key(KeyLocation(0, 9), KeyFunction.TRANSFER, "", "Transfer", 1),
        Key(KeyLocation(0, 10), KeyFunction.FORWARD, "0612345678", "Forward", 1),
        Key(KeyLocation(0, 11), KeyFunction.VOICEMAIL, "", "Voicemail", 1),
        Key(KeyLocation(0, 12), KeyFunction.INTERCOM, "205", "Intercom 205", 1),
        Key(
            KeyLocation(0, 13),
            KeyFunction.URL,
            "https://intranet.example.net/a?b=1&c=2",
            "Intranet",
            1,
        ),
        Key(KeyLocation(0, 14), KeyFunction.DTMF, "*3", "Record", 1),
        Key(KeyLocation(0, 15), KeyFunction.NONE, "", "", 1),
    ]
    own = [k for k in own if k.location.index <= model.line_keys]
    last = model.line_keys
    if last > len(own):
        own.append(Key(KeyLocation(0, last), KeyFunction.BLF, "206", "Last own key", 2))
    exp_keys: list[Key] = []
    if model.expansion is not None:
        per_page = model.expansion.keys_per_page
        for m in range(1, modules + 1):
            for page in range(model.expansion.pages):
                first = page * per_page + 1
                exp_keys.append(
                    Key(
                        KeyLocation(m, first),
                        KeyFunction.BLF,
                        f"3{m}{page}",
                        f"M{m}P{page + 1} first",
                        1,
                    )
                )
                exp_keys.append(
                    Key(
                        KeyLocation(m, first + per_page - 1),
                        KeyFunction.SPEED_DIAL,
                        "112",
                        f"M{m}P{page + 1} last",
                        1,
                    )
                )
    return tuple(own + exp_keys)


def layout_context(model: PhoneModel) -> DeviceContext:
    """The sample device with a full key layout, attached modules (2 on Yealink,
    1 on Snom, none where the model takes none), page labels and VLANs."""
    base = sample_context(model)
    modules = 0 if model.expansion is None else (2 if model.vendor is Vendor.YEALINK else 1)
    pages = tuple(
        PageLabel(m, p, f"Module {m} page {p} <Sales & Support>")
        for m in range(1, modules + 1)
        for p in range(1, (model.expansion.pages if model.expansion else 0) + 1)
    )
    return replace(
        base,
        keys=sample_keys(model, modules),
        expansion_modules=modules,
        page_labels=pages,
        network=Network(lan_vlan=VlanPort(100, 5), pc_vlan=VlanPort(200, 0), lldp=False),
        pickup_code="*8",
    )
