"""The PBX while ``provd serve`` runs: started and stopped with it, kept in step with provd.

Account changes reach Kamailio's ``subscriber`` table in two ways:

- made in this process (the REST API): ``Platform.on_accounts_changed`` syncs at once,
  so a user added by the API can register as soon as the answer arrives;
- made by another process (``provd user add`` and every other CLI command): a watcher
  reads the newest audit id once a second. Every change writes its audit row in the
  change's own transaction, so a new ``user`` or ``tenant`` row is an exact signal that
  asks nothing of the writer; reading it costs one primary-key lookup. A full sync every
  minute covers changes made behind the services' back.

The CLI does not write Kamailio's tables itself: a new tenant needs Kamailio restarted
with a new domain alias, which only the process that supervises Kamailio can do, and
a single writer means two reconciliations never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from pathlib import Path

from provd.db.models import AuditEntry
from provd.media.announcements import write_announcements
from provd.media.catalogue import write_menus
from provd.pbx import (
    PbxControl,
    PbxError,
    PbxSupervisor,
    SyncReport,
    export_external,
    external_control,
    tenant_domains,
)
from provd.pbx.media_app import media_dir, media_hostport
from provd.services import metrics, moh
from provd.services.announcements import MEDIA_OBJECTS as ANNOUNCEMENT_OBJECTS
from provd.services.announcements import media_announcements
from provd.services.calls.collector import DEFAULT_INTERVAL_S as COLLECT_INTERVAL_S
from provd.services.calls.collector import CallCollector
from provd.services.carriers.probing import DEFAULT_INTERVAL_S, CarrierProber
from provd.services.limits.brake import Brake
from provd.services.limits.mail import Smtp
from provd.services.menus import MEDIA_OBJECTS, media_menus
from provd.services.pbx import PbxMode, PbxRuntime, save_runtime
from provd.services.pbx.night_switch import NightSwitchLamps
from provd.services.pbx.queue_lamps import AgentLamps
from provd.services.platform import Platform
from provd.services.queues import MEDIA_OBJECTS as QUEUE_OBJECTS
from provd.services.queues.collector import DEFAULT_INTERVAL_S as QUEUE_INTERVAL_S
from provd.services.queues.collector import QueueCollector
from provd.services.queues.media import write_media_queues
from provd.services.rating.costs import rate_record
from provd.services.routing import ROUTING_OBJECTS, LiveTable
from provd.services.voicemail import MAILBOX_OBJECTS, media_mailboxes
from provd.services.voicemail.collector import DEFAULT_INTERVAL_S as VOICEMAIL_INTERVAL_S
from provd.services.voicemail.collector import VoicemailCollector
from provd.services.voicemail.spool_io import write_mailboxes
from provd.settings import Settings

log = logging.getLogger("provd.pbx")

ACCOUNT_OBJECTS = ("user", "tenant", "carrier", "trunk")
"""Audit object types whose changes can change Kamailio's subscribers, domains or its
registrations with carriers."""
EXTERNAL_RUN_DIR = Path("/run/kamailio")
"""Where the packaged kamailio.service keeps its control socket."""


async def latest_audit_id() -> int:
    newest = await AuditEntry.all().order_by("-id").only("id").first()
    return int(newest.id) if newest else 0


async def _touched(after_id: int, object_types: tuple[str, ...]) -> bool:
    return bool(await AuditEntry.filter(id__gt=after_id, object_type__in=object_types).exists())


class ServedPbx:
    def __init__(
        self,
        platform: Platform,
        runtime: PbxRuntime,
        *,
        export_dir: Path | None = None,
        routing: LiveTable | None = None,
        run_dir: Path = EXTERNAL_RUN_DIR,
        poll_s: float = 1.0,
        full_sync_s: float = 60.0,
        probe_s: float = DEFAULT_INTERVAL_S,
        collect_s: float = COLLECT_INTERVAL_S,
        voicemail_s: float = VOICEMAIL_INTERVAL_S,
        queue_calls_s: float = QUEUE_INTERVAL_S,
    ) -> None:
        self.platform = platform
        self.runtime = runtime
        self.export_dir = export_dir or runtime.settings.pbx_dir / "external"
        self.run_dir = run_dir
        self.routing = routing or LiveTable()
        """The table provd's route listener answers Kamailio from; kept current here."""
        self._poll_s = poll_s
        self._full_sync_s = full_sync_s
        self._supervisor: PbxSupervisor | None = None
        self._control: PbxControl | None = None
        self._domains: list[str] = []
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._probe_s = probe_s
        self._prober: CarrierProber | None = None
        self._collector: CallCollector | None = None
        self._collect_s = collect_s
        self._brake: Brake | None = None
        self._voicemail: VoicemailCollector | None = None
        self._voicemail_s = voicemail_s
        self._queue_calls: QueueCollector | None = None
        self._queue_calls_s = queue_calls_s
        # The night switch's and the queue agents' BLF lamps need Kamailio's presence server.
        self._lamps = NightSwitchLamps() if runtime.settings.with_blf else None
        self._agent_lamps = AgentLamps() if runtime.settings.with_blf else None

    @property
    def supervisor(self) -> PbxSupervisor | None:
        """Kamailio's and rtpengine's supervisor; None for an external PBX."""
        return self._supervisor

    @property
    def control(self) -> PbxControl:
        assert self._control is not None, "start() first"
        return self._control

    async def start(self) -> PbxControl:
        """Start (or export for) the PBX, sync every account, then follow changes."""
        # Read before the first sync: a change committed during it is then seen again.
        mark = await latest_audit_id()
        settings = self.runtime.settings
        if self.runtime.mode is PbxMode.SUPERVISED and settings.media_app:
            self.routing.media = media_hostport(settings)
        # Before Kamailio starts: its first call is answered from current data, and the
        # media application's first from current menus.
        await self.routing.refresh()
        await self._write_menus()
        await self._write_mailboxes()
        await self._write_announcements()
        await self._write_moh()
        await self._write_queues()
        self._domains = await tenant_domains()
        if self.runtime.mode is PbxMode.SUPERVISED:
            self._supervisor = PbxSupervisor(
                settings, domains=self._domains, on_restart=metrics.pbx_restarted
            )
            await self._supervisor.start()
            self._control = self._supervisor.control
        else:
            await self._export(self._domains)
            self._control = external_control(settings, rpc_url=self.runtime.rpc_url)
        try:
            report = await self.sync()
        except BaseException:
            await self.stop()
            raise
        log.info("PBX ready: %d subscribers written, %d removed", report.written, report.deleted)
        save_runtime(self.runtime)
        self.platform.on_accounts_changed.append(self._sync_logged)
        self._watcher = asyncio.create_task(self._watch(mark), name="pbx-account-watch")
        # A carrier going down or coming back reorders calls at once.
        self._prober = CarrierProber(
            self._control.probe_carrier, interval_s=self._probe_s, on_change=self.routing.refresh
        )
        self._prober.start()
        # Calls that ended while provd was down are in Kamailio's tables: collected now,
        # then every few seconds.
        # Spend limits: usage read back from the records first (a restart must not
        # release the brake), then kept current as records are collected.
        self._brake = Brake(self.routing, Smtp.from_settings(self.platform.settings))
        await self._brake.seed()
        self._brake.start()
        self._collector = CallCollector(
            self._control.db,
            rate=rate_record,
            on_records=self._brake.records_collected,
            # Calls a restart of Kamailio cut (under serve, every provd restart) got no CDR.
            pbx_started=self._control.started_at,
        )
        self._collector.start(self._collect_s)
        if self._runs_media_app:
            # Messages left while provd was down wait in the spool: collected now.
            self._voicemail = VoicemailCollector(
                media_dir(settings),
                self.platform.data_dir,
                control=self._control,
                smtp=Smtp.from_settings(self.platform.settings),
                retention_days=self.platform.settings.voicemail_days,
                on_mailboxes_changed=self._write_mailboxes,
            )
            self._voicemail.start(self._voicemail_s)
            # Callers who left a queue while provd was down: their records wait too.
            self._queue_calls = QueueCollector(media_dir(settings))
            self._queue_calls.start(self._queue_calls_s)
        return self._control

    @property
    def _runs_media_app(self) -> bool:
        return self.runtime.mode is PbxMode.SUPERVISED and self.runtime.settings.media_app

    async def _export(self, domains: list[str]) -> None:
        try:
            files = await export_external(
                self.runtime.settings, domains, self.export_dir, run_dir=self.run_dir
            )
        except OSError as e:
            raise PbxError(f"could not write the Kamailio configuration: {e}") from e
        log.info("Kamailio configuration for the external PBX written to %s", files.main)

    async def sync(self) -> SyncReport:
        """Domains first (a new tenant's domain restarts Kamailio), then subscribers."""
        async with self._lock:
            domains = await tenant_domains()
            if domains != self._domains:
                log.info("tenant domains now %s", ", ".join(domains))
                if self._supervisor is not None:
                    await self._supervisor.reconfigure(domains)
                else:
                    await self._export(domains)
                    log.warning("tenant domains changed: reload the external Kamailio")
                self._domains = domains
            report = await self.control.sync_subscribers(self.platform.box)
            await self.control.sync_registrations(self.platform.box)
        if report.written or report.deleted:
            log.info(
                "PBX subscribers: %d written, %d removed, registrations ended for %s",
                report.written,
                report.deleted,
                ", ".join(report.kicked) or "none",
            )
        return report

    async def _sync_logged(self) -> None:
        # The change that triggered this is committed already: a PBX failure must
        # not turn it into an error for the caller. The watcher's full sync retries.
        try:
            await self.routing.refresh()
            await self.sync()
        except Exception:
            log.exception("PBX sync after an account change failed")

    async def _watch(self, mark: int) -> None:
        last_full = time.monotonic()
        failing = False
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                latest = await latest_audit_id()
                due = time.monotonic() - last_full >= self._full_sync_s
                if due or (latest > mark and await _touched(mark, ROUTING_OBJECTS)):
                    await self.routing.refresh()
                if due or (latest > mark and await _touched(mark, MEDIA_OBJECTS)):
                    await self._write_menus()
                if due or (latest > mark and await _touched(mark, MAILBOX_OBJECTS)):
                    await self._write_mailboxes()
                if due or (latest > mark and await _touched(mark, ANNOUNCEMENT_OBJECTS)):
                    await self._write_announcements()
                if latest > mark and await _touched(mark, moh.MEDIA_OBJECTS):
                    await self._write_moh()
                if due or (latest > mark and await _touched(mark, QUEUE_OBJECTS)):
                    await self._write_queues()
                if due or (latest > mark and await _touched(mark, ACCOUNT_OBJECTS)):
                    await self.sync()
                    last_full = time.monotonic()
                mark = latest
                if self._lamps is not None:
                    await self._lamps.publish(self.control.rpc)
                if self._agent_lamps is not None:
                    await self._agent_lamps.publish(self.control.rpc)
            except Exception:
                # Retried every poll until it works; logged once per failure streak.
                if not failing:
                    log.exception("PBX account watch: sync failed; retrying")
                failing = True
            else:
                if failing:
                    log.info("PBX account watch: sync works again")
                failing = False

    async def _write_menus(self) -> None:
        """menus.json for the media application (read again at its next call). Written
        only when this process runs it: an external PBX has none of provd's."""
        settings = self.runtime.settings
        if self.runtime.mode is PbxMode.SUPERVISED and settings.media_app:
            write_menus(media_dir(settings), await media_menus())

    async def _write_queues(self) -> None:
        """queues.json for the media application: the queues and their logged-in agents."""
        if self._runs_media_app:
            await write_media_queues(media_dir(self.runtime.settings))

    async def after_service_code(self) -> None:
        """What a code dialled on a phone changed takes effect now, not at the next
        poll: the routing table, queues.json (``*903`` takes calls at once) and the
        agents' lamps."""
        await self.routing.refresh()
        await self._write_queues()
        if self._agent_lamps is not None and self._control is not None:
            try:
                await self._agent_lamps.publish(self._control.rpc)
            except Exception:
                # The watcher publishes again within a second.
                log.exception("queue agents' lamps: publishing failed")

    async def _write_mailboxes(self) -> None:
        """mailboxes.json for the media application: every user has a mailbox."""
        if self._runs_media_app:
            write_mailboxes(
                media_dir(self.runtime.settings), await media_mailboxes(self.platform.data_dir)
            )

    async def _write_announcements(self) -> None:
        """announcements.json for the media application."""
        if self._runs_media_app:
            write_announcements(media_dir(self.runtime.settings), await media_announcements())

    async def _write_moh(self) -> None:
        """Every tenant's music on hold file, from the playlists stored (a change made
        with the services writes its own file at once; this catches up with a restore
        or a file removed by hand)."""
        failed = await moh.render_all(self.platform.data_dir)
        if failed:
            log.error(
                "music on hold: the default plays for %s (a sound file is missing)",
                ", ".join(failed),
            )

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.platform.on_accounts_changed.remove(self._sync_logged)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._prober is not None:
            await self._prober.stop()
            self._prober = None
        if self._collector is not None:
            await self._collector.stop()
            # Calls that ended since the last round, before Kamailio stops.
            try:
                await self._collector.collect()
            except Exception:
                log.exception("call records: the last collection failed; the next start reads it")
            self._collector = None
        if self._voicemail is not None:
            await self._voicemail.stop()
            self._voicemail = None
        if self._queue_calls is not None:
            await self._queue_calls.stop()
            self._queue_calls = None
        if self._brake is not None:
            await self._brake.stop()
            self._brake = None
        if self._supervisor is not None:
            await self._supervisor.stop()
        elif self._control is not None:
            await self._control.close()


# --- where Kamailio listens by default -------------------------------------------------


def _bindable(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((address, 0))
    except OSError:
        return False
    return True


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return []
    found = [str(info[4][0]) for info in infos]
    return sorted(dict.fromkeys(found), key=lambda a: ":" in a)  # IPv4 first


def _route_source() -> str | None:
    """The address this host sends from on its default route (no packet leaves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 5060))
        except OSError:
            return None
        return str(s.getsockname()[0])


def default_sip_address(settings: Settings) -> str:
    """An address of this host that phones can reach: the SIP proxy or public host name
    when it resolves to one, else the default route's source address, else loopback."""
    names = [h for h in (settings.sip_proxy_host, settings.public_host) if h]
    candidates = [a for h in names for a in _resolve(h)]
    route = _route_source()
    if route:
        candidates.append(route)
    local = [a for a in candidates if _bindable(a)]
    for address in local:
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return local[0] if local else "127.0.0.1"
