"""Phones seen on the network (DHCP requests, SIP plug-and-play) and what PnP tells them.

A sighting is what a packet *claims*: anyone on the LAN can send one with any MAC. So
sightings only ever touch the discovered list, never a Device, and that list is an
installer's hint ("a T46G with this MAC asked for an address"), not a fact.

Sightings write no audit row. They are machine-made and frequent (a phone renews its
lease, a PnP SUBSCRIBE is retransmitted), and the audit log's newest id is the validity
mark of the phone path's caches (``services/mark_cache``): a DHCP
storm must not flush it. Forgetting discovered phones is an admin's act and is audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from provd.db.models import Device, DiscoveredDevice
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import NotFound
from provd.domain.mac import Mac, parse_mac
from provd.drivers.registry import vendor_of
from provd.services import audit
from provd.services.platform import Platform
from provd.services.provisioning import pnp_tokens

log = logging.getLogger("provd.discovery")

MAX_DISCOVERED = 10_000
"""New MACs beyond this many rows are dropped: spoofed packets with random MACs must
not grow the table without bound. Known MACs are still updated."""
_FULL_WARNING_INTERVAL = 60.0


class Source(StrEnum):
    DHCP = "dhcp"
    PNP = "pnp"


@dataclass(frozen=True, slots=True)
class Sighting:
    """One packet's worth of what a phone said about itself."""

    mac: Mac
    source: Source
    ip: str | None = None
    vendor: str | None = None
    """As the phone names itself (PnP Event ``vendor``); the MAC's registered prefix wins."""
    model: str | None = None
    vendor_class: str | None = None
    requested_options: tuple[int, ...] | None = None
    user_agent: str | None = None
    hostname: str | None = None
    """DHCP option 12: often the model (Yealink sends e.g. ``SIP-T46G``)."""


def _clip(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    value = "".join(c for c in value if c.isprintable()).strip()
    return value[:length] or None


def _vendor(s: Sighting) -> str | None:
    registered = vendor_of(s.mac)
    if registered is not None:
        return registered.value
    return _clip(s.vendor.lower() if s.vendor else None, 16)


def _sources(current: str, new: Source) -> str:
    # The column holds every way a phone was seen: "dhcp", "pnp" or "dhcp,pnp".
    seen = set(current.split(",")) | {new.value}
    return ",".join(sorted(s for s in seen if s))


class _FullWarning:
    last = 0.0


async def record_sighting(s: Sighting) -> None:
    """Add the phone to the discovered list or update it: newest non-empty values win,
    ``seen_count`` counts the packets."""
    values: dict[str, Any] = {
        "ip": _clip(s.ip, 45),
        "vendor": _vendor(s),
        "model": _clip(s.model, 32),
        "vendor_class": _clip(s.vendor_class, 128),
        "user_agent": _clip(s.user_agent, 255),
        "hostname": _clip(s.hostname, 64),
    }
    if s.requested_options is not None:
        values["requested_options"] = list(s.requested_options)
    values = {k: v for k, v in values.items() if v is not None}
    for _ in range(2):
        row = await DiscoveredDevice.get_or_none(mac=s.mac)
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)
            row.source = _sources(row.source, s.source)
            row.seen_count += 1
            row.last_seen_at = datetime.now(UTC)
            await row.save(update_fields=[*values, "source", "seen_count", "last_seen_at"])
            return
        if await DiscoveredDevice.all().count() >= MAX_DISCOVERED:
            now = time.monotonic()
            if now - _FullWarning.last > _FULL_WARNING_INTERVAL:
                _FullWarning.last = now
                log.warning(
                    "discovered list is full (%d phones): new MACs are ignored until "
                    "some are forgotten ('provd discovered forget')",
                    MAX_DISCOVERED,
                )
            return
        try:
            await DiscoveredDevice.create(mac=s.mac, source=s.source.value, **values)
            return
        except IntegrityError:
            continue  # Created meanwhile by the other observer: update it instead.


def _unclaimed() -> QuerySet[DiscoveredDevice]:
    return DiscoveredDevice.exclude(mac__in=Subquery(Device.all().values("mac")))


async def list_unclaimed() -> list[DiscoveredDevice]:
    """Discovered phones that are not devices yet, most recently seen first."""
    return await _unclaimed().order_by("-last_seen_at", "mac").limit(MAX_DISCOVERED)


def discovered_view(d: DiscoveredDevice) -> dict[str, Any]:
    return {
        "mac": d.mac,
        "ip": d.ip,
        "vendor": d.vendor,
        "model": d.model,
        "vendor_class": d.vendor_class,
        "hostname": d.hostname,
        "requested_options": list(d.requested_options or []),
        "source": d.source,
        "first_seen_at": d.first_seen_at.isoformat(),
        "last_seen_at": d.last_seen_at.isoformat(),
        "seen_count": d.seen_count,
    }


async def forget(actor: audit.Actor, mac: str) -> None:
    canonical = parse_mac(mac)
    async with in_transaction():
        row = await DiscoveredDevice.get_or_none(mac=canonical)
        if row is None:
            raise NotFound("discovered phone", canonical, field="mac")
        before = discovered_view(row)
        await row.delete()
        await audit.record(
            actor, AuditAction.DISCOVERED_FORGET, "discovered", canonical, before=before
        )


async def forget_all(actor: audit.Actor) -> int:
    """Forget the listed (unclaimed) phones. Sightings of claimed phones stay: they are
    not listed, and say where a claimed phone was last seen."""
    async with in_transaction():
        unclaimed = _unclaimed()
        count = await unclaimed.count()
        if count:
            await unclaimed.delete()
            await audit.record(
                actor, AuditAction.DISCOVERED_FORGET_ALL, "discovered", "*", before={"count": count}
            )
        return count


async def pnp_url(p: Platform, mac: Mac, *, answer_unknown: bool) -> str | None:
    """The URL a plug-and-play NOTIFY hands the phone with this MAC; None: stay silent.

    - a claimed, unsealed phone: the provisioning URL with a new single-use token
      (``services/pnp_tokens``) that opens this one device's configuration once, for
      minutes. Never the tenant's bootstrap credential: the SUBSCRIBE is
      unauthenticated and names a MAC anyone can read off a label;
    - a sealed phone: the bare URL. It sends PnP only after a factory reset (provd's
      configuration switches PnP off), and a token would be refused for it anyway
      until an admin runs ``provd device reset``; handing one out would only serve
      someone spoofing its MAC;
    - an unknown MAC, if the admin allowed it: the bare URL, never a credential. The
      phone learns where provd is; it gets its configuration once an installer has
      claimed it and it asks again (PnP at its next boot).
    """
    url = p.settings.provisioning_url
    device = await Device.get_or_none(mac=mac)
    if device is None:
        return url if answer_unknown else None
    if device.sealed_at is not None:
        return url
    token = await pnp_tokens.issue(p, device)
    scheme, _, rest = url.partition("://")
    # Token secrets are URL-safe already; quoting keeps that true should they change.
    user, password = (quote(v, safe="-_.!~*+=") for v in (token.username, token.password))
    return f"{scheme}://{user}:{password}@{rest}"
