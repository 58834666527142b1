"""Rate tables: the platform's and each tenant's overrides, read, imported and exported
as CSV (rules in ``provd.domain.rating``, the file in ``provd.domain.rate_csv``).

An import replaces the whole table of its owner in one transaction with its audit
row, or writes nothing. While the platform has no rates of its own, the example
table shipped with provd (``default_rates.csv``) is the platform's: calls have a cost,
and the spend limits a brake, from the first start. Importing a platform table
replaces it; importing an empty one goes back to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Rate as RateRow
from provd.db.models import Tenant
from provd.domain.audit_actions import AuditAction
from provd.domain.rate_csv import MAX_BYTES, export_rates, parse_rates
from provd.domain.rating import Rate
from provd.services import audit
from provd.services.directory.tenants import get_tenant
from provd.services.rating import costs, stored
from provd.services.rating.costs import cost_of, rate_record

__all__ = [
    "MAX_BYTES",
    "ImportResult",
    "RateList",
    "Source",
    "cost_of",
    "export_table",
    "import_table",
    "list_rates",
    "rate_record",
    "rate_view",
]

# A bigger table is audited by its size and digest only.
_AUDIT_RATES = 200


class Source(StrEnum):
    PLATFORM = "platform"
    """The platform's own table, as imported."""
    SHIPPED = "shipped"
    """The example table shipped with provd: the platform has none of its own."""
    TENANT = "tenant"
    """A tenant's overrides."""


def rate_view(rate: Rate) -> dict[str, Any]:
    """Amounts as text: a float would not hold them exactly."""
    return {
        "match": rate.match,
        "kind": "prefix" if rate.call_type is None else "call_type",
        "price_per_minute": format(rate.price_per_minute, "f"),
        "setup_fee": format(rate.setup_fee, "f"),
        "increment": str(rate.increment) if rate.increment is not None else None,
        "currency": rate.currency,
    }


@dataclass(frozen=True, slots=True)
class RateList:
    tenant: str | None
    """None: the platform's table."""
    source: Source
    rates: list[Rate]

    def view(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "source": self.source.value,
            "rates": [rate_view(r) for r in _lookup_order(self.rates)],
        }


def _lookup_order(rates: list[Rate]) -> list[Rate]:
    return sorted(rates, key=lambda r: (r.call_type is not None, -len(r.match), r.match))


async def _rows(tenant: Tenant | None) -> list[Rate]:
    rows = await RateRow.filter(owner=stored.owner_key(tenant)).order_by("match")
    return [stored.from_row(r) for r in rows]


async def list_rates(tenant_slug: str | None = None) -> RateList:
    """A tenant's overrides, or (None) the platform's table, in the order a look-up
    tries them: prefixes, longest first, then call types."""
    if tenant_slug is not None:
        tenant = await get_tenant(tenant_slug)
        return RateList(tenant.slug, Source.TENANT, await _rows(tenant))
    own = await _rows(None)
    if own:
        return RateList(None, Source.PLATFORM, own)
    return RateList(None, Source.SHIPPED, list(stored.shipped_rates()))


async def export_table(tenant_slug: str | None = None) -> tuple[str, int]:
    """The CSV the import reads, and how many rates it holds."""
    found = await list_rates(tenant_slug)
    return export_rates(found.rates), len(found.rates)


@dataclass(frozen=True, slots=True)
class ImportResult:
    tenant: str | None
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    dry_run: bool

    @property
    def summary(self) -> str:
        whose = f"tenant {self.tenant}" if self.tenant else "the platform"
        counts = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed,"
            f" {self.unchanged} unchanged ({whose})"
        )
        return f"dry run, nothing written: {counts}" if self.dry_run else counts

    def view(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
        }


def _audit_view(rates: list[Rate], source: Source) -> dict[str, Any]:
    text = export_rates(rates)
    out: dict[str, Any] = {
        "source": source.value,
        "rates": len(rates),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    if len(rates) <= _AUDIT_RATES:
        out["table"] = {
            r.match: f"{r.price_per_minute}/min + {r.setup_fee}, {r.increment or '1/1'}"
            for r in _lookup_order(rates)
        }
    return out


async def import_table(
    actor: audit.Actor, data: bytes | str, *, tenant: str | None = None, dry_run: bool = False
) -> ImportResult:
    """Replace the table of ``tenant`` (None: the platform's) with the file's rates, all
    or nothing: a bad file raises ``ImportRefused`` listing every error by row."""
    rates = parse_rates(data)
    async with in_transaction():
        owner = await get_tenant(tenant) if tenant is not None else None
        before = await list_rates(owner.slug if owner else None)
        old = {r.match: r for r in before.rates}
        new = {r.match: r for r in rates}
        result = ImportResult(
            owner.slug if owner else None,
            added=sorted(set(new) - set(old)),
            changed=sorted(m for m in set(new) & set(old) if new[m] != old[m]),
            removed=sorted(set(old) - set(new)),
            unchanged=sum(1 for m in set(new) & set(old) if new[m] == old[m]),
            dry_run=dry_run,
        )
        if dry_run:
            return result
        key = stored.owner_key(owner)
        await RateRow.filter(owner=key).delete()
        await RateRow.bulk_create(
            [
                RateRow(
                    owner=key,
                    tenant=owner,
                    match=r.match,
                    price_per_minute=r.price_per_minute,
                    setup_fee=r.setup_fee,
                    increment_first=r.increment.first if r.increment else None,
                    increment_then=r.increment.then if r.increment else None,
                    currency=r.currency,
                )
                for r in rates
            ]
        )
        after = Source.TENANT if owner else Source.PLATFORM if rates else Source.SHIPPED
        await audit.record(
            actor,
            AuditAction.RATES_IMPORT,
            "rates",
            owner.slug if owner else stored.PLATFORM_OWNER,
            before=_audit_view(before.rates, before.source),
            after=_audit_view(rates if rates or owner else list(stored.shipped_rates()), after),
        )
    costs.forget()
    return result
