"""check-sync: a SIP NOTIFY that makes a phone re-fetch its configuration (or reboot).

provd does not speak SIP itself: it asks Kamailio (``tm.t_uac_wait``) to send
the NOTIFY to Kamailio, which routes it like a call through the location
table, NAT handling included. The RPC returns the phone's final answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provd.pbx.rpc import KamailioRpc

_CHECK_SYNC_TIMEOUT_S = 15.0


class CheckSyncOutcome(StrEnum):
    DELIVERED = "delivered"
    """The phone answered 2xx: it will resync (or reboot)."""
    NOT_REGISTERED = "not_registered"
    """No registered contact for the AoR (404 from the proxy)."""
    REJECTED = "rejected"
    """The phone (or the proxy) answered with another final code."""
    NO_ANSWER = "no_answer"
    """The phone is registered but did not answer (408)."""


@dataclass(frozen=True, slots=True)
class CheckSyncResult:
    aor: str
    event: str
    outcome: CheckSyncOutcome
    status: int
    reason: str

    @property
    def ok(self) -> bool:
        return self.outcome is CheckSyncOutcome.DELIVERED


def _outcome(status: int) -> CheckSyncOutcome:
    if 200 <= status < 300:
        return CheckSyncOutcome.DELIVERED
    if status == 404:
        return CheckSyncOutcome.NOT_REGISTERED
    if status == 408:
        return CheckSyncOutcome.NO_ANSWER
    return CheckSyncOutcome.REJECTED


def _check_header_value(name: str, value: str) -> str:
    if any(c in value for c in "\r\n"):
        raise ValueError(f"{name} must not contain line breaks")
    return value


async def check_sync(
    rpc: KamailioRpc,
    aor: str,
    *,
    event: str,
    next_hop: str,
    notify_token: str,
    contact: str | None = None,
) -> CheckSyncResult:
    """Send a NOTIFY with ``Event: <event>`` to the registered contacts of ``aor``
    (``ext@domain``). The event is the phone's vendor's (``Driver.check_sync_event``):
    the services ask the driver, so that this layer knows no vendor.

    ``contact``: only that one of the AoR's bindings (one phone of a user who is on
    several); 404 when it is not registered. Without it, every binding gets it.

    ``next_hop`` is Kamailio's own SIP URI; ``notify_token`` is the shared
    secret that lets this NOTIFY (and no phone's) through. No Content-Length
    and no From tag: Kamailio adds both, and duplicates break the request.
    """
    extra = ""
    if contact is not None:
        extra = f"X-Provd-Contact: {_check_header_value('contact', contact)}\r\n"
    return await send_notify(
        rpc,
        aor,
        event=event,
        state="terminated",
        next_hop=next_hop,
        notify_token=notify_token,
        extra_headers=extra,
        timeout=_CHECK_SYNC_TIMEOUT_S,
    )


async def send_notify(
    rpc: KamailioRpc,
    aor: str,
    *,
    event: str,
    state: str,
    next_hop: str,
    notify_token: str,
    extra_headers: str = "",
    body: str | None = None,
    timeout: float = _CHECK_SYNC_TIMEOUT_S,
) -> CheckSyncResult:
    """A NOTIFY for ``aor`` through Kamailio (``tm.t_uac_wait`` to Kamailio itself with
    provd's token; Kamailio forwards it to the AoR's contacts), and the phone's answer.
    check-sync and message-waiting (provd.pbx.mwi) both go this way."""
    _check_header_value("aor", aor)
    user, _, domain = aor.partition("@")
    if not user or not domain:
        raise ValueError(f"{aor!r} is not an AoR (extension@domain)")
    headers = (
        f"From: <sip:provd@{domain}>\r\n"
        f"To: <sip:{aor}>\r\n"
        f"Event: {_check_header_value('event', event)}\r\n"
        f"Subscription-State: {_check_header_value('state', state)}\r\n"
        f"X-Provd-Token: {_check_header_value('token', notify_token)}\r\n"
        f"{extra_headers}"
    )
    args = ["NOTIFY", f"sip:{aor}", next_hop, ".", headers]
    if body is not None:
        args.append(body)
    result = await rpc.call("tm.t_uac_wait", *args, timeout=timeout)
    # [code, reason, ...reply headers and body]
    status, reason = int(result[0]), str(result[1])
    return CheckSyncResult(
        aor=aor, event=event, outcome=_outcome(status), status=status, reason=reason
    )
