"""SDP as the media app meets it: sipp's and rtpengine's offers, a phone's offer with
video first and session-level attributes, what we write back (CRLF, parseable by our
own reader), and bodies it must refuse with a message that names the problem."""

from __future__ import annotations

import pytest

from provd.media.sdp import (
    MediaOffer,
    SdpError,
    answer_direction,
    answer_sdp,
    choose_codec,
    offer_sdp,
    parse_sdp,
)

# tests/pbx/sipp/uac_call.xml's offer with sipp's keywords filled in, LF line ends.
SIPP_OFFER = """v=0
o=caller 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
"""

# What rtpengine sends on after rewriting a phone's offer: media-level c=, RTCP port,
# ptime, direction, the phone's telephone-event range.
RTPENGINE_OFFER = (
    "v=0\r\n"
    "o=- 1733570000 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=audio 30014 RTP/AVP 0 8 9 96\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-16\r\n"
    "a=sendrecv\r\n"
    "a=rtcp:30015\r\n"
    "a=ptime:20\r\n"
)

# A phone's offer: session-level c= and direction, video first, static types without
# rtpmap, a wideband telephone-event that is not ours, an IPv6 address.
PHONE_OFFER = (
    "v=0\r\n"
    "o=yealink 1 1 IN IP6 2001:db8::5\r\n"
    "s=SDP data\r\n"
    "c=IN IP6 2001:db8::5\r\n"
    "t=0 0\r\n"
    "a=sendonly\r\n"
    "m=video 0 RTP/AVP 99\r\n"
    "m=audio 11780 RTP/AVP 18 0 8 97 101\r\n"
    "a=rtpmap:97 telephone-event/16000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
)


def test_sipp_offer() -> None:
    offer = parse_sdp(SIPP_OFFER)
    assert offer == MediaOffer("127.0.0.1", 6000, ((8, "PCMA"),), 101, "sendrecv")
    assert not offer.disabled
    assert choose_codec(offer) == (8, "PCMA")
    assert choose_codec(offer, ("PCMU",)) is None


def test_rtpengine_offer() -> None:
    offer = parse_sdp(RTPENGINE_OFFER)
    assert offer == MediaOffer(
        "127.0.0.1", 30014, ((0, "PCMU"), (8, "PCMA"), (9, "G722")), 96, "sendrecv"
    )
    # Our preference, not the offer's order.
    assert choose_codec(offer) == (8, "PCMA")
    assert choose_codec(offer, ("pcmu", "PCMA")) == (0, "PCMU")


def test_phone_offer_with_video_first_and_session_level_lines() -> None:
    offer = parse_sdp(PHONE_OFFER)
    assert offer == MediaOffer(
        "2001:db8::5", 11780, ((18, "G729"), (0, "PCMU"), (8, "PCMA")), 101, "sendonly"
    )
    assert answer_direction(offer.direction) == "recvonly"


def test_media_level_address_and_direction_win_over_session_level() -> None:
    body = SIPP_OFFER.replace("t=0 0\n", "t=0 0\na=inactive\n") + (
        "c=IN IP4 192.0.2.9/127\na=recvonly\n"
    )
    offer = parse_sdp(body)
    assert (offer.host, offer.direction) == ("192.0.2.9", "recvonly")
    assert answer_direction("recvonly") == "sendonly"
    assert answer_direction("inactive") == "inactive"


def test_disabled_audio_is_flagged_and_a_live_one_preferred() -> None:
    disabled = parse_sdp(SIPP_OFFER.replace("m=audio 6000", "m=audio 0"))
    assert disabled.disabled and disabled.port == 0
    second = SIPP_OFFER.replace("m=audio 6000", "m=audio 0") + "m=audio 7000 RTP/AVP 0\n"
    offer = parse_sdp(second)
    assert (offer.port, offer.codecs, offer.event_type) == (7000, ((0, "PCMU"),), None)


def test_unknown_dynamic_types_are_left_out() -> None:
    offer = parse_sdp(SIPP_OFFER.replace("RTP/AVP 8 101", "RTP/AVP 111 8 101"))
    assert offer.codecs == ((8, "PCMA"),)
    assert choose_codec(parse_sdp(SIPP_OFFER.replace("RTP/AVP 8 101", "RTP/AVP 111"))) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "does not begin with v=0"),
        ("<html><body>502</body></html>", "does not begin with v=0"),
        ("v=0\r\nhello world\r\n", "line 2 is not an SDP line: 'hello world'"),
        (SIPP_OFFER.replace("m=audio", "m=video"), r"no audio stream \(m=audio\)"),
        (SIPP_OFFER.replace("c=IN IP4 127.0.0.1\n", ""), r"no connection address \(c=\)"),
        (SIPP_OFFER.replace("c=IN IP4", "c=IN X25"), "c= is not 'IN IP4|IP6 <address>'"),
        (SIPP_OFFER.replace("6000", "sixk"), "audio port is not a number: 'sixk'"),
        (SIPP_OFFER.replace("6000", "70000"), "audio port 70000 is out of range"),
        (SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP"), "RTP/SAVP is not plain RTP"),
        (SIPP_OFFER.replace("RTP/AVP 8 101", "RTP/AVP 8 200"), "payload type 200 is out"),
        (SIPP_OFFER.replace("RTP/AVP 8 101", "RTP/AVP"), "m= needs media, port"),
        (SIPP_OFFER.replace("PCMA/8000", "PCMA"), "a bad a=rtpmap"),
        ("v=0\n" + "a=x\n" * 5000, "over the 16384 limit"),
    ],
)
def test_unusable_bodies_are_refused_by_name(body: str, message: str) -> None:
    with pytest.raises(SdpError, match=message):
        parse_sdp(body)


def _lines(body: str) -> list[str]:
    assert body.endswith("\r\n")
    lines = body[:-2].split("\r\n")
    assert not any("\n" in line or "\r" in line for line in lines)
    return lines


def test_offer_is_crlf_and_reads_back() -> None:
    body = offer_sdp("127.0.0.1", 40000, 1234)
    assert _lines(body) == [
        "v=0",
        "o=provd-media 1234 1234 IN IP4 127.0.0.1",
        "s=provd-media",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 8 0 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
    ]
    assert parse_sdp(body) == MediaOffer(
        "127.0.0.1", 40000, ((8, "PCMA"), (0, "PCMU")), 101, "sendrecv"
    )


def test_answer_mirrors_the_chosen_codec_and_event_type() -> None:
    offer = parse_sdp(RTPENGINE_OFFER)
    chosen = choose_codec(offer)
    assert chosen is not None
    body = answer_sdp("127.0.0.1", 40002, *chosen, offer.event_type, 77)
    assert "m=audio 40002 RTP/AVP 8 96" in _lines(body)
    assert parse_sdp(body) == MediaOffer("127.0.0.1", 40002, ((8, "PCMA"),), 96, "sendrecv")
    plain = answer_sdp("::1", 40004, 0, "PCMU", None, 78, direction="recvonly")
    assert "c=IN IP6 ::1" in _lines(plain)
    assert "telephone-event" not in plain
    assert parse_sdp(plain) == MediaOffer("::1", 40004, ((0, "PCMU"),), None, "recvonly")
    with pytest.raises(ValueError, match="unknown SDP direction"):
        answer_sdp("127.0.0.1", 1, 0, "PCMU", None, 1, direction="both")
    with pytest.raises(ValueError):
        answer_sdp("pbx.example", 1, 0, "PCMU", None, 1)
