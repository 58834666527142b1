"""Just enough SIP for a simulated phone: parse a datagram, build REGISTER and replies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


def token(n: int = 8) -> str:
    return secrets.token_hex(n)


@dataclass(slots=True)
class Message:
    first_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""

    @property
    def is_response(self) -> bool:
        return self.first_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.first_line.split()[1])

    @property
    def method(self) -> str:
        return self.first_line.split()[0]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def transaction(self) -> tuple[str, str]:
        return (self.header("Call-ID") or "", self.header("CSeq") or "")

    def encode(self) -> bytes:
        lines = [self.first_line, *(f"{k}: {v}" for k, v in self.headers)]
        lines.append(f"Content-Length: {len(self.body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + self.body).encode()


_COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
}


def parse(data: bytes) -> Message:
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    first, *rest = head.split("\r\n")
    headers = []
    for line in rest:
        name, _, value = line.partition(":")
        name = name.strip()
        headers.append((_COMPACT.get(name, name), value.strip()))
    return Message(first, headers, body)


def reply(request: Message, status: int, reason: str, *, to_tag: str) -> Message:
    to = request.header("To") or ""
    if ";tag=" not in to:
        to += f";tag={to_tag}"
    headers = [("Via", via) for via in request.all("Via")]
    headers += [
        ("From", request.header("From") or ""),
        ("To", to),
        ("Call-ID", request.header("Call-ID") or ""),
        ("CSeq", request.header("CSeq") or ""),
    ]
    return Message(f"SIP/2.0 {status} {reason}", headers)


def register(
    *,
    extension: str,
    domain: str,
    local: tuple[str, int],
    call_id: str,
    cseq: int,
    from_tag: str,
    user_agent: str,
    expires: int,
    authorization: str | None = None,
) -> Message:
    host, port = local
    headers = [
        ("Via", f"SIP/2.0/UDP {host}:{port};rport;branch=z9hG4bK{token()}"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{extension}@{domain}>;tag={from_tag}"),
        ("To", f"<sip:{extension}@{domain}>"),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} REGISTER"),
        ("Contact", f"<sip:{extension}@{host}:{port}>"),
        ("Expires", str(expires)),
        ("User-Agent", user_agent),
    ]
    if authorization:
        headers.append(("Authorization", authorization))
    return Message(f"REGISTER sip:{domain} SIP/2.0", headers)
