"""The responder and the observer on a real (virtual) LAN: scapy-crafted phones in a
network namespace, provd sniffing on the other end of a veth pair."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

from provd.discovery import sip
from provd.discovery.dhcp import DhcpObserver
from provd.discovery.pnp import PnpResponder
from provd.services import devices, discovery
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.services.provisioning import pnp_tokens
from tests.conftest import TEST_ACTOR
from tests.discovery.conftest import Lan
from tests.discovery.samples import SNOM_EVENT, YEALINK_EVENT, snom_subscribe, yealink_subscribe

T46G = "0015654aa937"
D785 = "000413922d24"
UNKNOWN = "805ec0112233"


def _messages(received: list[dict[str, Any]], call_id: str) -> list[tuple[dict[str, Any], Any]]:
    out = []
    for r in received:
        message = sip.parse_message(r["text"].encode())
        if message.header("Call-ID") == call_id:
            out.append((r, message))
    return out


def _answers(
    received: list[dict[str, Any]], call_id: str
) -> tuple[dict[str, Any], sip.SipResponse, dict[str, Any], sip.SipRequest]:
    messages = _messages(received, call_id)
    oks = [(r, m) for r, m in messages if isinstance(m, sip.SipResponse)]
    notifies = [(r, m) for r, m in messages if isinstance(m, sip.SipRequest)]
    assert oks and notifies, messages
    (ok_at, ok), (notify_at, notify) = oks[0], notifies[0]
    assert isinstance(ok, sip.SipResponse) and isinstance(notify, sip.SipRequest)
    # The 200 OK before the NOTIFY, and (the phone answered it) the NOTIFY sent once.
    assert received.index(ok_at) < received.index(notify_at)
    assert len(notifies) == 1
    return ok_at, ok, notify_at, notify


async def test_claimed_phones_get_the_url_unknown_ones_nothing(
    platform: Platform, lan: Lan
) -> None:
    await devices.add_device(platform, TEST_ACTOR, T46G, "yealink-t46g")
    await devices.add_device(platform, TEST_ACTOR, D785, "snom-d785")
    credential = tenants.bootstrap_credential(platform, await tenants.get_tenant("default"))
    unknown = yealink_subscribe(UNKNOWN, lan.phone_ip)
    t46g = yealink_subscribe(T46G, lan.phone_ip)
    d785 = snom_subscribe(D785, lan.phone_ip)
    t46g_call, d785_call = (sip.parse_request(s).header("Call-ID") or "" for s in (t46g, d785))

    responder = PnpResponder(platform, lan.host_if, answer_unknown=False)
    await responder.start()
    try:
        # The responder handles packets in order: once the later phones have their
        # answers, an answer to the unknown one would have come already.
        received = await lan.pnp_async(
            [(unknown, 5059), (t46g, 5059), (d785, 5060)], wait_for=[t46g_call, d785_call]
        )
    finally:
        await responder.stop()

    assert _messages(received, sip.parse_request(unknown).header("Call-ID") or "") == []

    request = sip.parse_request(t46g)
    ok_at, ok, notify_at, notify = _answers(received, t46g_call)
    # Yealink sends from 5059: both answers go there, from provd's address and port 5060.
    assert ok_at["dst_port"] == notify_at["dst_port"] == 5059
    assert ok_at["src"] == notify_at["src"] == [lan.host_ip, 5060]
    assert ok.status == 200
    assert ok.header("CSeq") == "1 SUBSCRIBE"
    assert ok.header("Via") == request.header("Via")
    to_tag = sip.tag_of(ok.header("To") or "")
    assert to_tag
    assert notify.method == "NOTIFY"
    assert notify.uri == f"sip:{lan.phone_ip}:5059"
    assert notify.header("Event") == YEALINK_EVENT
    assert notify.header("Content-Type") == "application/url"
    assert notify.header("Subscription-State") == "terminated;reason=timeout"
    assert notify.cseq() == (1, "NOTIFY")
    assert notify.header("Call-ID") == t46g_call
    assert sip.tag_of(notify.header("To") or "") == sip.tag_of(request.header("From") or "")
    assert sip.tag_of(notify.header("From") or "") == to_tag
    url = urlsplit(notify.body.decode())
    assert (url.scheme, url.hostname, url.port, url.path) == ("https", "provd.test", 8443, "/")
    # A token for this one phone, never the tenant's bootstrap credential.
    assert credential.password not in notify.body.decode()
    token = await pnp_tokens.find(platform, url.username or "")
    assert token is not None
    assert (token.device.mac, token.password) == (T46G, unquote(url.password or ""))

    ok_at, ok, notify_at, notify = _answers(received, d785_call)
    assert ok_at["dst_port"] == notify_at["dst_port"] == 5060
    assert notify.header("Event") == SNOM_EVENT
    assert notify.header("To") == sip.parse_request(d785).header("From")

    seen = {d.mac: d for d in await discovery.list_unclaimed()}
    assert set(seen) == {UNKNOWN}  # the claimed two are sighted but not listed
    assert (seen[UNKNOWN].source, seen[UNKNOWN].model, seen[UNKNOWN].ip) == (
        "pnp",
        "SIP-T46G",
        lan.phone_ip,
    )
    assert seen[UNKNOWN].vendor == "yealink"


async def test_answer_unknown_gives_the_bare_url(platform: Platform, lan: Lan) -> None:
    unknown = yealink_subscribe(UNKNOWN, lan.phone_ip)
    call_id = sip.parse_request(unknown).header("Call-ID") or ""
    responder = PnpResponder(platform, lan.host_if, answer_unknown=True)
    await responder.start()
    try:
        received = await lan.pnp_async([(unknown, 5059)], wait_for=[call_id])
    finally:
        await responder.stop()
    _, _, _, notify = _answers(received, call_id)
    assert notify.body.decode() == "https://provd.test:8443/"


async def test_dhcp_requests_land_in_the_discovered_list(platform: Platform, lan: Lan) -> None:
    observer = DhcpObserver(lan.host_if)
    await observer.start()
    try:
        await asyncio.to_thread(lan.dhcp, D785, "snomD785", [1, 3, 6, 66, 67, 43], "snom-desk-12")
        for _ in range(200):
            rows = await discovery.list_unclaimed()
            if rows and rows[0].seen_count == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await observer.stop()
    [row] = await discovery.list_unclaimed()
    assert discovery.discovered_view(row) | {"first_seen_at": "", "last_seen_at": ""} == {
        "mac": D785,
        "ip": lan.phone_ip,
        "vendor": "snom",
        "model": "snomD785",
        "vendor_class": "snomD785",
        "hostname": "snom-desk-12",
        "requested_options": [1, 3, 6, 66, 67, 43],
        "source": "dhcp",
        "first_seen_at": "",
        "last_seen_at": "",
        "seen_count": 2,
    }
