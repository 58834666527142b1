"""State provd publishes into Kamailio's presence server (``pua_rpc``'s
``pua.publish``): Kamailio sends the PUBLISH to itself, and every phone watching the
presentity gets a NOTIFY, as for the dialog states Kamailio publishes of calls."""

from __future__ import annotations

from provd.pbx.rpc import KamailioRpc

DIALOG_EVENT = "dialog"
DIALOG_INFO = "application/dialog-info+xml"
_NONE = "."  # pua.publish's "not given" for id, ETag, outbound proxy, extra headers


async def publish_dialog_info(rpc: KamailioRpc, uri: str, body: str, *, expires_s: int) -> None:
    """Publish ``body`` (a dialog-info document on one line) as ``uri``'s dialog state
    for ``expires_s`` seconds; the same series every time, so each replaces the last."""
    await rpc.call(
        "pua.publish",
        uri,
        str(expires_s),
        DIALOG_EVENT,
        DIALOG_INFO,
        _NONE,
        _NONE,
        _NONE,
        _NONE,
        body,
    )
