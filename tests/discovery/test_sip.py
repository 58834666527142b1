"""Parsing real-format PnP SUBSCRIBEs and building the 200 OK and NOTIFY (pure)."""

from __future__ import annotations

import pytest

from provd.discovery import sip
from tests.discovery.samples import SNOM_EVENT, YEALINK_EVENT, snom_subscribe, yealink_subscribe

YEALINK_MAC = "0015654aa937"
SNOM_MAC = "000413922d24"
URL = "https://bootstrap-default:s3cr%40t@provd.test:8443/"
LOCAL = ("10.9.0.1", 5060)


def test_yealink_subscribe_is_parsed() -> None:
    request = sip.parse_request(yealink_subscribe(YEALINK_MAC, "10.9.0.2"))
    assert request.method == "SUBSCRIBE"
    assert request.uri == f"sip:MAC{YEALINK_MAC}@224.0.1.75"
    assert request.header("via") == "SIP/2.0/UDP 10.9.0.2:5059;branch=z9hG4bK193810737"
    assert request.header("Call-ID") == f"{YEALINK_MAC}-pnp@10.9.0.2"
    assert request.cseq() == (1, "SUBSCRIBE")
    assert request.header("Expires") == "0"
    assert request.header("Accept") == "application/url"
    assert request.body == b""
    profile = sip.ua_profile(request)
    assert profile == sip.UaProfile(
        event=YEALINK_EVENT,
        profile_type="device",
        vendor="Yealink",
        model="SIP-T46G",
        version="28.83.0.120",
    )
    assert sip.pnp_mac(request) == YEALINK_MAC


def test_snom_subscribe_with_compact_headers_is_parsed() -> None:
    request = sip.parse_request(snom_subscribe(SNOM_MAC, "10.9.0.3"))
    assert request.header("Via") == "SIP/2.0/UDP 10.9.0.3:5060;branch=z9hG4bK-w0z8a7ab9j2d;rport"
    assert (
        request.header("From") == f'"snom" <sip:MAC%3a{SNOM_MAC.upper()}@224.0.1.75>;tag=x8l5ts0n0n'
    )
    assert request.header("Event") == SNOM_EVENT
    assert request.header("Contact") == "<sip:10.9.0.3:5060>"
    profile = sip.ua_profile(request)
    assert profile is not None
    assert (profile.vendor, profile.model, profile.version) == ("snom", "snomD785", "10.1.33.33")
    assert sip.pnp_mac(request) == SNOM_MAC


def test_the_200_ok_copies_the_transaction_and_adds_our_tag() -> None:
    request = sip.parse_request(yealink_subscribe(YEALINK_MAC, "10.9.0.2"))
    response = sip.parse_message(sip.ok_response(request, to_tag="abc123", contact=LOCAL))
    assert isinstance(response, sip.SipResponse)
    assert (response.status, response.reason) == (200, "OK")
    for name in ("Via", "From", "Call-ID", "CSeq"):
        assert response.header(name) == request.header(name)
    assert response.header("To") == f"<sip:MAC{YEALINK_MAC}@224.0.1.75>;tag=abc123"
    assert response.header("Expires") == "0"
    assert response.header("Content-Length") == "0"


def test_the_notify_carries_the_url_in_the_subscription_dialog() -> None:
    request = sip.parse_request(yealink_subscribe(YEALINK_MAC, "10.9.0.2"))
    raw = sip.notify(request, URL, local=LOCAL, to_tag="abc123", branch="z9hG4bKn1")
    notify = sip.parse_message(raw)
    assert isinstance(notify, sip.SipRequest)
    assert notify.method == "NOTIFY"
    assert notify.uri == "sip:10.9.0.2:5059"  # the phone's Contact
    assert notify.header("Via") == "SIP/2.0/UDP 10.9.0.1:5060;branch=z9hG4bKn1;rport"
    assert notify.header("Call-ID") == request.header("Call-ID")
    assert notify.header("To") == request.header("From")  # the phone's tag
    assert sip.tag_of(notify.header("From") or "") == "abc123"
    assert sip.address_uri(notify.header("From") or "") == f"sip:MAC{YEALINK_MAC}@224.0.1.75"
    assert notify.cseq() == (1, "NOTIFY")
    assert notify.header("Event") == YEALINK_EVENT
    assert notify.header("Subscription-State") == "terminated;reason=timeout"
    assert notify.header("Content-Type") == "application/url"
    assert notify.body == URL.encode()
    assert notify.header("Content-Length") == str(len(URL))
    assert raw.endswith(b"\r\n\r\n" + URL.encode())


def test_a_notify_without_contact_goes_to_where_the_phone_sent_from() -> None:
    raw = yealink_subscribe(YEALINK_MAC, "10.9.0.2").replace(
        b"Contact: <sip:10.9.0.2:5059>\r\n", b""
    )
    request = sip.parse_request(raw)
    with pytest.raises(sip.SipParseError):
        sip.notify(request, URL, local=LOCAL, to_tag="t", branch="z9hG4bKx")
    notify = sip.parse_request(
        sip.notify(
            request,
            URL,
            local=LOCAL,
            to_tag="t",
            branch="z9hG4bKx",
            fallback_target=("10.9.0.2", 5059),
        )
    )
    assert notify.uri == "sip:10.9.0.2:5059"


def test_a_url_that_would_break_the_message_is_refused() -> None:
    request = sip.parse_request(yealink_subscribe(YEALINK_MAC, "10.9.0.2"))
    with pytest.raises(ValueError, match="url"):
        sip.notify(request, URL + "\r\nEvil: 1", local=LOCAL, to_tag="t", branch="z9hG4bKx")


@pytest.mark.parametrize(
    ("uri", "mac"),
    [
        ("sip:MAC001565aabbcc@224.0.1.75", "001565aabbcc"),
        ("sip:MAC%3a000413A11FA7@intern.snom.de", "000413a11fa7"),
        ("sip:MAC:000413A11FA7@224.0.1.75", "000413a11fa7"),
        ("sip:user@224.0.1.75", None),
        ("sip:MAC0100AABBCCDD@224.0.1.75", None),  # multicast: not a phone's MAC
    ],
)
def test_the_mac_comes_from_the_request_uri(uri: str, mac: str | None) -> None:
    raw = (
        yealink_subscribe("001565aabbcc", "10.9.0.2")
        .replace(b"SUBSCRIBE sip:MAC001565aabbcc@224.0.1.75", f"SUBSCRIBE {uri}".encode())
        .replace(b"<sip:MAC001565aabbcc@224.0.1.75>;tag", b"<sip:x@y>;tag")
    )
    assert sip.pnp_mac(sip.parse_request(raw)) == mac


def test_other_requests_are_not_pnp() -> None:
    register = (
        b"REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\nCSeq: 1 REGISTER\r\n\r\n"
    )
    assert sip.ua_profile(sip.parse_request(register)) is None
    dialog = yealink_subscribe(YEALINK_MAC, "10.9.0.2").replace(YEALINK_EVENT.encode(), b"dialog")
    assert sip.ua_profile(sip.parse_request(dialog)) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"SUBSCRIBE sip:x SIP/2.0\r\nno colon here\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"X" * (sip.MAX_MESSAGE + 1),
    ],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(sip.SipParseError):
        sip.parse_message(data)


def test_event_parameters_unquote() -> None:
    assert sip.header_params('ua-profile ; vendor="a\\"b";model=X ;flag') == (
        "ua-profile",
        {"vendor": 'a"b', "model": "X", "flag": ""},
    )
