"""Every service call that changes a model writes an audit row in the same call.

The phone-path cache (services/provisioning/mark_cache.py) is only correct if this
holds: it keys on the newest audit id, so a change without a row is served stale.

How it is checked, and how far:

- Tortoise's write paths are patched at the class level for the duration of each call
  (``Model.save``/``delete`` through the executor's insert/update/delete, and
  ``QuerySet.update``/``delete``/``bulk_create``/``bulk_update``), recording which
  models were written. Raw SQL is not seen; the one service that writes with it, the
  phone path's fetch notes (a device's last-fetch columns), is listed as bookkeeping.
- ``_call`` runs one service function and asserts: if it wrote any model other than
  ``AuditEntry``, it also wrote an ``AuditEntry``. Bookkeeping functions (sign-in
  sessions, sightings, provisioning tokens: nothing a phone's files depend on) may write
  their own models without a row, and only those models.
- Every public coroutine function in ``provd/services/**`` is found by introspection and
  must be driven here, or be listed as reading only, or as a writer not yet driven here
  (with the test that covers its audit row). A new function fails this test until someone
  decides which it is, so a new write path cannot slip in unnoticed. The "reads only" and
  "not yet driven" lists are claims, not checks: shrinking the second one is the way to
  make the rule fully checked.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.backends.base.executor import BaseExecutor
from tortoise.queryset import BulkCreateQuery, BulkUpdateQuery, DeleteQuery, UpdateQuery

import provd.services
from provd.db.models import AuditEntry, ProvisioningToken, Tenant, User
from provd.domain.mac import parse_mac
from provd.media.mailbox_actions import write_action, write_greeting
from provd.pbx import ProbeResult
from provd.security.ratelimit import FailureRule
from provd.services import (
    announcements,
    blocking,
    carriers,
    discovery,
    groups,
    limits,
    menus,
    moh,
    numbers,
    outbound,
    queues,
    rating,
    schedules,
    voicemail,
)
from provd.services.access import accounts, tokens
from provd.services.carriers.probing import CarrierProber
from provd.services.cluster import nonces, throttle
from provd.services.cluster.housekeeping import Housekeeping
from provd.services.cluster.nonce_key import nonce_key
from provd.services.cluster.nonces import DatabaseClaims
from provd.services.cluster.platform_secrets import platform_secret
from provd.services.cluster.throttle import SharedLimiter
from provd.services.devices import (
    add_device,
    get_device,
    note_reported_modules,
    remove_device,
    reset_device,
    seal_device,
    update_device,
)
from provd.services.directory import forwarding, tenants, user_view, users
from provd.services.layouts import clear_keys, resolve_scope, set_key, set_page_label
from provd.services.menus import sounds
from provd.services.platform import Platform
from provd.services.provisioning import pnp_tokens
from provd.services.queues import agents as queue_agents
from provd.services.queues import collector as queue_collector
from provd.services.queues.collector import QueueCollector
from provd.services.schedules import routes
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks import create as trunk_create
from provd.services.trunks import numbers as trunk_numbers
from provd.services.trunks import passwords as trunk_passwords
from provd.services.trunks import remove as trunk_remove
from provd.services.trunks import update as trunk_update
from provd.services.voicemail import mailbox, mailbox_actions
from provd.services.voicemail.collector import VoicemailCollector
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.services.queues.spool import spool_queue_call
from tests.services.voicemail.spool import spool_message

# Writes nothing a phone's files depend on: may write these models without an audit row.
BOOKKEEPING: dict[str, tuple[frozenset[str], str]] = {
    "discovery.record_sighting": (
        frozenset({"DiscoveredDevice"}),
        "a phone seen on the LAN; not configuration",
    ),
    "provisioning.pnp_tokens.issue": (
        frozenset({"ProvisioningToken"}),
        "one-time fetch credential; the fetch itself is audited",
    ),
    "provisioning.pnp_tokens.spend": (frozenset({"ProvisioningToken"}), "marks a token used"),
    "provisioning.fetch_notes.FetchNotes.note": (
        frozenset({"Device"}),
        "when, from where and with which firmware a phone last fetched (plain SQL)",
    ),
    "provisioning.fetch_notes.FetchNotes.close": (
        frozenset({"Device"}),
        "the fetch notes still pending when serve stops",
    ),
    "provisioning.Provisioner.close": (frozenset({"Device"}), "through FetchNotes.close"),
    "carriers.probing.CarrierProber.probe_all": (
        frozenset({"Carrier"}),
        "a carrier's last OPTIONS answer (probe columns); observed, not configuration",
    ),
    "calls.collector.CallCollector.collect": (
        frozenset({"CallRecord", "CallCollectorMark"}),
        "call records copied from Kamailio's accounting; observed, not configuration",
    ),
    "calls.collector.CallCollector.prune": (
        frozenset(),
        "deletes Kamailio's accounting rows already copied, a month old; no provd row",
    ),
    "limits.brake.Brake.check_alerts": (
        frozenset({"LimitAlert"}),
        "an alert at 80 %/95 % of a limit, sent once; observed usage, not configuration",
    ),
    "limits.brake.Brake.records_collected": (
        frozenset({"LimitAlert"}),
        "collected records' spend (in memory) and the alerts it crosses",
    ),
    "cluster.nonce_key.nonce_key": (
        frozenset({"PlatformSecret"}),
        "the digest nonce key, made once by the first process to start; not configuration",
    ),
    "cluster.platform_secrets.platform_secret": (
        frozenset({"PlatformSecret"}),
        "a key every process shares (nonces, TLS tickets), made once; not configuration",
    ),
    "cluster.nonces.DatabaseClaims.claim": (
        frozenset({"NonceClaim"}),
        "which process counts a digest nonce; not configuration",
    ),
    "cluster.nonces.delete_expired": (frozenset({"NonceClaim"}), "claims of expired nonces"),
    "cluster.throttle.SharedLimiter.record_failure": (
        frozenset({"AuthFailures"}),
        "a failed authentication counted; an unauthenticated attempt changes no configuration",
    ),
    "cluster.throttle.SharedLimiter.blocked_for": (frozenset(), "reads a failure count"),
    "cluster.throttle.SharedLimiter.record_success": (
        frozenset({"AuthFailures"}),
        "a failure count forgotten on success",
    ),
    "cluster.throttle.delete_forgotten": (
        frozenset({"AuthFailures"}),
        "failure counts that say nothing any more",
    ),
    "queues.collector.collect": (
        frozenset({"QueueCall"}),
        "callers' records filed from the media application; observed, like call records",
    ),
    "queues.collector.QueueCollector.collect": (
        frozenset({"QueueCall"}),
        "through queues.collector.collect",
    ),
    "cluster.housekeeping.Housekeeping.sweep": (
        frozenset({"NonceClaim", "AuthFailures"}),
        "the two above, once a minute",
    ),
}

READ_ONLY = {
    name: "reads only"
    for name in [
        "access.accounts.tenant_for",
        "calls.list_calls",
        "calls.totals",
        "calls.collector.CallCollector.stop",
        "access.accounts.list_accounts",
        "access.accounts.get_account",
        "access.tokens.list_tokens",
        "audit.recent",
        "health.ReadinessChecks.run",
        "metrics.exposition",
        "rollouts.progress.open_device_states",
        "carriers.list_carriers",
        "carriers.get_carrier",
        "rating.list_rates",
        "rating.export_table",
        "rating.costs.cost_of",
        "rating.costs.rate_record",
        "rating.costs.load_table",
        "rating.costs.table",
        "audit.log.search",
        "audit.log.object_types",
        "blocking.list_blocks",
        "blocking.get_block",
        "outbound.show_policy",
        "limits.show_limits",
        "limits.load_limits",
        "limits.outside_calls_since",
        "limits.list_alerts",
        "limits.usage_view",
        "limits.brake.Brake.seed",
        "limits.brake.Brake.stop",
        "limits.mail.Smtp.send",
        "destinations.resolve_destination",
        "destinations.route_by_name",
        "destinations.references_to",
        "devices.device_view",
        "devices.get_device",
        "devices.devices_with_macs",
        "devices.list_devices",
        "devices.csv_io.scope_tenant",
        "devices.csv_io.export_devices",
        "devices.detail.events",
        "devices.detail.actor_labels",
        "devices.fleet.registered_user_ids",
        "devices.fleet.fleet_page",
        "devices.fleet.filter_choices",
        "directory.tenants.get_tenant",
        "directory.tenants.tenant_by_id",
        "directory.tenants.list_tenants",
        "directory.user_view.search_users",
        "directory.users.get_user",
        "directory.users.list_users",
        "directory.users.check_free_extension",
        "directory.forwarding.get_forwarding",
        "discovery.list_unclaimed",
        "discovery.pnp_url",
        "firmware.list_images",
        "firmware.list_images_view",
        "firmware.find_image",
        "firmware.pin_scope",
        "firmware.device_firmware_view",
        "firmware.firmware_grant",
        "firmware.view.pins",
        "firmware.view.models_overview",
        "installer.tenant_in_scope",
        "installer.search_users",
        "installer.status_of",
        "installer.labels.read_label",
        "installer.mac_probes.check",
        "groups.get_group",
        "groups.group_view",
        "groups.list_groups",
        "groups.show_group",
        "menus.get_menu",
        "announcements.get_announcement",
        "announcements.announcement_view",
        "announcements.list_announcements",
        "announcements.show_announcement",
        "announcements.media_announcements",
        "moh.moh_view",
        "moh.show_moh",
        "menus.menu_view",
        "menus.list_menus",
        "menus.show_menu",
        "menus.media_menus",
        "queues.get_queue",
        "queues.queue_view",
        "queues.list_queues",
        "queues.show_queue",
        "queues.agent_users",
        "queues.agents.is_logged_in",
        "queues.media.media_queues",
        "queues.stats.queue_stats",
        "queues.stats.period_stats",
        "queues.stats.calls_by_outcome",
        "queues.stats.wait_ms_by_outcome",
        "queues.collector.QueueCollector.stop",
        "voicemail.counts",
        "voicemail.get_message",
        "voicemail.list_messages",
        "voicemail.show_message",
        "voicemail.media_mailboxes",
        "voicemail.message_audio",
        "voicemail.collector.email_copy",
        "voicemail.collector.VoicemailCollector.stop",
        "menus.sounds.convert",
        "menus.sounds.get_sound",
        "menus.sounds.list_sounds",
        "menus.sounds.show_sound",
        "menus.sounds.sound_audio",
        "menus.sounds.sound_uses",
        "voicemail.mailbox.mailbox_view",
        "voicemail.mailbox.list_mailboxes",
        "layouts.resolve_scope",
        "layouts.export_layout",
        "layouts.effective_layout",
        "layouts.effective_keys_view",
        "layouts.owners_above",
        "layouts.keys_by_level",
        "layouts.view.default_modules",
        "layouts.view.editor_view",
        "layouts.view.default_model",
        "layouts.view.layouts_summary",
        "numbers.list_numbers",
        "numbers.get_number",
        "pbx.line_registrations",
        "pbx.device_registrations",
        "pbx.serve.latest_audit_id",
        "provisioning.mark_cache.audit_mark",
        "provisioning.pnp_tokens.find",
        "provisioning.records.device_by_username",
        "provisioning.records.tenant_by_bootstrap",
        "provisioning.records.unsealed_device",
        "provisioning.rendering.phone_context",
        "provisioning.rendering.device_context",
        "provisioning.rendering.render_file",
        "provisioning.rendering.render_all",
        "provisioning.rendering.ContextCache.context",
        "routing.resolve_addresses",
        "routing.load_table",
        "routing.LiveTable.refresh",
        "trunks.get_trunk",
        "trunks.list_trunks",
        "trunks.show_trunk",
        "trunks.tenant_number",
        "trunks.trunk_view",
        "trunks.settings.caller_ids",
        "trunks.settings.check_main_number",
        "trunks.settings.resolve_failover",
        "trunks.status.trunk_status",
        "rollouts.select_devices",
        "schedules.get_schedule",
        "schedules.list_schedules",
        "schedules.show_schedule",
        "schedules.routes.get_route",
        "schedules.routes.route_view",
        "schedules.routes.list_routes",
        "schedules.routes.show_route",
        "rollouts.preview.preview",
        "rollouts.progress.rollout_view",
        "rollouts.progress.get_rollout",
        "rollouts.progress.list_rollouts",
        "rollouts.progress.latest_event_id",
        "rollouts.progress.rollout_events",
        "service_codes.tenant_codes",
        "routing.LiveTable.written",
        "backup.postgres.dump",
        "backup.postgres.tables_present",
    ]
}

NOT_YET_DRIVEN = {
    "cluster.tls_tickets.SharedTicketKeys.keep": "rotates TLS ticket keys in memory until "
    "cancelled, writes nothing; tests/security/test_tls_tickets.py",
    "audit.record": "writes the row itself",
    "access.accounts.sign_in": "session rows (bookkeeping); tests/services/access",
    "access.accounts.resume": "session expiry (bookkeeping); tests/services/access",
    "access.accounts.sign_out": "deletes a session (bookkeeping); tests/services/access",
    "access.tokens.authenticate": "last-used time (bookkeeping); tests/services/access",
    "devices.csv_io.import_devices": "device.add/device.import rows; tests/services/devices",
    "devices.detail.update_settings": "through update_device; tests/services/devices",
    "firmware.add_image": "firmware.add row; tests/services/firmware",
    "firmware.set_tested": "firmware.tested/untested row; tests/services/firmware",
    "firmware.set_pin": "firmware.pin row; tests/services/firmware",
    "firmware.remove_pin": "firmware.unpin row; tests/services/firmware",
    "firmware.reported.note_sip_firmware": "reported version (bookkeeping); tests/firmware",
    "firmware.reported.observe": "reported version (bookkeeping); tests/firmware",
    "firmware.reported.record_all": "reported versions (bookkeeping); tests/firmware",
    "installer.claim": "through devices.add_device/update_device; tests/services/installer",
    "installer.mac_probes.record": "device.probe row; tests/services/installer",
    "installer.sheets.claim_sheet": "through installer.claim; tests/services/installer",
    "layouts.import_layout": "keys.import row; tests/services/layouts",
    "pbx.check_sync_device": "device.resync/reboot row, needs a PBX; tests/pbx",
    "voicemail.notify_waiting": "a NOTIFY, needs a PBX; tests/pbx/test_mwi.py",
    "voicemail.mailbox.set_greeting_sound": "inside set_greeting's and apply_actions' "
    "transactions, which are driven",
    "moh.render_all": "the tenants' music files again from the database at start; "
    "tests/services/moh",
    "menus.sounds.write_sound_file": "a file, last in apply_actions' transaction, which "
    "writes the rows and their audit rows",
    "voicemail.update_lamp": "a NOTIFY, needs a PBX; tests/pbx/test_mwi.py",
    "pbx.serve.ServedPbx.start": "Kamailio's own tables, not provd's; tests/pbx",
    "pbx.serve.ServedPbx.sync": "Kamailio's own tables, not provd's; tests/pbx",
    "pbx.serve.ServedPbx.stop": "stops processes; tests/pbx",
    "pbx.night_switch.NightSwitchLamps.publish": (
        "Kamailio's presence server, not provd's tables; tests/pbx/test_blf"
    ),
    "pbx.queue_lamps.AgentLamps.publish": (
        "Kamailio's presence server, not provd's tables; tests/pbx/test_blf"
    ),
    "pbx.lamps.PublishedLamps.show": (
        "Kamailio's presence server, not provd's tables; tests/pbx/test_blf"
    ),
    "pbx.serve.ServedPbx.after_service_code": (
        "the routing table, queues.json and lamps, not provd's tables; tests/test_serve_pbx.py"
    ),
    "queues.media.write_media_queues": "queues.json, not provd's tables; tests/services/queues",
    "platform.Platform.firmware_fetched": "hands over to the rollout engine",
    "platform.Platform.accounts_changed": "notifies listeners only",
    "provisioning.Provisioner.authenticate": "seals through devices.seal_device",
    "service_codes.ServiceCodes.carry_out": (
        "through directory.forwarding and schedules; tests/services/service_codes"
    ),
    "provisioning.Provisioner.serve": "modules through devices.note_reported_modules",
    "provisioning.Provisioner.serve_firmware": "hands over to the rollout engine",
    "provisioning.Provisioner.firmware_downloaded": "hands over to the rollout engine",
    "rollouts.start_rollout": "rollout.start rows; tests/rollouts",
    "rollouts.move_rollout": "rollout.* row; tests/rollouts",
    "rollouts.pause_rollout": "through move_rollout; tests/rollouts",
    "rollouts.resume_rollout": "through move_rollout; tests/rollouts",
    "rollouts.cancel_rollout": "through move_rollout; tests/rollouts",
    "carriers.probing.CarrierProber.stop": "stops the loop",
    "cluster.housekeeping.Housekeeping.stop": "stops the loop",
    **{
        f"cluster.leader.{lease}.{method}": "a lock file or a PostgreSQL advisory lock, no row"
        for lease in ("Lease", "FileLease", "PostgresLease")
        for method in ("acquire", "held", "release")
    },
    "cluster.leader.Leadership.try_lead": "starts the leader's services (each audits its own)",
    "cluster.leader.Leadership.close": "stops the leader's services",
    "rollouts.engine.record_firmware_fetched": "rollout.device.fetched; tests/rollouts",
    "rollouts.engine.RolloutEngine.start": "starts the loop",
    "rollouts.engine.RolloutEngine.stop": "stops the loop",
    "rollouts.engine.RolloutEngine.tick": "rollout.device.* rows; tests/rollouts",
    "rollouts.engine.RolloutEngine.firmware_fetched": "rollout.device.fetched; tests/rollouts",
    "trunks.numbers.put_number": "within add_trunk's or add_number's transaction and row",
    "trunks.passwords.create_accounts": "within add_trunk's transaction and row",
    "backup.create.create_backup": "backup.create row; tests/services/backup",
    "backup.restore.restore_backup": (
        "the restored database's own backup.restore row; tests/services/backup"
    ),
    "backup.postgres.drop": "within restore_backup, the target database; tests/services/backup",
    "backup.postgres.load": "within restore_backup, the target database; tests/services/backup",
}


def service_functions() -> set[str]:
    """Every public coroutine function (or method of a public class) in provd.services."""
    found = set()
    prefix = "provd.services."
    for info in pkgutil.walk_packages(provd.services.__path__, prefix):
        module = importlib.import_module(info.name)
        short = info.name.removeprefix(prefix)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.iscoroutinefunction(obj):
                found.add(f"{short}.{name}")
            elif inspect.isclass(obj):
                found |= {
                    f"{short}.{name}.{m}"
                    for m, f in vars(obj).items()
                    if not m.startswith("_") and inspect.iscoroutinefunction(f)
                }
    return found


async def _answers_ok(address: str, transport: str) -> ProbeResult:
    return ProbeResult(200, "OK")


class Writes:
    """The models written while active, by name."""

    def __init__(self) -> None:
        self.models: list[str] = []

    @contextlib.contextmanager
    def watching(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        def wrap(cls: type, method: str, model_of: Callable[..., Any]) -> None:
            original = getattr(cls, method)

            async def recorded(self: Any, *args: Any, **kw: Any) -> Any:
                model = model_of(self, *args)
                self_writes.models.append(getattr(model, "__name__", type(model).__name__))
                return await original(self, *args, **kw)

            monkeypatch.setattr(cls, method, recorded)

        self_writes = self
        instance = lambda _executor, obj, *_: obj if isinstance(obj, type) else type(obj)  # noqa: E731
        for method in ("execute_insert", "execute_update", "execute_delete"):
            wrap(BaseExecutor, method, instance)
        for cls in (UpdateQuery, DeleteQuery, BulkCreateQuery, BulkUpdateQuery):
            wrap(cls, "_execute", lambda q, *_: q.model)
        try:
            yield
        finally:
            monkeypatch.undo()


class Driver:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.driven: set[str] = set()

    async def call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        name = f"{fn.__module__.removeprefix('provd.services.')}.{fn.__qualname__}"
        writes = Writes()
        with writes.watching(self.monkeypatch):
            result = await fn(*args, **kw)
        written = set(writes.models)
        self.driven.add(name)
        if name in BOOKKEEPING:
            allowed, _ = BOOKKEEPING[name]
            assert written <= allowed, f"{name} wrote {written - allowed} without an audit row"
        elif written - {"AuditEntry"}:
            assert "AuditEntry" in written, f"{name} wrote {sorted(written)} without an audit row"
        return result


async def test_every_service_write_writes_an_audit_row(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = Driver(monkeypatch)
    a = TEST_ACTOR
    await d.call(tenants.add_tenant, platform, a, "acme")
    await d.call(tenants.update_tenant, platform, a, "acme", vlan_lan="20")
    await d.call(users.add_user, platform, a, "default", "201", "Front Desk")
    await d.call(users.add_user, platform, a, "default", "202", "Back Office")
    await d.call(user_view.update_user, platform, a, "default", "201", hide_caller_id=True)
    mac = "0015654aa937"
    await d.call(add_device, platform, a, mac, "yealink-t46g", users=["201"])
    await d.call(update_device, a, mac, name="Reception")
    device = await get_device(mac)
    await d.call(note_reported_modules, device, 1)
    await d.call(seal_device, device)
    await d.call(reset_device, a, mac)
    scope = await resolve_scope(device=mac)
    await d.call(set_key, a, scope, None, "line:2", "blf", target="202", label="Back")
    await d.call(set_page_label, a, scope, None, 0, 1, "Main")
    await d.call(clear_keys, a, scope, None)
    issued = await d.call(pnp_tokens.issue, platform, device)
    row = await ProvisioningToken.get(username=issued.username)
    await d.call(pnp_tokens.spend, row.id)
    await d.call(remove_device, a, mac)
    await d.call(users.remove_user, platform, a, "default", "202")
    await d.call(accounts.add_account, a, "ops", "A-long-enough-passw0rd", role="admin")
    await d.call(accounts.set_password, a, "ops", "Another-long-passw0rd")
    await d.call(accounts.remove_account, a, "ops")
    await d.call(tokens.create_token, a, "ci")
    [token] = [t for t in await tokens.list_tokens() if t["name"] == "ci"]
    await d.call(tokens.revoke_token, a, int(str(token["id"])))
    sighting = discovery.Sighting(parse_mac("001565000001"), discovery.Source.DHCP, ip="10.0.0.9")
    await d.call(discovery.record_sighting, sighting)
    await d.call(discovery.forget, a, "001565000001")
    await d.call(discovery.record_sighting, sighting)
    await d.call(discovery.forget_all, a)
    await d.call(numbers.add_block, platform, a, "+31201234500", 10, "default")
    await d.call(numbers.assign, platform, a, "+31201234501", "201")
    await d.call(tenants.update_tenant, platform, a, "default", main_number="+31201234502")
    await d.call(tenants.update_tenant, platform, a, "default", main_number="none")
    await d.call(numbers.release, platform, a, "+31201234501")
    await d.call(groups.add_group, platform, a, "default", "600", "Sales", "fixed")
    await d.call(groups.update_group, platform, a, "default", "600", overflow="user:201")
    await d.call(groups.add_member, platform, a, "default", "600", user="201")
    await d.call(groups.remove_member, platform, a, "default", "600", user="201")
    await d.call(numbers.assign, platform, a, "+31201234501", group="600")
    await d.call(numbers.release, platform, a, "+31201234501")
    await d.call(groups.update_group, platform, a, "default", "600", overflow="none")
    await d.call(forwarding.set_forwarding, platform, a, "default", "201", busy="group:600")
    await d.call(forwarding.set_forwarding, platform, a, "default", "201", clear=["all"])
    await d.call(forwarding.set_dnd, platform, a, "default", "201", True)
    media = platform.data_dir / "pbx" / "media"
    domain = (await Tenant.get(slug="default")).sip_domain
    spool_message(media, domain, "201", at=datetime(2026, 1, 1, tzinfo=UTC))
    [filed] = await d.call(voicemail.ingest, media, platform.data_dir)
    collector = VoicemailCollector(
        media, platform.data_dir, control=None, smtp=None, retention_days=30
    )
    spool_message(media, domain, "201", at=datetime(2026, 1, 2, tzinfo=UTC))
    await d.call(collector.collect)
    await d.call(voicemail.set_email, platform, a, "default", "201", "desk@example.test")
    await d.call(voicemail.mark_heard, platform, a, "default", filed.message.id)
    await d.call(voicemail.remove_message, platform, a, "default", filed.message.id)
    await d.call(voicemail.expire, platform.data_dir, datetime(2026, 3, 1, tzinfo=UTC), 30)
    spool_message(media, domain, "201", at=datetime(2026, 1, 3, tzinfo=UTC))
    await d.call(collector.collect)
    await d.call(collector.expire, datetime(2026, 3, 1, tzinfo=UTC))
    await d.call(sounds.add_sound, platform, a, "default", "welcome", tone_wav(0.1))
    await d.call(mailbox.set_greeting, a, "default", "201", "welcome")
    await d.call(announcements.add_announcement, platform, a, "default", "710", "Closed", "welcome")
    await d.call(announcements.update_announcement, platform, a, "default", "710", plays=2)
    await d.call(announcements.remove_announcement, platform, a, "default", "710")
    await d.call(moh.set_moh, platform, a, "default", ["welcome"])
    await d.call(moh.clear_moh, platform, a, "default")
    await d.call(mailbox.set_pin, a, "default", "201", "4711")
    await d.call(mailbox.show_mailbox, "default", "201")
    spool_message(media, domain, "201", at=datetime(2026, 3, 2, tzinfo=UTC))
    [kept] = await d.call(voicemail.ingest, media, platform.data_dir)
    write_action(media, domain=domain, mailbox="201", action="heard", message=kept.message.id)
    write_greeting(media, domain=domain, mailbox="201", pcm16=b"\0\0" * 8000)
    await d.call(mailbox_actions.apply_actions, media, platform.data_dir)
    await d.call(voicemail.mark_stored_heard, a, "default", kept.message.id)
    await d.call(voicemail.remove_stored, platform.data_dir, a, "default", kept.message.id)
    await d.call(
        menus.add_menu, platform, a, "default", "700", "Main", "welcome", default="group:600"
    )
    await d.call(menus.update_menu, platform, a, "default", "700", keys={"1": "user:201"})
    await d.call(numbers.assign, platform, a, "+31201234501", menu="700")
    await d.call(numbers.release, platform, a, "+31201234501")
    await d.call(menus.remove_menu, platform, a, "default", "700")
    await d.call(mailbox.set_greeting, a, "default", "201", None)
    await d.call(users.add_user, platform, a, "default", "203", "Sales")
    await d.call(
        queues.add_queue, platform, a, "default", "800", "Support", moh="welcome", agents=["201"]
    )
    await d.call(queues.update_queue, platform, a, "default", "800", failover="group:600")
    await d.call(queue_agents.add_agent, platform, a, "default", "800", "203")
    await d.call(queue_agents.order_agents, platform, a, "default", "800", ["203", "201"])
    await d.call(queue_agents.set_login, platform, a, "default", "201", True)
    await d.call(queue_agents.set_login, platform, a, "default", "201", False, queue="800")
    await d.call(queue_agents.remove_agent, platform, a, "default", "800", "203")
    await d.call(numbers.assign, platform, a, "+31201234501", queue="800")
    await d.call(numbers.release, platform, a, "+31201234501")
    spool_queue_call(media, domain, "800", agent="201")
    await d.call(queue_collector.collect, media)
    spool_queue_call(media, domain, "800")
    await d.call(QueueCollector(media).collect)
    await d.call(queues.update_queue, platform, a, "default", "800", moh="none")
    await d.call(queue_agents.remove_agent, platform, a, "default", "800", "201")
    await d.call(queues.remove_queue, platform, a, "default", "800")
    await d.call(sounds.remove_sound, platform, a, "default", "welcome")
    await d.call(groups.remove_group, platform, a, "default", "600")
    await d.call(schedules.add_schedule, platform, a, "default", "Office", ["mon 08:00-17:00"])
    await d.call(schedules.update_schedule, platform, a, "default", "Office", holiday_texts=[])
    await d.call(schedules.set_night_switch, platform, a, "default", "Office", "on")
    await d.call(routes.add_route, platform, a, "default", "Main", "Office", "user:201", "none")
    await d.call(routes.update_route, platform, a, "default", "Main", closed_destination="none")
    await d.call(routes.remove_route, platform, a, "default", "Main")
    block = await d.call(blocking.add_block, platform, a, "default", anonymous=True)
    await d.call(blocking.remove_block, platform, a, block["id"])
    await d.call(outbound.set_policy, platform, a, "default", block=["premium"])
    await d.call(outbound.set_policy, platform, a, "default", user="201", allow_presets=["nl"])
    await d.call(limits.set_limits, platform, a, "default", {"hour": "5", "calls_day": "20"})
    await d.call(schedules.remove_schedule, platform, a, "default", "Office")
    trunk = {"channels": 2, "allow_ips": ["192.0.2.10"]}
    given = [NumberOnTrunk("+31201234503")]
    await d.call(trunk_create.add_trunk, platform, a, "default", "pbx", **trunk, numbers=given)
    await d.call(trunk_update.update_trunk, platform, a, "default", "pbx", channels=3)
    await d.call(
        trunk_numbers.add_number, platform, a, "default", "pbx", NumberOnTrunk("+31201234504")
    )
    await d.call(trunk_numbers.remove_number, platform, a, "default", "pbx", "+31201234504")
    await d.call(trunk_passwords.regenerate_password, platform, a, "default", "pbx", "primary")
    await d.call(trunk_remove.remove_trunk, platform, a, "default", "pbx")
    await d.call(numbers.remove_block, platform, a, "+31201234500")
    await d.call(
        carriers.add_carrier, platform, a, "upstream", "127.0.0.1", password="x", username="u"
    )
    await d.call(CarrierProber(_answers_ok).probe_all)
    await d.call(carriers.remove_carrier, platform, a, "upstream")
    await d.call(rating.import_table, a, "match,price_per_minute\nmobile,0.1\n", tenant="acme")
    await d.call(nonce_key, platform.box)
    await d.call(platform_secret, platform.box, "audit-rule")
    await d.call(DatabaseClaims("test:1").claim, "n" * 48, 1)
    await d.call(nonces.delete_expired, 2)
    failures = SharedLimiter("audit rule", FailureRule())
    await d.call(failures.record_failure, "192.0.2.1")
    await d.call(failures.blocked_for, "192.0.2.1")
    await d.call(failures.record_success, "192.0.2.1")
    await d.call(throttle.delete_forgotten, 0.0)
    await d.call(Housekeeping().sweep)
    assert await AuditEntry.all().count() > 20

    everything = service_functions()
    listed = set(BOOKKEEPING) | set(READ_ONLY) | set(NOT_YET_DRIVEN)
    assert d.driven <= everything
    unclassified = everything - d.driven - listed
    assert not unclassified, (
        f"new service functions {sorted(unclassified)}: drive them in this test, or list them"
    )
    assert not (listed - everything), f"listed but gone: {sorted(listed - everything)}"
    assert not (d.driven & (set(READ_ONLY) | set(NOT_YET_DRIVEN))), "driven and also listed"


async def test_the_check_catches_a_write_without_an_audit_row(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Front Desk")

    async def rename_quietly() -> None:
        user = await User.get(extension="201")
        user.display_name = "Renamed"
        await user.save()

    async def rename_in_bulk() -> None:
        await User.filter(extension="201").update(display_name="Again")

    for quiet in (rename_quietly, rename_in_bulk):
        with pytest.raises(AssertionError, match="without an audit row"):
            await Driver(monkeypatch).call(quiet)
