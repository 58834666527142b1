"""SIP messages: parsing, building, the header values a dialog is made of."""

from __future__ import annotations

import pytest

from provd.media.dialog import uac_dialog, uas_dialog
from provd.media.sip import (
    Headers,
    SipParseError,
    SipRequest,
    SipResponse,
    format_name_addr,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
    split_list,
    uri_host_port,
    via_branch,
)

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)

INVITE = (
    b"INVITE sip:800@127.0.0.1:5070 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy1;rport=5060\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.5:5062;received=192.0.2.7;branch=z9hG4bKphone1, "
    b"SIP/2.0/UDP 10.0.0.6;branch=z9hG4bKfirst\r\n"
    b"Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
    b"Record-Route: <sip:192.0.2.1;lr;r2=on>\r\n"
    b"Max-Forwards: 69\r\n"
    b'f: "Smith, Alice \\"A\\"" <sip:alice@acme.test>;tag=abc123\r\n'
    b"t: <sip:800@acme.test>\r\n"
    b"i: call-1@10.0.0.5\r\n"
    b"CSeq: 42 INVITE\r\n"
    b"m: <sip:alice@10.0.0.5:5062;transport=udp>\r\n"
    b"Subject: a folded\r\n"
    b"  subject line\r\n"
    b"c: application/sdp\r\n"
    b"l: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)


def test_a_request_with_compact_folded_and_repeated_headers() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, SipRequest)
    assert (msg.method, msg.uri) == ("INVITE", "sip:800@127.0.0.1:5070")
    assert msg.body == SDP
    assert msg.call_id == "call-1@10.0.0.5"
    assert msg.headers.get("from") == msg.headers.get("FROM") == msg.headers.get("f")
    assert msg.headers.get("Subject") == "a folded subject line"
    assert msg.headers.get("Content-Type") == "application/sdp"
    assert len(msg.headers.get_all("via")) == 2
    assert msg.headers.values("Via") == [
        "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy1;rport=5060",
        "SIP/2.0/UDP 10.0.0.5:5062;received=192.0.2.7;branch=z9hG4bKphone1",
        "SIP/2.0/UDP 10.0.0.6;branch=z9hG4bKfirst",
    ]
    assert via_branch(msg) == "z9hG4bKproxy1"
    assert [name for name, _ in msg.headers][:3] == ["Via", "Via", "Record-Route"]


def test_the_parts_of_header_values() -> None:
    msg = parse_message(INVITE)
    caller = parse_name_addr(msg.headers.get("From") or "")
    assert caller.display == 'Smith, Alice "A"'
    assert (caller.uri, caller.tag) == ("sip:alice@acme.test", "abc123")
    callee = parse_name_addr(msg.headers.get("To") or "")
    assert (callee.display, callee.uri, callee.tag) == ("", "sip:800@acme.test", None)
    assert parse_name_addr("Bob <sip:bob@h>").display == "Bob"
    bare = parse_name_addr("sip:bob@h:5062;tag=9")
    assert (bare.uri, bare.tag) == ("sip:bob@h:5062", "9")
    via = parse_via(msg.headers.values("Via")[1])
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP",
        "10.0.0.5",
        5062,
        "z9hG4bKphone1",
    )
    assert via.params["received"] == "192.0.2.7"
    assert parse_via("SIP/2.0/UDP [::1]:5070;branch=z9hG4bKx").host == "::1"
    assert parse_cseq(msg.headers.get("CSeq") or "") == (42, "INVITE")
    assert uri_host_port("sip:800@127.0.0.1:5070;user=phone") == ("127.0.0.1", 5070)
    assert uri_host_port("sip:proxy.test;lr") == ("proxy.test", 5060)
    assert uri_host_port("sip:a@[2001:db8::1]:5080") == ("2001:db8::1", 5080)
    assert split_list('"a, b" <sip:x>, <sip:y;p=1,2>') == ['"a, b" <sip:x>', "<sip:y;p=1,2>"]


def test_a_display_name_round_trips_through_quoting() -> None:
    value = format_name_addr("sip:a@h", 'Smith, "Al" \\', [("tag", "t1")])
    parsed = parse_name_addr(value)
    assert (parsed.display, parsed.uri, parsed.tag) == ('Smith, "Al" \\', "sip:a@h", "t1")


def test_a_response_round_trips_with_its_length_computed() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    response = make_response(
        request, 200, "OK", to_tag="us1", body=b"v=0\r\n", content_type="application/sdp"
    )
    data = response.to_bytes()
    assert data.startswith(b"SIP/2.0 200 OK\r\n")
    again = parse_message(data)
    assert isinstance(again, SipResponse)
    assert (again.status, again.reason, again.body) == (200, "OK", b"v=0\r\n")
    assert again.headers.get("Content-Length") == "5"
    assert again.headers.get_all("Via") == request.headers.get_all("Via")
    assert again.headers.get_all("Record-Route") == request.headers.get_all("Record-Route")
    assert parse_name_addr(again.headers.get("To") or "").tag == "us1"
    assert again.headers.get("CSeq") == "42 INVITE"
    assert again.to_bytes() == data


def test_a_response_keeps_a_tag_already_there_and_no_route_for_a_final_failure() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    request.headers.replace("To", "<sip:800@acme.test>;tag=old")
    response = make_response(request, 486, "Busy Here", to_tag="new")
    assert parse_name_addr(response.headers.get("To") or "").tag == "old"
    assert response.headers.get("Record-Route") is None
    assert make_response(request, 100, "Trying").headers.get("Record-Route") is None


def test_a_request_round_trips_and_a_wrong_length_is_rewritten() -> None:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa"),
            ("From", "<sip:a@h>;tag=1"),
            ("To", "<sip:b@h>"),
            ("Call-ID", "x@h"),
            ("CSeq", "1 OPTIONS"),
            ("Content-Length", "999"),
        ]
    )
    request = SipRequest("OPTIONS", "sip:b@h", headers, b"hello")
    again = parse_message(request.to_bytes())
    assert isinstance(again, SipRequest)
    assert again.body == b"hello"
    assert again.headers.get_all("Content-Length") == ["5"]
    assert again.to_bytes() == request.to_bytes()


def test_bytes_past_the_content_length_are_dropped_and_bare_newlines_read() -> None:
    data = (
        b"\r\nBYE sip:a@h SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:a@h>;tag=1\n"
        b"t: <sip:b@h>;tag=2\ni: c\nCSeq: 2 BYE\nl: 2\n\nabcdef"
    )
    msg = parse_message(data)
    assert isinstance(msg, SipRequest)
    assert (msg.method, msg.body) == ("BYE", b"ab")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"hello world\r\n\r\n",
        b"\x00\xff\xfe garbage",
        b"INVITE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n",  # no blank line
        b"INVITE sip:a@h HTTP/1.1\r\nVia: x\r\n\r\n",
        b"SIP/2.0 999 Odd\r\nVia: SIP/2.0/UDP h\r\n\r\n",
        b"INVITE sip:a@h SIP/2.0\r\nno colon here\r\n\r\n",
        b"INVITE sip:a@h SIP/2.0\r\n continuation first\r\n\r\n",
        b"INVITE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\n"
        b"Call-ID: c\r\nCSeq: one INVITE\r\n\r\n",
        b"INVITE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\n"
        b"Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nshort",
        b"INVITE sip:a@h SIP/2.0\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\n"
        b"Call-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",  # no Via
    ],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


@pytest.mark.parametrize("value", ['"unclosed <sip:a@h>', "<sip:a@h", "no uri here", '"x" sip:a@h'])
def test_bad_name_addrs_are_refused(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(value)


def test_fresh_identifiers() -> None:
    assert new_branch().startswith("z9hG4bK") and new_branch() != new_branch()
    assert new_tag() != new_tag()
    assert new_call_id("127.0.0.1").endswith("@127.0.0.1")


def test_dialogs_take_their_route_sets_in_the_right_order() -> None:
    invite = parse_message(INVITE)
    assert isinstance(invite, SipRequest)
    uas = uas_dialog(invite, "us", b"")
    assert uas.route_set == ["<sip:127.0.0.1:5060;lr>", "<sip:192.0.2.1;lr;r2=on>"]
    assert uas.destination() == ("127.0.0.1", 5060)
    assert uas.remote_target == "sip:alice@10.0.0.5:5062;transport=udp"
    bye = uas.next_request("BYE", "127.0.0.1", 5070)
    assert bye.uri == uas.remote_target
    assert bye.headers.get_all("Route") == uas.route_set
    assert parse_name_addr(bye.headers.get("From") or "").tag == "us"
    assert parse_name_addr(bye.headers.get("To") or "").tag == "abc123"
    assert parse_cseq(bye.headers.get("CSeq") or "") == (1, "BYE")
    assert bye.headers.get("Max-Forwards") == "70"
    second = uas.next_request("BYE", "127.0.0.1", 5070)
    assert parse_cseq(second.headers.get("CSeq") or "")[0] == 2
    assert via_branch(second) != via_branch(bye)

    ok = make_response(invite, 200, "OK", to_tag="them")
    ok.headers.add("Contact", "<sip:800@10.9.9.9:5080>")
    uac = uac_dialog(invite, ok)
    assert uac.route_set == ["<sip:192.0.2.1;lr;r2=on>", "<sip:127.0.0.1:5060;lr>"]
    assert uac.destination() == ("192.0.2.1", 5060)
    assert uac.remote_target == "sip:800@10.9.9.9:5080"
    ok.headers.remove("Record-Route")
    assert uac_dialog(invite, ok).destination() == ("10.9.9.9", 5080)


@pytest.mark.parametrize(
    "display", ["Mallory\r\nX-Injected: 1", "Mallory\nVia: SIP/2.0/UDP evil", "Eve\rX"]
)
def test_a_line_break_in_a_value_is_refused_on_output(display: str) -> None:
    headers = Headers([("From", format_name_addr("sip:a@h", display, [("tag", "1")]))])
    with pytest.raises(ValueError, match="line break"):
        SipRequest("INVITE", "sip:b@h", headers).to_bytes()
