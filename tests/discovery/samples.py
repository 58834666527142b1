"""Plug-and-play SUBSCRIBEs as Yealink and Snom phones send them (vendor-facts §C)."""

from __future__ import annotations

YEALINK_EVENT = (
    'ua-profile;profile-type="device";vendor="Yealink";model="SIP-T46G";version="28.83.0.120"'
)
SNOM_EVENT = 'ua-profile;profile-type="device";vendor="snom";model="snomD785";version="10.1.33.33"'


def yealink_subscribe(mac: str, ip: str, *, call_id: str = "", cseq: int = 1) -> bytes:
    """A T46G from port 5059: ``mac`` as 12 lower-case hex digits."""
    call_id = call_id or f"{mac}-pnp@{ip}"
    return (
        f"SUBSCRIBE sip:MAC{mac}@224.0.1.75 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {ip}:5059;branch=z9hG4bK{cseq}93810737\r\n"
        f"From: <sip:MAC{mac}@224.0.1.75>;tag=1318{cseq}4287\r\n"
        f"To: <sip:MAC{mac}@224.0.1.75>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} SUBSCRIBE\r\n"
        f"Contact: <sip:{ip}:5059>\r\n"
        "Accept: application/url\r\n"
        "Max-Forwards: 70\r\n"
        "User-Agent: Yealink SIP-T46G 28.83.0.120\r\n"
        "Expires: 0\r\n"
        f"Event: {YEALINK_EVENT}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def snom_subscribe(mac: str, ip: str, *, call_id: str = "") -> bytes:
    """A D785 from port 5060, the MAC upper case after ``MAC%3a``, compact headers."""
    upper = mac.upper()
    call_id = call_id or f"3c26700b6b4a-{mac}"
    return (
        f"SUBSCRIBE sip:MAC%3a{upper}@224.0.1.75 SIP/2.0\r\n"
        f"v: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK-w0z8a7ab9j2d;rport\r\n"
        f'f: "snom" <sip:MAC%3a{upper}@224.0.1.75>;tag=x8l5ts0n0n\r\n'
        f"t: <sip:MAC%3a{upper}@224.0.1.75>\r\n"
        f"i: {call_id}\r\n"
        "CSeq: 1 SUBSCRIBE\r\n"
        "Max-Forwards: 70\r\n"
        f"o: {SNOM_EVENT}\r\n"
        "Expires: 0\r\n"
        "Accept: application/url\r\n"
        f"m: <sip:{ip}:5060>\r\n"
        "User-Agent: snomD785/10.1.33.33\r\n"
        "l: 0\r\n\r\n"
    ).encode()
