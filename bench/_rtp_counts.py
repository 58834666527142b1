"""RTP for the media benchmark: the caller's audio as a pcap for sipp, and counting
what arrives at a set of UDP ports without reading it.

A counting port is a socket that is bound and never read, with the smallest receive
buffer the kernel allows: once its few queued datagrams fill the buffer, every further
datagram is dropped and counted in that socket's ``drops`` column of /proc/net/udp. The
difference of two readings is the datagrams that arrived in between, exactly, at no cost
to any process in user space (the kernel's own delivery work is the same as to a reader).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from pathlib import Path

G711A_PCAP = Path("/usr/share/sip-tester/g711a.pcap")
FRAME = 160  # 20 ms of G.711 at 8 kHz
_PCAP_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_ETHERNET = 1


def pcap_payloads(path: Path) -> list[bytes]:
    """The RTP payloads of an Ethernet/IPv4/UDP pcap (sipp's sample files)."""
    data = path.read_bytes()
    magic, *_rest, link = _PCAP_HEADER.unpack_from(data)
    if magic != 0xA1B2C3D4 or link != _ETHERNET:
        raise ValueError(f"{path}: not a little-endian Ethernet pcap")
    payloads, offset = [], _PCAP_HEADER.size
    while offset + _RECORD.size <= len(data):
        _, _, captured, _ = _RECORD.unpack_from(data, offset)
        frame = data[offset + _RECORD.size : offset + _RECORD.size + captured]
        offset += _RECORD.size + captured
        ip_header = (frame[14] & 0x0F) * 4
        rtp = frame[14 + ip_header + 8 :]
        cc = rtp[0] & 0x0F
        payloads.append(rtp[12 + 4 * cc :])
    return payloads


def write_audio_pcap(path: Path, seconds: float, audio: bytes) -> int:
    """A pcap of PCMA RTP, one 160-byte frame each 20 ms for ``seconds``, the frames cut
    from ``audio`` (looped). Addresses and ports are placeholders: sipp sends each
    packet from the call's media port to the address the answer gave. Returns the count
    of packets."""
    count = round(seconds * 50)
    ssrc = 0x5EED0001
    out = [_PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, _ETHERNET)]
    for i in range(count):
        start = (i * FRAME) % max(len(audio) - FRAME, 1)
        payload = audio[start : start + FRAME].ljust(FRAME, b"\xd5")
        rtp = struct.pack("!BBHII", 0x80, 8 | (0x80 if i == 0 else 0), i, i * FRAME, ssrc)
        udp_len = 8 + len(rtp) + len(payload)
        udp = struct.pack("!HHHH", 6000, 6000, udp_len, 0)
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0,
            bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]),
        )  # fmt: skip
        ethernet = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00"
        frame = ethernet + ip + udp + rtp + payload
        micros = i * 20_000
        out.append(_RECORD.pack(micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))
    return count


def counting_socket(host: str, port: int) -> socket.socket:
    """A UDP socket on ``host:port`` that is never read (see the module's docstring)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # raised to the minimum
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def udp_drops(host: str, ports: Iterable[int]) -> dict[int, int]:
    """The ``drops`` counter of each UDP socket bound to ``host`` on one of ``ports``."""
    wanted = set(ports)
    packed = socket.inet_aton(host)
    # /proc/net/udp writes the address as the 32-bit word in host byte order, in hex.
    address = f"{struct.unpack('=I', packed)[0]:08X}"
    found: dict[int, int] = {}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        cols = line.split()
        ip, _, port_hex = cols[1].partition(":")
        port = int(port_hex, 16)
        if ip == address and port in wanted:
            found[port] = int(cols[-1])
    return found
