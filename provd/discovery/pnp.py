"""The SIP plug-and-play responder.

A booting phone multicasts ``SUBSCRIBE`` (``Event: ua-profile``) to 224.0.1.75:5060.
We sniff it, record the sighting, and for a MAC provd knows (or any MAC, if the admin
allowed it) answer ``200 OK`` and a ``NOTIFY`` carrying the provisioning URL, both
from our address and port 5060 to the address and port the phone sent from (Yealink
uses 5059). The NOTIFY is retransmitted (RFC 3261 timer E) until the phone answers it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from provd.discovery import sip
from provd.discovery.link import Frame, Sniffer, UdpSender, interface_ipv4, udp_frame
from provd.domain.errors import InvalidInput
from provd.domain.mac import try_parse_mac
from provd.services import discovery
from provd.services.platform import Platform

log = logging.getLogger("provd.discovery.pnp")

PNP_GROUP = "224.0.1.75"
SIP_PORT = 5060
T1 = 0.5
NOTIFY_SENDS = 4
"""At 0, 0.5, 1.5 and 3.5 s; a phone that answers none has gone on to DHCP."""
_REMEMBERED = 256
_REMEMBER_SECONDS = 32.0
"""RFC 3261 timer F: a retransmitted SUBSCRIBE older than this is a new attempt."""


@dataclass(slots=True)
class _Subscription:
    """One SUBSCRIBE transaction, so a retransmission gets the same answer."""

    ok: bytes
    notify_key: tuple[str, int]
    started: float
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


def _new_tag() -> str:
    return secrets.token_hex(6)


class PnpResponder:
    def __init__(self, platform: Platform, interface: str, *, answer_unknown: bool) -> None:
        self._platform = platform
        self._interface = interface
        self._answer_unknown = answer_unknown
        self._sender = UdpSender(interface)
        self._sniffer: Sniffer[Frame] | None = None
        # (Call-ID, CSeq number) of SUBSCRIBEs answered recently.
        self._subscriptions: OrderedDict[tuple[str, int], _Subscription] = OrderedDict()
        # (Call-ID, NOTIFY CSeq) -> the subscription whose NOTIFY waits for its answer.
        self._notifies: dict[tuple[str, int], _Subscription] = {}

    async def start(self) -> None:
        address = interface_ipv4(self._interface)
        if address is None:
            raise InvalidInput(
                "pnp_interface",
                f"{self._interface} has no IPv4 address to answer phones from",
            )
        # Phones' SUBSCRIBEs, and their answers to our NOTIFYs (which start "SIP/").
        bpf = (
            f"udp and ((dst host {PNP_GROUP} and dst port {SIP_PORT}) or "
            f"(dst host {address} and dst port {SIP_PORT} and udp[8:4] = 0x5349502f))"
        )
        self._sender.open()
        self._sniffer = Sniffer("PnP responder", self._interface, bpf, udp_frame, self.handle)
        try:
            await self._sniffer.start()
        except BaseException:
            self._sender.close()
            raise

    async def stop(self) -> None:
        if self._sniffer is not None:
            await self._sniffer.stop()
        for sub in self._subscriptions.values():
            if sub.task is not None:
                sub.task.cancel()
        tasks = [s.task for s in self._subscriptions.values() if s.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sender.close()

    async def handle(self, frame: Frame) -> None:
        try:
            message = sip.parse_message(frame.payload)
        except sip.SipParseError as e:
            log.debug("not SIP from %s:%d: %s", frame.src_ip, frame.src_port, e)
            return
        if isinstance(message, sip.SipResponse):
            self._on_response(message)
            return
        profile = sip.ua_profile(message)
        if profile is None or frame.src_ip == "0.0.0.0":
            return
        mac = sip.pnp_mac(message) or try_parse_mac(frame.src_mac)
        if mac is None:
            return
        await discovery.record_sighting(
            discovery.Sighting(
                mac=mac,
                source=discovery.Source.PNP,
                ip=frame.src_ip,
                vendor=profile.vendor or None,
                model=profile.model or None,
                user_agent=message.header("User-Agent"),
            )
        )
        try:
            key = (message.header("Call-ID") or "", message.cseq()[0])
        except sip.SipParseError:
            return
        self._forget_old()
        known = self._subscriptions.get(key)
        if known is None:
            url = await discovery.pnp_url(self._platform, mac, answer_unknown=self._answer_unknown)
            if url is None:
                log.info(
                    "PnP: %s (%s %s) is not claimed: not answered",
                    mac,
                    profile.vendor,
                    profile.model,
                )
                return
            known = self._answer(frame, message, key, url)
            if known is None:
                return
            log.info(
                "PnP: told %s (%s %s) at %s:%d where to provision",
                mac,
                profile.vendor,
                profile.model,
                frame.src_ip,
                frame.src_port,
            )
        local = self._local()
        if local is not None:
            # First answer, or the phone retransmitted because our 200 was lost.
            self._sender.send(frame.src_mac, local, (frame.src_ip, frame.src_port), known.ok)

    def _local(self) -> tuple[str, int] | None:
        address = interface_ipv4(self._interface)
        if address is None:
            log.warning("PnP: %s lost its IPv4 address; cannot answer", self._interface)
            return None
        return address, SIP_PORT

    def _answer(
        self, frame: Frame, request: sip.SipRequest, key: tuple[str, int], url: str
    ) -> _Subscription | None:
        local = self._local()
        if local is None:
            return None
        tag = _new_tag()
        try:
            ok = sip.ok_response(request, to_tag=tag, contact=local)
            notify = sip.notify(
                request,
                url,
                local=local,
                to_tag=tag,
                branch="z9hG4bK" + secrets.token_hex(8),
                fallback_target=(frame.src_ip, frame.src_port),
            )
        except (sip.SipParseError, ValueError) as e:
            log.info("PnP: cannot answer %s:%d: %s", frame.src_ip, frame.src_port, e)
            return None
        sub = _Subscription(ok=ok, notify_key=(key[0], 1), started=time.monotonic())
        self._subscriptions[key] = sub
        self._notifies[sub.notify_key] = sub
        sub.task = asyncio.create_task(self._send_notify(frame, local, notify, sub))
        return sub

    async def _send_notify(
        self, frame: Frame, local: tuple[str, int], notify: bytes, sub: _Subscription
    ) -> None:
        # The NOTIFY follows the 200 OK: let the answer go out first.
        await asyncio.sleep(0)
        delay = T1
        try:
            for _ in range(NOTIFY_SENDS):
                self._sender.send(frame.src_mac, local, (frame.src_ip, frame.src_port), notify)
                try:
                    await asyncio.wait_for(sub.answered.wait(), delay)
                    return
                except TimeoutError:
                    delay *= 2
            log.info("PnP: %s:%d did not answer the NOTIFY", frame.src_ip, frame.src_port)
        finally:
            self._notifies.pop(sub.notify_key, None)

    def _on_response(self, response: sip.SipResponse) -> None:
        try:
            number, method = response.cseq()
        except sip.SipParseError:
            return
        if method != "NOTIFY" or response.status < 200:
            return
        sub = self._notifies.get((response.header("Call-ID") or "", number))
        if sub is not None:
            sub.answered.set()

    def _forget_old(self) -> None:
        now = time.monotonic()
        while self._subscriptions:
            key, oldest = next(iter(self._subscriptions.items()))
            if len(self._subscriptions) <= _REMEMBERED and now - oldest.started < _REMEMBER_SECONDS:
                break
            del self._subscriptions[key]
