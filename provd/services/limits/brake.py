"""The brake while provd serves: usage kept current for routing, alerts sent.

Routing refuses calls from the usage the live table holds in memory
(``Observed.meters``): every call out counts when it is planned; spend is added here as
the call collector prices records. After a restart the usage is read back from the
records of the current windows (:meth:`Brake.seed`), so a restart does not release the
brake. Alerts at 80 % and 95 % are written once per limit and window (a
``limit_alert`` row, unique by its key) and e-mailed to the tenant's alert address.

cnxcc's budget for a running call comes from the same usage (the plan's credit keys):
the records' spend is added when they are collected, a few seconds after the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from provd.db.models import CallRecord, LimitAlert, SpendLimit, Tenant
from provd.domain import limits
from provd.domain.limits import Alert, Standing
from provd.domain.routing import TenantRouting
from provd.services.limits import OUTSIDE_TYPES, outside_calls_since
from provd.services.limits.mail import Smtp
from provd.services.routing import LiveTable

log = logging.getLogger("provd.limits")

LOOKBACK = timedelta(days=8)
"""Longer than any window (an ISO week), whatever the tenant's zone."""
DEFAULT_INTERVAL_S = 5.0


class Brake:
    def __init__(self, live: LiveTable, smtp: Smtp | None = None) -> None:
        self.live = live
        self.smtp = smtp
        self._task: asyncio.Task[None] | None = None

    async def seed(self, at: datetime | None = None) -> None:
        """Usage in the current windows, from the call records (after a restart)."""
        now = at or datetime.now(UTC)
        zones = {
            tid: (slug, limits.zone_of(tz))
            for tid, slug, tz in await Tenant.all().values_list("id", "slug", "timezone")
        }
        calls: dict[tuple[int, str | None], list[tuple[datetime, Decimal | None]]] = defaultdict(
            list
        )
        for record in await outside_calls_since(now - LOOKBACK):
            tid = record.tenant_id  # type: ignore[attr-defined]
            calls[(tid, None)].append((record.started_at, record.cost))
            if record.trunk:
                calls[(tid, record.trunk)].append((record.started_at, record.cost))
        observed = self.live.observed
        for tid, (slug, zone) in zones.items():
            observed.meter(slug).seed(calls.get((tid, None), []), now, zone)
        for (tid, trunk), rows in calls.items():
            if trunk is not None and tid in zones:
                slug, zone = zones[tid]
                observed.meter(slug, trunk).seed(rows, now, zone)

    async def records_collected(self, records: Sequence[CallRecord]) -> None:
        """The call collector's hook: priced records add their spend, then alerts."""
        now = datetime.now(UTC)
        zones = {
            tid: (slug, limits.zone_of(tz))
            for tid, slug, tz in await Tenant.all().values_list("id", "slug", "timezone")
        }
        for record in records:
            tid = record.tenant_id  # type: ignore[attr-defined]
            if record.call_type not in OUTSIDE_TYPES or not record.cost or tid not in zones:
                continue
            slug, zone = zones[tid]
            self.live.observed.add_spend(
                slug, record.trunk or None, record.cost, record.started_at, now, zone
            )
        await self.check_alerts(now)

    async def check_alerts(self, at: datetime | None = None) -> list[LimitAlert]:
        """Write and send the alerts due now; the rows written."""
        now = at or datetime.now(UTC)
        tenants = {t.slug: t for t in await Tenant.all()}
        emails = {
            row.tenant_id: row.alert_email  # type: ignore[attr-defined]
            for row in await SpendLimit.filter(trunk_id=None)
        }
        written = []
        for routing in self.live.table.tenants():
            tenant = tenants.get(routing.slug)
            if tenant is None:
                continue
            due = self._due(routing, now)
            if not due:
                continue
            keys = LimitAlert.filter(tenant=tenant, key__in=[a.key for a in due])
            sent: set[object] = set(await keys.values_list("key", flat=True))
            for alert in due:
                if alert.key in sent:
                    continue
                row = await self._write(tenant, alert, emails.get(tenant.id) or "")
                if row is not None:
                    written.append(row)
        return written

    def _due(self, routing: TenantRouting, at: datetime) -> list[Alert]:
        zone = limits.zone_of(routing.timezone)
        observed = self.live.observed
        standings = [
            Standing("tenant", routing.limits, observed.meter(routing.slug).usage(at, zone))
        ]
        standings += [
            Standing(f"trunk:{name}", t.limits, observed.meter(routing.slug, name).usage(at, zone))
            for name, t in routing.trunks.items()
        ]
        return [a for s in standings for a in limits.alerts_due(s, at, zone)]

    async def _write(self, tenant: Tenant, alert: Alert, recipient: str) -> LimitAlert | None:
        try:
            row = await LimitAlert.create(
                tenant=tenant,
                key=alert.key,
                level=alert.level,
                kind=alert.kind,
                window=alert.window.value,
                window_start=alert.window_start,
                percent=alert.percent,
                used=alert.used,
                limit=alert.limit,
                recipient=recipient,
            )
        except IntegrityError:
            return None  # another round wrote it: sent once
        if self.smtp is None or not recipient:
            row.error = "no SMTP server set" if self.smtp is None else "no alert e-mail set"
        else:
            try:
                await self.smtp.send(recipient, subject(tenant, alert), body(tenant, alert))
                row.delivered = True
            except (OSError, smtplib.SMTPException) as e:
                log.warning("limit alert for %s not e-mailed: %s", tenant.slug, e)
                row.error = str(e)[:255]
        await row.save(update_fields=["delivered", "error"])
        return row

    # ---- while serve runs ----

    def start(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        """Alerts for call limits too (calls count when planned, not when collected)."""
        self._task = asyncio.create_task(self._loop(interval_s), name="limit-alerts")

    async def _loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.check_alerts()
            except Exception:
                log.exception("limit alerts: checking failed; retrying")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _what(alert: Alert) -> str:
    if alert.kind == "spend":
        return f"spend EUR {alert.used:.2f} of EUR {alert.limit:.2f}"
    return f"{int(alert.used)} of {int(alert.limit)} calls"


def subject(tenant: Tenant, alert: Alert) -> str:
    level = "" if alert.level == "tenant" else f" ({alert.level.removeprefix('trunk:')})"
    return f"{tenant.name}{level}: {alert.percent}% of the {alert.window.value}'s limit reached"


def body(tenant: Tenant, alert: Alert) -> str:
    level = (
        "the tenant" if alert.level == "tenant" else f"trunk {alert.level.removeprefix('trunk:')}"
    )
    return (
        f"{tenant.name}, {level}: {_what(alert)} this {alert.window.value} "
        f"(since {alert.window_start.isoformat(timespec='minutes')}), "
        f"{alert.percent}% of the limit.\n\n"
        "Calls out are refused once the limit is reached, and calls in progress are cut "
        "when the budget runs out. The limit resets when the "
        f"{alert.window.value} is over.\n"
    )
