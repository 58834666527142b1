"""check-sync: a SIP NOTIFY that makes a phone re-fetch its configuration (or reboot).

provd does not speak SIP itself: it asks Kamailio (``tm.t_uac_wait``) to send
the NOTIFY to Kamailio, which routes it like a call through the location
table, NAT handling included. The RPC returns the phone's final answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provd.domain.catalogue import Vendor
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


def check_sync_event(vendor: Vendor | str, *, reboot: bool) -> str:
    """The ``Event`` header value each vendor acts on (vendor-facts F).

    Yealink: resync without reboot needs ``sip.notify_reboot_enable = 0`` in
    its config (which provd provisions) and then obeys ``reboot=``. Snom:
    ``reboot=false`` reloads settings, ``reboot=true`` reboots. Both take the
    explicit parameter, which also documents intent in SIP traces.
    """
    vendor = Vendor(vendor)
    if vendor in (Vendor.YEALINK, Vendor.SNOM):
        return f"check-sync;reboot={'true' if reboot else 'false'}"
    raise ValueError(f"no check-sync form known for {vendor}")


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
    reboot: bool,
    vendor: Vendor | str,
    next_hop: str,
    notify_token: str,
    contact: str | None = None,
) -> CheckSyncResult:
    """Send ``Event: check-sync`` to the registered contacts of ``aor`` (``ext@domain``).

    ``contact``: only that one of the AoR's bindings (one phone of a user who is on
    several); 404 when it is not registered. Without it, every binding gets it.

    ``next_hop`` is Kamailio's own SIP URI; ``notify_token`` is the shared
    secret that lets this NOTIFY (and no phone's) through. No Content-Length
    and no From tag: Kamailio adds both, and duplicates break the request.
    """
    _check_header_value("aor", aor)
    user, _, domain = aor.partition("@")
    if not user or not domain:
        raise ValueError(f"{aor!r} is not an AoR (extension@domain)")
    event = check_sync_event(vendor, reboot=reboot)
    headers = (
        f"From: <sip:provd@{domain}>\r\n"
        f"To: <sip:{aor}>\r\n"
        f"Event: {event}\r\n"
        "Subscription-State: terminated\r\n"
        f"X-Provd-Token: {_check_header_value('token', notify_token)}\r\n"
    )
    if contact is not None:
        headers += f"X-Provd-Contact: {_check_header_value('contact', contact)}\r\n"
    result = await rpc.call(
        "tm.t_uac_wait",
        "NOTIFY",
        f"sip:{aor}",
        next_hop,
        ".",
        headers,
        timeout=_CHECK_SYNC_TIMEOUT_S,
    )
    # [code, reason, ...reply headers and body]
    status, reason = int(result[0]), str(result[1])
    return CheckSyncResult(
        aor=aor, event=event, outcome=_outcome(status), status=status, reason=reason
    )
