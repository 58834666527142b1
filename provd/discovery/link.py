"""Raw frames on one interface: a scapy sniffer that hands packets to the event loop,
a sender for crafted UDP replies, and the check that we may do either.

Sniffing with AF_PACKET sees what arrives at the interface whatever is bound to the
ports (Kamailio may hold 5060), and sending a crafted frame lets replies come from port
5060 without binding it. Both need CAP_NET_RAW.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from provd.domain.errors import InvalidInput, ProvdError

log = logging.getLogger("provd.discovery")

T = TypeVar("T")

QUEUE_LIMIT = 1024
"""Packets waiting for the loop; beyond this they are dropped (a storm must not grow memory)."""
_DROP_WARNING_INTERVAL = 60.0
_ETH_P_ALL = 0x0003


class MissingCapability(ProvdError):
    """The process may not open raw sockets."""


def _python() -> str:
    return os.path.realpath(sys.executable)


def check_capability(feature: str, interface: str, *, option: str) -> None:
    """Fail with what to do unless ``interface`` exists and raw packets may be used on it."""
    try:
        socket.if_nametoindex(interface)
    except OSError:
        names = ", ".join(name for _, name in socket.if_nameindex()[:12])
        raise InvalidInput(
            option, f"there is no network interface {interface!r} (this host has: {names})"
        ) from None
    try:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL)) as s:
            s.bind((interface, 0))
    except PermissionError:
        raise MissingCapability(
            f"{feature} needs CAP_NET_RAW to sniff and send raw packets: run provd as root "
            f"or `setcap cap_net_raw+ep {_python()}`"
        ) from None


def interface_ipv4(interface: str) -> str | None:
    from scapy.arch import get_if_addr

    address = str(get_if_addr(interface))
    return None if address == "0.0.0.0" else address


@dataclass(frozen=True, slots=True)
class Frame:
    """A UDP datagram as it arrived, reduced to what the handlers use (plain values:
    safe to pass from the sniffer thread to the loop)."""

    src_mac: str
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    payload: bytes


def udp_frame(packet: Any) -> Frame | None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    if Ether not in packet or IP not in packet or UDP not in packet:
        return None
    ip, udp = packet[IP], packet[UDP]
    return Frame(
        src_mac=str(packet[Ether].src),
        src_ip=str(ip.src),
        src_port=int(udp.sport),
        dst_ip=str(ip.dst),
        dst_port=int(udp.dport),
        payload=bytes(udp.payload),
    )


class Sniffer(Generic[T]):
    """Sniff ``bpf`` on ``interface`` in scapy's thread; ``extract`` runs there and turns
    a packet into a plain value (or None to ignore it), ``handle`` runs on the loop,
    one value at a time."""

    def __init__(
        self,
        name: str,
        interface: str,
        bpf: str,
        extract: Callable[[Any], T | None],
        handle: Callable[[T], Awaitable[None]],
    ) -> None:
        self._name = name
        self._interface = interface
        self._bpf = bpf
        self._extract = extract
        self._handle = handle
        self._queue: asyncio.Queue[T] = asyncio.Queue(QUEUE_LIMIT)
        self._sniffer: Any = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dropped = 0
        self._last_drop_warning = 0.0

    async def start(self) -> None:
        # Dissectors register themselves on import: without them the first packets
        # would be sniffed as raw bytes.
        import scapy.layers.dhcp
        import scapy.layers.inet
        import scapy.layers.l2  # noqa: F401
        from scapy.sendrecv import AsyncSniffer

        self._loop = asyncio.get_running_loop()
        self._worker = asyncio.create_task(self._work(), name=f"{self._name} worker")
        listening = threading.Event()
        self._sniffer = AsyncSniffer(
            iface=self._interface,
            filter=self._bpf,
            prn=self._from_thread,
            store=False,
            started_callback=listening.set,
        )
        self._sniffer.start()
        # The thread opens the socket and compiles the filter: wait until it listens, so
        # nothing sent after start() is missed, and report why if it could not.
        await asyncio.to_thread(self._wait_listening, listening)
        log.info("%s listening on %s (%s)", self._name, self._interface, self._bpf)

    def _wait_listening(self, listening: threading.Event) -> None:
        thread = self._sniffer.thread
        while not listening.wait(0.05):
            if not thread.is_alive():
                error = self._sniffer.exception
                raise ProvdError(f"{self._name} cannot listen on {self._interface}: {error}")

    async def stop(self) -> None:
        if self._sniffer is not None and self._sniffer.running:
            await asyncio.to_thread(self._sniffer.stop)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    def _from_thread(self, packet: Any) -> None:
        try:
            value = self._extract(packet)
        except Exception:
            log.exception("%s: cannot read a packet", self._name)
            return
        if value is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._offer, value)

    def _offer(self, value: T) -> None:
        try:
            self._queue.put_nowait(value)
        except asyncio.QueueFull:
            self._dropped += 1
            now = time.monotonic()
            if now - self._last_drop_warning > _DROP_WARNING_INTERVAL:
                self._last_drop_warning = now
                log.warning(
                    "%s: %d packets dropped, more than it can keep up with",
                    self._name,
                    self._dropped,
                )

    async def _work(self) -> None:
        while True:
            value = await self._queue.get()
            try:
                await self._handle(value)
            except Exception:
                # One bad packet or a database hiccup must not stop the observer.
                log.exception("%s: handling a packet failed", self._name)


class UdpSender:
    """Sends crafted UDP datagrams out of ``interface`` to a neighbour's MAC address."""

    def __init__(self, interface: str) -> None:
        self._interface = interface
        self._socket: Any = None

    def open(self) -> None:
        from scapy.config import conf

        self._socket = conf.L2socket(iface=self._interface)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def send(self, to_mac: str, src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> None:
        from scapy.arch import get_if_hwaddr
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw

        if self._socket is None:
            raise RuntimeError("the sender is not open")
        frame = (
            Ether(src=get_if_hwaddr(self._interface), dst=to_mac)
            / IP(src=src[0], dst=dst[0], ttl=64)
            / UDP(sport=src[1], dport=dst[1])
            / Raw(payload)
        )
        self._socket.send(frame)
