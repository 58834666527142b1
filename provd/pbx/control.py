"""The handle services use to talk to a running PBX, supervised or external.

It bundles what every call needs (RPC client, Kamailio's database, the
NOTIFY next hop and token, rtpengine's control address) so that callers pass an
AoR and nothing else.
"""

from __future__ import annotations

import time

from provd.pbx import mwi, notify, probe, rtpengine, status
from provd.pbx.database import KamailioDb, open_kamailio_db
from provd.pbx.errors import PbxError
from provd.pbx.notify import CheckSyncResult
from provd.pbx.probe import ProbeResult
from provd.pbx.registrations import sync_registrations
from provd.pbx.rpc import KamailioRpc
from provd.pbx.settings import PbxSecrets, PbxSettings
from provd.pbx.status import Registration
from provd.pbx.subscribers import SyncReport, sync_subscribers
from provd.security.secretbox import SecretBox


class PbxControl:
    def __init__(
        self,
        *,
        rpc: KamailioRpc,
        db: KamailioDb,
        next_hop: str,
        notify_token: str,
        rtpengine_ng: tuple[str, int] | None = None,
    ) -> None:
        self.rpc = rpc
        self.db = db
        self.next_hop = next_hop
        self._notify_token = notify_token
        self.rtpengine_ng = rtpengine_ng

    @classmethod
    def for_settings(
        cls, settings: PbxSettings, secrets: PbxSecrets, *, rpc_url: str | None = None
    ) -> PbxControl:
        """``rpc_url`` overrides the settings' for a Kamailio on another host."""
        return cls(
            rpc=KamailioRpc(rpc_url or settings.rpc_url, token=secrets.rpc_token),
            db=open_kamailio_db(settings),
            next_hop=f"sip:{settings.sip_hostport}",
            notify_token=secrets.notify_token,
            rtpengine_ng=settings.rtpengine_ng,
        )

    async def check_sync(
        self, aor: str, *, event: str, contact: str | None = None
    ) -> CheckSyncResult:
        """``event``: the phone's vendor's (``Driver.check_sync_event``)."""
        return await notify.check_sync(
            self.rpc,
            aor,
            event=event,
            next_hop=self.next_hop,
            notify_token=self._notify_token,
            contact=contact,
        )

    async def message_waiting(self, aor: str, *, new: int, old: int) -> CheckSyncResult:
        """The voicemail lamp of every phone of ``aor``: ``new`` unheard, ``old`` heard."""
        return await mwi.message_waiting(
            self.rpc, aor, new=new, old=old, next_hop=self.next_hop, notify_token=self._notify_token
        )

    async def probe_carrier(self, address: str, transport: str = "udp") -> ProbeResult:
        """OPTIONS to a carrier's ``host:port``, From provd on the proxy's own address."""
        uri = probe.carrier_uri(address, transport)
        return await probe.probe_carrier(
            self.rpc, uri, next_hop=uri, from_uri=f"sip:provd@{self.next_hop.removeprefix('sip:')}"
        )

    async def registration(self, aor: str) -> Registration:
        return await status.registration(self.rpc, aor)

    async def registrations(self) -> dict[str, Registration]:
        return await status.registrations(self.rpc)

    async def sync_subscribers(self, box: SecretBox, *, kick: bool = True) -> SyncReport:
        """Reconcile ``subscriber`` with provd's users; ``kick=False`` when Kamailio is down."""
        return await sync_subscribers(self.db, box, rpc=self.rpc if kick else None)

    async def sync_registrations(self, box: SecretBox, *, reload: bool = True) -> bool:
        """Reconcile ``uacreg`` with the carriers that register; True when it changed."""
        local_domain = self.next_hop.removeprefix("sip:").rsplit(":", 1)[0]
        return await sync_registrations(
            self.db, box, local_domain=local_domain, rpc=self.rpc if reload else None
        )

    async def started_at(self) -> float | None:
        """When the running Kamailio started (Unix seconds); None when it does not answer."""
        try:
            reply = await self.rpc.call("core.uptime", timeout=2.0)
        except PbxError:
            return None
        uptime = reply.get("uptime") if isinstance(reply, dict) else None
        if isinstance(uptime, bool) or not isinstance(uptime, (int, float)):
            return None
        return time.time() - float(uptime)

    async def rtpengine_answers(self, *, timeout: float = 2.0) -> bool:
        """Whether rtpengine answers a ping on its control address (the supervisor's
        readiness probe); False when this handle was not told where rtpengine is."""
        if self.rtpengine_ng is None:
            return False
        try:
            return await rtpengine.ping(self.rtpengine_ng, timeout=timeout)
        except (PbxError, OSError, ValueError):  # no answer, no route, a garbled reply
            return False

    async def close(self) -> None:
        await self.rpc.close()
        await self.db.close()
