"""Message waiting: a SIP NOTIFY (``Event: message-summary``, RFC 3842) that lights a
phone's voicemail lamp and shows how many messages are new and heard.

Sent the way check-sync is (provd.pbx.notify): Kamailio's ``tm.t_uac_wait`` sends it
to Kamailio itself with provd's token, and Kamailio forwards it to every registered
contact of the user. Unsolicited (no subscription): the phones provd provisions
accept it so, with ``Subscription-State: active``.
"""

from __future__ import annotations

# The same header check and status reading as check-sync's: one NOTIFY path.
from provd.pbx.notify import CheckSyncResult, _check_header_value, _outcome
from provd.pbx.rpc import KamailioRpc

EVENT = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"
_TIMEOUT_S = 15.0


def summary_body(account: str, new: int, old: int) -> str:
    """The message-summary body for ``account`` (``ext@domain``)."""
    waiting = "yes" if new > 0 else "no"
    return (
        f"Messages-Waiting: {waiting}\r\n"
        f"Message-Account: sip:{account}\r\n"
        f"Voice-Message: {new}/{old} (0/0)\r\n"
    )


async def message_waiting(
    rpc: KamailioRpc, aor: str, *, new: int, old: int, next_hop: str, notify_token: str
) -> CheckSyncResult:
    """NOTIFY every registered contact of ``aor`` (``ext@domain``) of its mailbox's
    ``new`` and ``old`` (heard) messages. 404 when no phone of it is registered."""
    _check_header_value("aor", aor)
    user, _, domain = aor.partition("@")
    if not user or not domain:
        raise ValueError(f"{aor!r} is not an AoR (extension@domain)")
    headers = (
        f"From: <sip:provd@{domain}>\r\n"
        f"To: <sip:{aor}>\r\n"
        f"Event: {EVENT}\r\n"
        "Subscription-State: active\r\n"
        f"Content-Type: {CONTENT_TYPE}\r\n"
        f"X-Provd-Token: {_check_header_value('token', notify_token)}\r\n"
    )
    result = await rpc.call(
        "tm.t_uac_wait",
        "NOTIFY",
        f"sip:{aor}",
        next_hop,
        ".",
        headers,
        summary_body(aor, new, old),
        timeout=_TIMEOUT_S,
    )
    status, reason = int(result[0]), str(result[1])
    return CheckSyncResult(
        aor=aor, event=EVENT, outcome=_outcome(status), status=status, reason=reason
    )
