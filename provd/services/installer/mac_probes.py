"""How much installers may learn about MACs outside their tenant.

A MAC is *provisioned elsewhere* when it is in another tenant's inventory: a device
of another tenant, sealed or not. A claim or an import naming such a MAC is refused
without naming that tenant (only a platform admin can move a phone between tenants),
but the refusal itself still tells the caller that the MAC belongs elsewhere, and a
dry-run import asks that about up to 10,000 MACs at once. So, for installers and
tenant admins (platform admins see every tenant anyway):

- every dry-run import and every refusal that reveals MACs provisioned elsewhere
  writes an audit row (``device.probe``, keyed by the tenant, listing the MACs);
- within :data:`WINDOW`, an account may trigger at most :data:`MAX_PER_ACCOUNT`
  such refusals and :data:`MAX_DRY_RUNS` dry runs, and a tenant's accounts together
  at most :data:`MAX_PER_TENANT` refusals (new tokens buy no new budget). Past that,
  every claim and import of that account (or tenant) is answered 429, whatever the
  MACs, so that the answer to a blocked request tells nothing about them.

The counts are read back from the audit rows, so they hold across restarts and
between processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from provd.db.models import AuditEntry
from provd.domain.access import Principal
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Throttled
from provd.services import audit

ACTION = AuditAction.DEVICE_PROBE
WINDOW = timedelta(hours=1)
MAX_PER_ACCOUNT = 20
MAX_PER_TENANT = 60
MAX_DRY_RUNS = 60
_LISTED = 100
"""MACs named in one audit row; the count is always complete."""


def _limited(principal: Principal) -> bool:
    return principal.tenant_id is not None


async def _rows(since: datetime, **where: Any) -> list[tuple[datetime, dict[str, Any]]]:
    rows: list[Any] = await (
        AuditEntry.filter(action=ACTION, at__gte=since, **where)
        .order_by("at")
        .values_list("at", "after")
    )
    return [(at, after) for at, after in rows if isinstance(after, dict)]


def _refusal(whom: str, what: str, used: int, limit: int, until: datetime) -> Throttled:
    now = datetime.now(UTC)
    retry = max(1, math.ceil((until - now).total_seconds()))
    minutes = max(1, math.ceil(retry / 60))
    return Throttled(
        "mac",
        f"{whom} {what} {used} times in the last hour (at most {limit}): claims and "
        f"imports are paused for about {minutes} minute(s). If those phones are yours, "
        "ask your provd administrator to release them",
        retry_after=retry,
    )


async def check(principal: Principal, tenant: str, *, counting_this: bool = False) -> None:
    """Refuse (:class:`Throttled`) while the account or its tenant is over its bound.

    Before a request, the bound is reached at the limit; ``counting_this`` (after the
    request's own row was written) only beyond it, so that the request that reaches
    the limit still gets its answer.
    """
    if not _limited(principal):
        return
    since = datetime.now(UTC) - WINDOW
    mine = await _rows(since, actor=principal.name)
    theirs = await _rows(since, object_type="tenant", object_key=tenant)
    checks = (
        ("you", "named phones registered on another account", mine, "elsewhere", MAX_PER_ACCOUNT),
        ("you", "checked an import without importing", mine, "dry_run", MAX_DRY_RUNS),
        (
            "your account's installers",
            "named phones registered on another account",
            theirs,
            "elsewhere",
            MAX_PER_TENANT,
        ),
    )
    for whom, what, rows, key, limit in checks:
        counted = [(at, int(after.get(key, 0))) for at, after in rows if after.get(key)]
        used = sum(n for _, n in counted)
        if used > limit or (used == limit and not counting_this):
            # Free again once the oldest counted rows have left the window.
            until, left = counted[0][0] + WINDOW, used
            for at, n in counted:
                until, left = at + WINDOW, left - n
                if left < limit:
                    break
            raise _refusal(whom, what, used, limit, until)


async def record(
    actor: audit.Actor,
    principal: Principal,
    tenant: str,
    *,
    via: str,
    checked: int,
    elsewhere: Sequence[str],
    dry_run: bool = False,
) -> None:
    """Audit a probe: ``checked`` MACs looked up, ``elsewhere`` those provisioned in
    another tenant (never which one)."""
    if not _limited(principal):
        return
    await audit.record(
        actor,
        ACTION,
        "tenant",
        tenant,
        after={
            "via": via,
            "checked": checked,
            "elsewhere": len(elsewhere),
            "macs": list(elsewhere[:_LISTED]),
            "dry_run": 1 if dry_run else 0,
        },
    )
