"""Message waiting: a SIP NOTIFY (``Event: message-summary``, RFC 3842) that lights a
phone's voicemail lamp and shows how many messages are new and heard.

Sent the way check-sync is (provd.pbx.notify): Kamailio's ``tm.t_uac_wait`` sends it
to Kamailio itself with provd's token, and Kamailio forwards it to every registered
contact of the user. Unsolicited (no subscription): the phones provd provisions
accept it so, with ``Subscription-State: active``.
"""

from __future__ import annotations

from provd.pbx.notify import CheckSyncResult, send_notify
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
    return await send_notify(
        rpc,
        aor,
        event=EVENT,
        state="active",
        next_hop=next_hop,
        notify_token=notify_token,
        extra_headers=f"Content-Type: {CONTENT_TYPE}\r\n",
        body=summary_body(aor, new, old),
        timeout=_TIMEOUT_S,
    )
