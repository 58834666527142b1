"""A SIP dialog's state (RFC 3261 12) and the requests sent within it; no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from provd.media.sip import (
    Headers,
    SipRequest,
    SipResponse,
    format_name_addr,
    new_branch,
    parse_name_addr,
    uri_host_port,
    uri_params,
)

USER_AGENT = "provd-media"
MAX_FORWARDS = "70"


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_party: str
    """Our From value in requests we send, with our tag."""
    remote_party: str
    """Our To value in requests we send, with the peer's tag."""
    remote_target: str
    """The peer's Contact URI: the Request-URI of what we send."""
    route_set: list[str] = field(default_factory=list)
    """Route values, in the order they go into a request."""
    local_cseq: int = 1
    local_sdp: bytes = b""

    def next_request(
        self, method: str, via_host: str, via_port: int, *, cseq: int | None = None
    ) -> SipRequest:
        """A request within the dialog: Request-URI the remote target, Route the route set,
        a fresh branch; the CSeq number goes up unless ``cseq`` is given (ACK)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        headers = Headers(
            [
                ("Via", f"SIP/2.0/UDP {via_host}:{via_port};branch={new_branch()};rport"),
                ("Max-Forwards", MAX_FORWARDS),
                *(("Route", r) for r in self.route_set),
                ("From", self.local_party),
                ("To", self.remote_party),
                ("Call-ID", self.call_id),
                ("CSeq", f"{cseq} {method}"),
                ("User-Agent", USER_AGENT),
            ]
        )
        return SipRequest(method, self.remote_target, headers)

    def destination(self) -> tuple[str, int]:
        """Where requests go: the first route's host and port (loose routing, ``;lr``, as
        Kamailio record-routes), else the remote target's."""
        if self.route_set:
            return uri_host_port(parse_name_addr(self.route_set[0]).uri)
        return uri_host_port(self.remote_target)

    def strict_first_route(self) -> bool:
        """The first route lacks ``;lr`` (RFC 2543 strict routing, not supported)."""
        return bool(self.route_set) and "lr" not in uri_params(
            parse_name_addr(self.route_set[0]).uri
        )


def contact_uri(headers: Headers) -> str | None:
    contacts = headers.values("Contact")
    return parse_name_addr(contacts[0]).uri if contacts else None


def uas_dialog(invite: SipRequest, local_tag: str, local_sdp: bytes) -> Dialog:
    """The dialog an answered INVITE makes, seen by the answering side: the route set is
    the INVITE's Record-Route in order."""
    from_value = invite.headers.get("From") or ""
    to_value = invite.headers.get("To") or ""
    remote = parse_name_addr(from_value)
    target = contact_uri(invite.headers)
    return Dialog(
        call_id=invite.call_id,
        local_tag=local_tag,
        remote_tag=remote.tag or "",
        local_party=to_value if parse_name_addr(to_value).tag else f"{to_value};tag={local_tag}",
        remote_party=from_value,
        remote_target=target or remote.uri,
        route_set=invite.headers.values("Record-Route"),
        local_cseq=0,
        local_sdp=local_sdp,
    )


def uac_dialog(invite: SipRequest, response: SipResponse) -> Dialog:
    """The dialog a 2xx to our INVITE makes: the route set is its Record-Route reversed."""
    local = invite.headers.get("From") or ""
    remote = response.headers.get("To") or ""
    cseq = int((invite.headers.get("CSeq") or "1").split()[0])
    return Dialog(
        call_id=invite.call_id,
        local_tag=parse_name_addr(local).tag or "",
        remote_tag=parse_name_addr(remote).tag or "",
        local_party=local,
        remote_party=remote,
        remote_target=contact_uri(response.headers) or invite.uri,
        route_set=list(reversed(response.headers.values("Record-Route"))),
        local_cseq=cseq,
        local_sdp=invite.body,
    )


def invite_request(
    request_uri: str,
    *,
    local: tuple[str, int],
    from_uri: str,
    from_display: str,
    from_tag: str,
    to_uri: str,
    call_id: str,
    sdp: bytes,
    headers: Sequence[tuple[str, str]],
) -> SipRequest:
    host, port = local
    fields = Headers(
        [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"),
            ("Max-Forwards", MAX_FORWARDS),
            ("From", format_name_addr(from_uri, from_display, [("tag", from_tag)])),
            ("To", format_name_addr(to_uri)),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", format_name_addr(f"sip:{host}:{port}")),
            ("User-Agent", USER_AGENT),
            *headers,
        ]
    )
    if sdp:
        fields.add("Content-Type", "application/sdp")
    return SipRequest("INVITE", request_uri, fields, sdp)


def ack_or_cancel(invite: SipRequest, method: str, to_value: str | None = None) -> SipRequest:
    """The ACK for a non-2xx final response, or the CANCEL, of our INVITE (RFC 3261 17.1.1.3,
    9.1): the INVITE's Request-URI, top Via, From, Call-ID and Route; To from the response
    for an ACK."""
    h = invite.headers
    number = (h.get("CSeq") or "1").split()[0]
    fields = Headers(
        [
            ("Via", h.values("Via")[0]),
            ("Max-Forwards", MAX_FORWARDS),
            *(("Route", r) for r in h.values("Route")),
            ("From", h.get("From") or ""),
            ("To", to_value if to_value is not None else h.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{number} {method}"),
            ("User-Agent", USER_AGENT),
        ]
    )
    return SipRequest(method, invite.uri, fields)
