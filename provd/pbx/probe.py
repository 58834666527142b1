"""OPTIONS keepalive: whether a carrier's SIP stack answers.

provd asks Kamailio (``tm.t_uac_wait``) to send an OPTIONS to the carrier's address,
From provd on the proxy's own address; no phone is involved. With a next hop given,
tm sends the request it builds straight to that hop: it never passes through the
cfg's request_route, so none of the checks made on phones' requests apply. The
carrier's answer comes back to Kamailio's SIP socket and is matched to the
transaction like any reply.

What counts as up is decided by :func:`answer_means_up`: the question is "would a
call tried there now get anywhere?", so the statuses that make a call fail over to
the next carrier (``DEFAULT_FAILOVER`` in ``provd/domain/routing.py``: 408 and 5xx)
mean down here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from provd.pbx.errors import RpcError
from provd.pbx.rpc import KamailioRpc

_PROBE_TIMEOUT_S = 15.0
"""Kamailio answers the RPC after tm's fr_timer (5 s in the cfg) at the latest."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    status: int | None
    """The carrier's final answer; None when none came from it."""
    reason: str
    """Its reason phrase, or why no answer came (tm's own reply, the send error)."""

    @property
    def up(self) -> bool:
        return self.status is not None and answer_means_up(self.status)

    def describe(self) -> str:
        if self.status is None:
            return f"no answer: {self.reason}"
        return f"{self.status} {self.reason}".strip()


def answer_means_up(status: int) -> bool:
    """Whether a final answer to OPTIONS from the carrier itself means it can take calls.

    Up: any answer from a stack that is alive and would process an INVITE. That is
    2xx, and also 3xx, 4xx and 6xx: many carriers refuse OPTIONS from a peer they do
    not know for it (401/403/407), for a Request-URI without a user (404), or do not
    allow the method (405); their INVITE handling says nothing of the kind. 501 Not
    Implemented is the same refusal of the method, so it counts as up as well.

    Down: 408 and every other 5xx. The carrier (or a proxy in front of it) says it
    cannot serve now: 503 is overload or maintenance (RFC 3261 21.5.4), 500/502/504
    an internal or downstream failure. A call tried there would get the same answer
    and fail over, so trying it first only delays every call by one attempt.

    No answer at all (tm's timeout after fr_timer, a send error) is not a status
    here: :class:`ProbeResult` holds None and is down.
    """
    if status == 408:
        return False
    if 500 <= status < 600:
        return status == 501
    return 200 <= status < 700


def carrier_uri(address: str, transport: str) -> str:
    """``sip:HOST:PORT`` with ``;transport=`` for TCP and TLS, as calls are sent."""
    suffix = "" if transport == "udp" else f";transport={transport}"
    return f"sip:{address}{suffix}"


def _header_value(name: str, value: str) -> str:
    if any(c in value for c in "\r\n"):
        raise ValueError(f"{name} must not contain line breaks")
    return value


async def probe_carrier(rpc: KamailioRpc, uri: str, *, next_hop: str, from_uri: str) -> ProbeResult:
    """Send OPTIONS to ``uri`` through ``next_hop`` (both the carrier's address,
    :func:`carrier_uri`), From ``from_uri``; wait for the final answer.

    tm adds Via, Call-ID, CSeq, Max-Forwards, Content-Length and the From tag.

    Raises :class:`~provd.pbx.errors.PbxError` when Kamailio itself cannot be asked:
    that says nothing about the carrier.
    """
    headers = (
        f"From: <{_header_value('from_uri', from_uri)}>\r\nTo: <{_header_value('uri', uri)}>\r\n"
    )
    try:
        result = await rpc.call(
            "tm.t_uac_wait",
            "OPTIONS",
            uri,
            _header_value("next_hop", next_hop),
            ".",
            headers,
            timeout=_PROBE_TIMEOUT_S,
        )
    except RpcError as e:
        # t_uac could not send it (the host does not resolve, no socket for the
        # transport): a call could not be sent there either.
        return ProbeResult(None, f"not sent: {e.message}")
    return _result(result)


def _result(result: list[object]) -> ProbeResult:
    """``[code, reason, …, reply]``: the last item is the carrier's reply from its first
    header on, or empty when tm made the reply up itself (timeout, send failure)."""
    status, reason = int(str(result[0])), str(result[1])
    if not result[-1]:
        return ProbeResult(None, reason)
    return ProbeResult(status, reason)
