"""BLF lamps provd publishes into Kamailio's presence server, kept matching what they
show: a lamp is published when it changes, every lamp again every few minutes (well
before a publication expires: a Kamailio restarted by its supervisor has an empty
presence server, and its lamps come back within that time), and a lamp no longer
wanted goes dark once. The night switches' lamps and the queue agents' use one each."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from provd.pbx.presence import publish_dialog_info
from provd.pbx.rpc import KamailioRpc

EXPIRES_S = 900
REPUBLISH_S = 300.0

DialogInfo = Callable[[str, bool, int], str]
"""A lamp's dialog-info document from its URI, whether it is lit, and a version."""


class PublishedLamps:
    def __init__(self, dialog_info: DialogInfo) -> None:
        self._dialog_info = dialog_info
        self._shown: dict[str, bool] = {}
        self._version = 0
        self._published_at = 0.0

    async def show(self, rpc: KamailioRpc, wanted: Mapping[str, bool]) -> int:
        """Publish the lamps of ``wanted`` (URI: lit) that changed, all of them when due
        again, and dark the ones no longer wanted; how many were published."""
        due = time.monotonic() - self._published_at >= REPUBLISH_S
        count = 0
        for uri, lit in sorted(wanted.items()):
            if not due and self._shown.get(uri) == lit:
                continue
            await self._publish(rpc, uri, lit)
            self._shown[uri] = lit
            count += 1
        if due:
            self._published_at = time.monotonic()
        for uri in sorted(set(self._shown) - set(wanted)):
            await self._publish(rpc, uri, False)
            del self._shown[uri]
            count += 1
        return count

    async def _publish(self, rpc: KamailioRpc, uri: str, lit: bool) -> None:
        self._version += 1
        body = self._dialog_info(uri, lit, self._version)
        await publish_dialog_info(rpc, uri, body, expires_s=EXPIRES_S)
