"""The DHCP observer: phones asking for an address land in the discovered list.

It only listens (udp 67/68 on one interface, whoever the DHCP server is): a
DHCPDISCOVER or DHCPREQUEST tells the phone's MAC (chaddr), its vendor class (option
60: ``yealink``, ``snomD785``), the options it wants (55: 66 and 43 mean it looks for a
provisioning server there) and the address it has or asks for (ciaddr, option 50).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from provd.discovery.link import Sniffer
from provd.domain.mac import Mac, try_parse_mac
from provd.drivers.registry import model_from_vendor_class
from provd.services import discovery

log = logging.getLogger("provd.discovery.dhcp")

BPF = "udp and (port 67 or port 68)"
_BOOTREQUEST = 1
_DISCOVER, _REQUEST, _INFORM = 1, 3, 8
_MESSAGE_TYPES = {_DISCOVER: "discover", _REQUEST: "request", _INFORM: "inform"}
PROVISIONING_OPTIONS = (66, 43)
"""Requested by a phone that will look for its provisioning server in the answer."""


@dataclass(frozen=True, slots=True)
class DhcpRequest:
    message_type: str
    mac: Mac
    ip: str | None
    vendor_class: str | None
    requested_options: tuple[int, ...]
    hostname: str | None

    @property
    def wants_provisioning_server(self) -> bool:
        return any(o in self.requested_options for o in PROVISIONING_OPTIONS)

    def sighting(self) -> discovery.Sighting:
        return discovery.Sighting(
            mac=self.mac,
            source=discovery.Source.DHCP,
            ip=self.ip,
            vendor_class=self.vendor_class,
            requested_options=self.requested_options,
            hostname=self.hostname,
            model=model_from_vendor_class(self.vendor_class),
        )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


def _address(value: Any) -> str | None:
    text = str(value) if value is not None else ""
    return None if text in ("", "0.0.0.0") else text


def dhcp_request(packet: Any) -> DhcpRequest | None:
    """What a client's DISCOVER, REQUEST or INFORM says; None for anything else."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP

    if BOOTP not in packet or DHCP not in packet:
        return None
    bootp = packet[BOOTP]
    if bootp.op != _BOOTREQUEST or bootp.htype != 1 or bootp.hlen != 6:
        return None
    options: dict[str, Any] = {}
    for option in packet[DHCP].options:
        if isinstance(option, tuple) and len(option) >= 2:
            options.setdefault(str(option[0]), option[1] if len(option) == 2 else option[1:])
    message_type = _MESSAGE_TYPES.get(options.get("message-type", 0))
    mac = try_parse_mac(bytes(bootp.chaddr[:6]).hex())
    if message_type is None or mac is None:
        return None
    requested = options.get("param_req_list") or []
    if isinstance(requested, int):
        requested = [requested]
    # A relayed request comes from the relay agent (giaddr), not from the phone.
    relayed = _address(bootp.giaddr) is not None
    source_ip = _address(packet[IP].src) if IP in packet and not relayed else None
    return DhcpRequest(
        message_type=message_type,
        mac=mac,
        ip=_address(options.get("requested_addr")) or _address(bootp.ciaddr) or source_ip,
        vendor_class=_text(options.get("vendor_class_id")),
        requested_options=tuple(int(o) for o in requested),
        hostname=_text(options.get("hostname")),
    )


class DhcpObserver:
    def __init__(self, interface: str) -> None:
        self._sniffer = Sniffer("DHCP observer", interface, BPF, dhcp_request, self.handle)

    async def start(self) -> None:
        await self._sniffer.start()

    async def stop(self) -> None:
        await self._sniffer.stop()

    async def handle(self, request: DhcpRequest) -> None:
        log.debug(
            "DHCP %s from %s (%s, hostname %s, options %s)",
            request.message_type,
            request.mac,
            request.vendor_class,
            request.hostname,
            list(request.requested_options),
        )
        await discovery.record_sighting(request.sighting())
