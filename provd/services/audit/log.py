"""Reading the change log: filtered pages, newest first, and before/after as a diff."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from provd.db.models import AuditEntry
from provd.domain.errors import InvalidInput
from provd.services.audit import REDACTED

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_key: str = ""
    since: date | None = None
    until: date | None = None
    """Inclusive: the whole day."""
    page: int = 1

    def params(self, **changes: object) -> dict[str, str]:
        values = {
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_key": self.object_key,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "page": str(self.page) if self.page != 1 else "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def _day(text: str, name: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse_filter(args: Mapping[str, str]) -> AuditFilter:
    page_text = args.get("page", "1") or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        raise InvalidInput("page", "must be a page number from 1")
    return AuditFilter(
        actor=args.get("actor", "").strip()[:128],
        action=args.get("action", "").strip()[:64],
        object_type=args.get("object_type", "").strip()[:32],
        object_key=args.get("object_key", "").strip()[:128],
        since=_day(args.get("since", ""), "since"),
        until=_day(args.get("until", ""), "until"),
        page=int(page_text),
    )


async def search(f: AuditFilter, per_page: int = PER_PAGE) -> tuple[list[AuditEntry], int]:
    """The page of matching rows, newest first, and how many match."""
    query = AuditEntry.all()
    if f.actor:
        query = query.filter(actor__icontains=f.actor)
    if f.action:
        query = query.filter(action__startswith=f.action)
    if f.object_type:
        query = query.filter(object_type=f.object_type)
    if f.object_key:
        query = query.filter(object_key__icontains=f.object_key)
    if f.since:
        query = query.filter(at__gte=datetime.combine(f.since, time.min, UTC))
    if f.until:
        query = query.filter(at__lt=datetime.combine(f.until + timedelta(days=1), time.min, UTC))
    total = await query.count()
    rows = await query.order_by("-id").offset((f.page - 1) * per_page).limit(per_page)
    return rows, total


async def object_types() -> list[str]:
    types = (
        await AuditEntry.all()
        .distinct()
        .order_by("object_type")
        .values_list("object_type", flat=True)
    )
    return [str(t) for t in types]


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    before: str | None
    """None: not there before."""
    after: str | None
    """None: not there after."""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def redacted(self) -> bool:
        return REDACTED in (self.before, self.after)


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value, start=1):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    text = value if isinstance(value, str) else json.dumps(value)
    return {prefix or "value": text}


def diff(before: Any, after: Any) -> list[Change]:
    """Every key of either side, flattened (``lines[1].extension``), in a stable order."""
    old = _flatten(before) if before is not None else {}
    new = _flatten(after) if after is not None else {}
    keys = list(old) + [k for k in new if k not in old]
    return [Change(k, old.get(k), new.get(k)) for k in keys]
