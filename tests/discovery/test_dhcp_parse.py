"""What the observer reads from phones' DHCP packets (scapy-built, as on the wire)."""

from __future__ import annotations

from typing import Any

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from provd.discovery.dhcp import dhcp_request
from provd.services.discovery import Source

MAC = "00:15:65:4a:a9:37"


def _packet(options: list[Any], **bootp: Any) -> Any:
    frame = (
        Ether(src=MAC, dst="ff:ff:ff:ff:ff:ff")
        / IP(src=bootp.pop("src", "0.0.0.0"), dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=bytes.fromhex(MAC.replace(":", "")) + b"\0" * 10, **bootp)
        / DHCP(options=[*options, "end"])
    )
    return Ether(bytes(frame))  # as sniffed: parsed from bytes


def test_a_yealink_discover() -> None:
    request = dhcp_request(
        _packet(
            [
                ("message-type", "discover"),
                ("vendor_class_id", b"yealink"),
                ("param_req_list", [1, 3, 6, 15, 42, 66, 43, 120]),
                ("hostname", b"SIP-T46G"),
            ]
        )
    )
    assert request is not None
    assert (request.message_type, request.mac, request.ip) == ("discover", "0015654aa937", None)
    assert request.vendor_class == "yealink"
    assert request.requested_options == (1, 3, 6, 15, 42, 66, 43, 120)
    assert request.hostname == "SIP-T46G"
    assert request.wants_provisioning_server
    sighting = request.sighting()
    assert (sighting.source, sighting.model) == (Source.DHCP, None)


def test_a_snom_request_names_its_model_and_address() -> None:
    request = dhcp_request(
        _packet(
            [
                ("message-type", "request"),
                ("vendor_class_id", b"snomD785"),
                ("requested_addr", "10.1.2.3"),
                ("param_req_list", [1, 3, 6]),
            ]
        )
    )
    assert request is not None
    assert (request.message_type, request.ip, request.vendor_class) == (
        "request",
        "10.1.2.3",
        "snomD785",
    )
    assert not request.wants_provisioning_server
    assert request.sighting().model == "snomD785"


def test_a_renewal_gives_ciaddr_and_a_relayed_one_not_the_relay() -> None:
    renewal = dhcp_request(
        _packet([("message-type", "request")], ciaddr="10.1.2.4", src="10.1.2.4")
    )
    assert renewal is not None and renewal.ip == "10.1.2.4"
    relayed = dhcp_request(
        _packet([("message-type", "discover")], giaddr="10.9.9.1", src="10.9.9.1")
    )
    assert relayed is not None and relayed.ip is None


def test_server_answers_and_other_messages_are_ignored() -> None:
    assert dhcp_request(_packet([("message-type", "offer")])) is None
    assert dhcp_request(_packet([("message-type", "release")])) is None
    offer = _packet([("message-type", "discover")])
    offer[BOOTP].op = 2
    assert dhcp_request(Ether(bytes(offer))) is None
    assert dhcp_request(Ether() / IP() / UDP(sport=68, dport=67) / b"junk") is None
