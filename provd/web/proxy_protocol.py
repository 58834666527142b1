"""The PROXY protocol header (v1 text, v2 binary) a TCP balancer puts before a connection's
own bytes, naming the client it accepted the connection from.

Behind a balancer in TCP mode every connection comes from the balancer's address: the
per-client connection cap, the failure throttle and the fetch addresses recorded for
devices would all see one client. haproxy's ``send-proxy``/``send-proxy-v2`` (and most
balancers') tell the real one in this header. It is read only from the addresses the
admin names (``proxy_protocol_from``); from anywhere else it would be a forgery.

Specification: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
"""

from __future__ import annotations

import ipaddress

V1_MAX = 107
"""A v1 header's longest form, CRLF included."""
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_V2_FIXED = 16
_V2_MAX_ADDRESSES = 1024
"""What we accept after the fixed part (addresses and TLVs, which are skipped)."""
MAX_HEADER = _V2_FIXED + _V2_MAX_ADDRESSES


class ProxyHeaderError(ValueError):
    """Not a PROXY protocol header, or one this server does not take."""


def header_length(data: bytes) -> int | None:
    """How long the header at the start of ``data`` is; None while more bytes are needed."""
    if len(data) < len(V2_SIGNATURE) and V2_SIGNATURE.startswith(data):
        return None
    if data.startswith(V2_SIGNATURE):
        if len(data) < _V2_FIXED:
            return None
        length = int.from_bytes(data[14:16], "big")
        if length > _V2_MAX_ADDRESSES:
            raise ProxyHeaderError("PROXY v2 header too long")
        return _V2_FIXED + length if len(data) >= _V2_FIXED + length else None
    if not b"PROXY ".startswith(data[:6]):
        raise ProxyHeaderError("no PROXY protocol header")
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX:
            raise ProxyHeaderError("PROXY v1 header without its end")
        return None
    return end + 2


def client_address(header: bytes) -> str | None:
    """The client's address in a complete header; None when the balancer speaks for
    itself (v1 ``UNKNOWN``, v2 ``LOCAL``: its health checks)."""
    if header.startswith(V2_SIGNATURE):
        return _v2(header)
    return _v1(header)


def _v1(header: bytes) -> str | None:
    try:
        words = header[:-2].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY v1 header is not ASCII") from None
    if len(words) >= 2 and words[0] == "PROXY" and words[1] == "UNKNOWN":
        return None
    if len(words) != 6 or words[0] != "PROXY" or words[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError("malformed PROXY v1 header")
    version = 4 if words[1] == "TCP4" else 6
    try:
        source = ipaddress.ip_address(words[2])
        ipaddress.ip_address(words[3])
        ports = [int(w) for w in words[4:6] if w.isdigit()]
    except ValueError:
        raise ProxyHeaderError("malformed PROXY v1 addresses") from None
    if source.version != version or len(ports) != 2 or not all(0 <= p <= 65535 for p in ports):
        raise ProxyHeaderError("malformed PROXY v1 addresses")
    return str(source)


def _v2(header: bytes) -> str | None:
    version_command, family = header[12], header[13]
    if version_command >> 4 != 2:
        raise ProxyHeaderError("unknown PROXY protocol version")
    command = version_command & 0x0F
    if command == 0:  # LOCAL
        return None
    if command != 1:
        raise ProxyHeaderError("unknown PROXY v2 command")
    body = header[_V2_FIXED:]
    if family == 0x11 and len(body) >= 12:  # TCP over IPv4
        return str(ipaddress.IPv4Address(body[:4]))
    if family == 0x21 and len(body) >= 36:  # TCP over IPv6
        return str(ipaddress.IPv6Address(body[:16]))
    raise ProxyHeaderError("PROXY v2 header for a family other than TCP over IP")
