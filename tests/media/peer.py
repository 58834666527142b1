"""A scripted SIP peer for the user agent's tests: one UDP socket, messages in a queue."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

from provd.media.sip import SipRequest, SipResponse, parse_message

LOOPBACK = "127.0.0.1"
_PORTS = range(26000, 27000)


def free_udp_port(host: str = LOOPBACK) -> int:
    """A UDP port in 26000-26999 that nothing holds now, for a sipp to bind."""
    start = random.randrange(len(_PORTS))  # workers running side by side start apart
    for i in range(len(_PORTS)):
        port = _PORTS[(start + i) % len(_PORTS)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port in 26000-26999")


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait(data)


class Peer:
    """Sends raw messages to the user agent and reads what it sends back."""

    def __init__(self, transport: asyncio.DatagramTransport, inbox: _Inbox) -> None:
        self._transport = transport
        self._inbox = inbox
        sockname = transport.get_extra_info("sockname")
        self.address: tuple[str, int] = (str(sockname[0]), int(sockname[1]))

    @classmethod
    async def open(cls) -> Peer:
        loop = asyncio.get_running_loop()
        transport, inbox = await loop.create_datagram_endpoint(_Inbox, local_addr=(LOOPBACK, 0))
        return cls(transport, inbox)

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self._transport.sendto(data, to)

    async def receive(self, timeout_s: float = 5.0) -> SipRequest | SipResponse:
        return parse_message(await asyncio.wait_for(self._inbox.queue.get(), timeout_s))

    async def response(self, timeout_s: float = 5.0) -> SipResponse:
        message = await self.receive(timeout_s)
        assert isinstance(message, SipResponse), message
        return message

    async def request(self, timeout_s: float = 5.0) -> SipRequest:
        message = await self.receive(timeout_s)
        assert isinstance(message, SipRequest), message
        return message

    def close(self) -> None:
        self._transport.close()

    async def next_request(self, method: str, timeout_s: float = 5.0) -> SipRequest:
        """The next ``method`` request; anything before it (a retransmission) skipped."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.receive(timeout_s)
                if isinstance(message, SipRequest) and message.method == method:
                    return message

    async def final_response(self, method: str, timeout_s: float = 5.0) -> SipResponse:
        """The next final response to a ``method`` request; anything before it skipped."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.receive(timeout_s)
                if (
                    isinstance(message, SipResponse)
                    and message.status >= 200
                    and (message.headers.get("CSeq") or "").upper().endswith(" " + method)
                ):
                    return message
