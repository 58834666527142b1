"""The phone side of the discovery tests, run inside the test's network namespace.

``python -m tests.discovery.phone pnp SPEC`` multicasts scapy-crafted SUBSCRIBEs to
224.0.1.75:5060, collects every SIP message that reaches the ports they were sent
from, answers each NOTIFY with 200 OK (as a phone does) and prints what arrived as JSON
once every Call-ID in ``wait_for`` got its 200 OK and NOTIFY (or at the deadline).
``python -m tests.discovery.phone dhcp SPEC`` broadcasts a DHCPDISCOVER and a DHCPREQUEST.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
from typing import Any

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.sendrecv import sendp

PNP_GROUP_MAC = "01:00:5e:00:01:4b"  # 224.0.1.75


def _call_id(text: str) -> str:
    for line in text.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() in ("call-id", "i"):
            return value.strip()
    return ""


def _ok_for(notify: str) -> bytes:
    head = notify.split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [
        line
        for line in head[1:]
        if line.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")
    ]
    return ("\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0"]) + "\r\n\r\n").encode()


def pnp(spec: dict[str, Any]) -> list[dict[str, Any]]:
    sockets = {}
    for sub in spec["subscribes"]:
        port = sub["sport"]
        if port not in sockets:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((spec["ip"], port))
            sockets[port] = s
    for sub in spec["subscribes"]:
        sendp(
            Ether(dst=PNP_GROUP_MAC)
            / IP(src=spec["ip"], dst="224.0.1.75", ttl=1)
            / UDP(sport=sub["sport"], dport=5060)
            / sub["payload"].encode(),
            iface=spec["iface"],
            verbose=False,
        )
    received: list[dict[str, Any]] = []
    waiting = {call_id: {"200", "NOTIFY"} for call_id in spec["wait_for"]}
    deadline = time.monotonic() + spec.get("timeout", 20)
    while any(waiting.values()) and time.monotonic() < deadline:
        ready, _, _ = select.select(list(sockets.values()), [], [], 0.2)
        for s in ready:
            data, source = s.recvfrom(65535)
            text = data.decode()
            port = s.getsockname()[1]
            received.append({"src": list(source), "dst_port": port, "text": text})
            kind = "NOTIFY" if text.startswith("NOTIFY ") else text.split(" ", 2)[1]
            waiting.get(_call_id(text), set()).discard(kind)
            if kind == "NOTIFY":
                s.sendto(_ok_for(text), source)
    return received


def dhcp(spec: dict[str, Any]) -> None:
    chaddr = bytes.fromhex(spec["mac"]) + b"\0" * 10
    options: list[Any] = [
        ("vendor_class_id", spec["vendor_class"].encode()),
        ("param_req_list", spec["options"]),
        ("hostname", spec["hostname"].encode()),
    ]
    for message, extra in (("discover", []), ("request", [("requested_addr", spec["ip"])])):
        sendp(
            Ether(dst="ff:ff:ff:ff:ff:ff")
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67)
            / BOOTP(op=1, chaddr=chaddr, xid=0x1234)
            / DHCP(options=[("message-type", message), *extra, *options, "end"]),
            iface=spec["iface"],
            verbose=False,
        )


if __name__ == "__main__":
    command, raw = sys.argv[1], sys.argv[2]
    if command == "pnp":
        print(json.dumps(pnp(json.loads(raw))))
    else:
        dhcp(json.loads(raw))
