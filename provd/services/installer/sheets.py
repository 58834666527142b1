"""The printable claim sheet: a card per user with the QR code an installer scans to
open the installer page with that user (and the phone model) already chosen."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

import segno

from provd.db.models import DeviceLine, User
from provd.domain.mac import Mac, with_colons
from provd.drivers.registry import get_model
from provd.services.directory.tenants import get_tenant
from provd.services.platform import Platform


@dataclass(frozen=True, slots=True)
class Card:
    extension: str
    name: str
    model: str | None
    """The model id of the user's phone, or of the planned one, if known."""
    model_name: str | None
    mac: str | None
    """The MAC of the phone that has the user on line 1, once claimed."""
    other_lines: tuple[str, ...]
    """Where else the user is: ``line 2 of 00:15:65:…``."""
    claim_url: str
    claim_code: str
    qr_svg: str
    """The QR code of ``claim_url`` as an SVG ``data:`` URI for an ``<img>``."""

    @property
    def claimed(self) -> bool:
        return self.mac is not None


@dataclass(frozen=True, slots=True)
class Sheet:
    tenant: str
    tenant_name: str
    cards: list[Card]


def claim_url(p: Platform, tenant: str, extension: str, model: str | None) -> str:
    query = {"tenant": tenant, "extension": extension} | ({"model": model} if model else {})
    return f"{p.settings.provisioning_url}install/?{urlencode(query)}"


def qr_code(text: str) -> segno.QRCode:
    # Medium error correction survives a smudged or creased printout.
    return segno.make_qr(text, error="m")


def qr_png(text: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    qr_code(text).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


async def claim_sheet(
    p: Platform, tenant_slug: str, *, model: str | None = None, unclaimed_only: bool = False
) -> Sheet:
    """One card per user of the tenant. ``model`` is the phone planned for users who
    have none yet; ``unclaimed_only`` leaves out users whose phone is claimed."""
    tenant = await get_tenant(tenant_slug)
    planned = get_model(model) if model else None
    people = await User.filter(tenant=tenant).order_by("extension")
    placed = await DeviceLine.filter(user__tenant=tenant).select_related("device", "user")
    own: dict[int, tuple[Mac, str]] = {}
    elsewhere: dict[int, list[str]] = {}
    for line in sorted(placed, key=lambda line: (line.device.mac, line.slot)):
        user_id: int = line.user_id  # type: ignore[attr-defined]
        on = Mac(line.device.mac)
        if line.slot == 1 and user_id not in own:
            own[user_id] = (on, line.device.model)
        else:
            elsewhere.setdefault(user_id, []).append(f"line {line.slot} of {with_colons(on)}")
    cards = []
    for user in people:
        mac: Mac | None = None
        model_id = planned.id if planned else None
        if user.id in own:
            mac, model_id = own[user.id]
        if unclaimed_only and mac is not None:
            continue
        url = claim_url(p, tenant.slug, user.extension, model_id)
        cards.append(
            Card(
                extension=user.extension,
                name=user.display_name,
                model=model_id,
                model_name=get_model(model_id).display_name if model_id else None,
                mac=with_colons(mac) if mac else None,
                other_lines=tuple(elsewhere.get(user.id, ())),
                claim_url=url,
                claim_code=" ".join(filter(None, (tenant.slug, user.extension, model_id))),
                qr_svg=qr_code(url).svg_data_uri(scale=4, border=4, light="#fff"),
            )
        )
    return Sheet(tenant.slug, tenant.name, cards)
