"""The responder's transaction handling, without a network: a retransmitted SUBSCRIBE
gets the same 200 OK and no second NOTIFY; the NOTIFY is repeated until answered."""

from __future__ import annotations

import asyncio

import pytest

from provd.discovery import pnp, sip
from provd.discovery.link import Frame
from provd.services import devices
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.discovery.samples import yealink_subscribe

T46G = "0015654aa937"
PHONE = ("10.9.0.2", 5059)
PHONE_MAC = "00:15:65:4a:a9:37"


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, int], tuple[str, int], bytes]] = []

    def send(self, to_mac: str, src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> None:
        self.sent.append((to_mac, src, dst, payload))

    def close(self) -> None:
        pass

    def kinds(self) -> list[str]:
        return ["NOTIFY" if p.startswith(b"NOTIFY") else "200" for _, _, _, p in self.sent]


def _frame(payload: bytes, src: tuple[str, int] = PHONE) -> Frame:
    return Frame(PHONE_MAC, src[0], src[1], "224.0.1.75", 5060, payload)


@pytest.fixture
async def responder(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> tuple[pnp.PnpResponder, FakeSender]:
    monkeypatch.setattr(pnp, "interface_ipv4", lambda interface: "10.9.0.1")
    await devices.add_device(platform, TEST_ACTOR, T46G, "yealink-t46g")
    r = pnp.PnpResponder(platform, "eth9", answer_unknown=False)
    fake = FakeSender()
    r._sender = fake  # type: ignore[assignment]
    return r, fake


async def _settle(sender: FakeSender, count: int) -> None:
    for _ in range(500):
        if len(sender.sent) >= count:
            return
        await asyncio.sleep(0.01)


async def test_a_retransmitted_subscribe_gets_the_same_answer_and_one_notify(
    responder: tuple[pnp.PnpResponder, FakeSender], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pnp, "T1", 60.0)  # no retransmission of the NOTIFY in this test
    r, sender = responder
    subscribe = yealink_subscribe(T46G, PHONE[0])
    await r.handle(_frame(subscribe))
    await _settle(sender, 2)
    notify = sip.parse_request(sender.sent[1][3])
    answer = sip.ok_response(notify, to_tag="x", contact=PHONE)  # the phone's 200 to it
    await r.handle(_frame(answer))
    await r.handle(_frame(subscribe))
    await asyncio.sleep(0.1)
    assert sender.kinds() == ["200", "NOTIFY", "200"]
    assert not r._notifies  # answered: nothing left waiting
    assert sender.sent[0][3] == sender.sent[2][3]  # same To tag: the same transaction
    assert {(to, src, dst) for to, src, dst, _ in sender.sent} == {
        (PHONE_MAC, ("10.9.0.1", 5060), PHONE)
    }
    await r.stop()


async def test_an_unanswered_notify_is_repeated_then_given_up(
    responder: tuple[pnp.PnpResponder, FakeSender], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pnp, "T1", 0.01)
    r, sender = responder
    await r.handle(_frame(yealink_subscribe(T46G, PHONE[0])))
    await _settle(sender, 1 + pnp.NOTIFY_SENDS)
    await asyncio.sleep(0.2)
    assert sender.kinds() == ["200"] + ["NOTIFY"] * pnp.NOTIFY_SENDS
    assert len({p for _, _, _, p in sender.sent[1:]}) == 1  # retransmissions are identical
    await r.stop()


async def test_garbage_and_other_sip_are_ignored(
    responder: tuple[pnp.PnpResponder, FakeSender],
) -> None:
    r, sender = responder
    await r.handle(_frame(b"\x00\x01 not sip"))
    await r.handle(_frame(b"OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"))
    no_ip = yealink_subscribe(T46G, "0.0.0.0")
    await r.handle(_frame(no_ip, src=("0.0.0.0", 5059)))
    await asyncio.sleep(0.05)
    assert sender.sent == []
    await r.stop()
